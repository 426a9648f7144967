"""Bot layer: platform wiring (config, Slack, Teams, the shell, the scheduler, the CLI).

This is the only layer that knows about chat platforms; it calls `handlers/`, which
calls `storage/`, and never the other way round.
"""
