"""Bot layer: logging that cannot name an anonymous reporter.

Some libraries log whole request bodies, URLs or query parameters: the database
drivers at DEBUG, SQLAlchemy's engine at INFO, the Slack SDK at DEBUG and Bolt (a
request whose signature failed) at INFO; the HTTP clients under the Teams connector
log each request line, whose path holds the conversation id
(`PUT /v3/conversations/a%3Apersonal-29%3A…`), and urllib3 names it again in its
retry warnings. Those lines would carry the ids of someone filing an anonymous
report, so these loggers are held just above the level where they print them,
whatever level the root logger runs at (`mlpulse -v` included). mlpulse's own log
lines never name the person behind a request.
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
    "slack_bolt": logging.WARNING,
    "botbuilder": logging.INFO,
    "botframework": logging.WARNING,
    "msrest": logging.WARNING,
    "msal": logging.WARNING,
    "azure": logging.WARNING,
    "requests": logging.WARNING,
    "urllib3": logging.ERROR,
    "aiohttp.client": logging.WARNING,
}


def hold_payload_loggers() -> None:
    """Keep the loggers that print payloads above the levels where they do."""
    for name, floor in PAYLOAD_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.level < floor:  # NOTSET too: it would inherit a DEBUG root
            logger.setLevel(floor)
