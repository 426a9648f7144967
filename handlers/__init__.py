"""Handlers layer: the features of mlpulse, free of any chat platform.

Each entry point takes a session and a `Context` and returns a neutral view from
`handlers.views`; the wiring in `bot/` renders it for Slack, Teams or the shell and
commits the session.
"""
