"""Storage layer: SQLModel tables, the async engine and sessions, queries and migrations.

Nothing here knows about chat platforms or features; `handlers/` builds on it.
"""
