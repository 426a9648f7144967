"""Bot layer: logging that cannot name an anonymous reporter.

Some libraries log whole request bodies or query parameters: the database drivers
at DEBUG, SQLAlchemy's engine at INFO, the Slack SDK and Bolt at DEBUG. Those lines
would carry the Slack user id of someone filing an anonymous report, so these
loggers are held just above that level whatever level the root logger runs at.
mlpulse's own log lines never name the person behind a request.
"""

from __future__ import annotations

import logging

# Each logger, and the lowest level at which it prints no payload.
PAYLOAD_LOGGERS = {
    "aiosqlite": logging.INFO,
    "asyncpg": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,
    "sqlalchemy.pool": logging.WARNING,
    "slack_sdk": logging.INFO,
    "slack_bolt": logging.INFO,
    "botbuilder": logging.INFO,
    "msrest": logging.INFO,
}


def hold_payload_loggers() -> None:
    """Keep the loggers that print payloads above the levels where they do."""
    for name, floor in PAYLOAD_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.level < floor:  # NOTSET too: it would inherit a DEBUG root
            logger.setLevel(floor)
