"""Bot layer: `mlpulse run`, the bot on its chat platforms with its scheduler.

Slack runs in Socket Mode when SLACK_APP_TOKEN is set (no public URL needed), and
otherwise in HTTP mode at POST /slack/events, verified with SLACK_SIGNING_SECRET.
Teams runs when MICROSOFT_APP_ID is set (or `--teams-emulator` asks for it without
authentication, for local use), at POST /api/messages. Both can run at once against
one database; one aiohttp server answers all of it and GET /healthz, and the
scheduler ticks.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.delivery import Messengers
from bot.runtime import Runtime
from bot.scheduler import build_scheduler
from bot.server import build_web_app, start_server

log = logging.getLogger(__name__)


@dataclass
class Platforms:
    """The chat platforms a configuration connects to, built on one runtime, and one messenger over them all."""

    messenger: Messengers
    slack_app: Any = None  # slack_bolt's AsyncApp
    slack_client: Any = None  # slack_sdk's AsyncWebClient
    teams: Any = None  # bot.teams.app.Teams


def connect_platforms(runtime: Runtime, settings: Settings, **teams_options) -> Platforms:
    """Build every platform whose secrets are set and make their messenger the runtime's; `mlpulse run` and `mlpulse tick` share this."""
    messengers: list = []
    slack_app = client = teams = None
    if settings.has_slack:
        from bot.slack.app import build_slack_app
        from bot.slack.directory import SlackDirectory
        from bot.slack.messenger import SlackMessenger, web_client

        client = web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
        directory = SlackDirectory(runtime, client)
        messengers.append(SlackMessenger(client, directory))
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        slack_app = build_slack_app(runtime, client, directory, secret)
    if settings.has_teams:
        from bot.teams.app import build_teams

        teams = build_teams(runtime, settings, **teams_options)
        messengers.append(teams.messenger)
    if not messengers:
        raise ValueError("no chat platform is configured")
    runtime.messenger = Messengers(*messengers)
    return Platforms(runtime.messenger, slack_app, client, teams)


async def run_bot(settings: Settings, host: str, port: int, stop: asyncio.Event | None = None, ready: asyncio.Future | None = None, **teams_options) -> None:
    """Serve until `stop` is set (or SIGINT/SIGTERM); report the bound port through `ready`."""
    stop = stop or _stop_on_signals()
    runtime = await Runtime.start(settings, messenger=None)
    platforms = connect_platforms(runtime, settings, **teams_options)
    slack_app, teams, socket, modes = platforms.slack_app, platforms.teams, None, []
    if slack_app is not None and settings.slack_app_token:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        socket = AsyncSocketModeHandler(slack_app, settings.slack_app_token.get_secret_value(), web_client=platforms.slack_client)
        await socket.connect_async()
    if teams is not None and not settings.microsoft_app_id:
        log.warning("Teams runs WITHOUT authentication (no MICROSOFT_APP_ID): anyone who can reach this port can act as anyone. For local use only.")
    web_app = build_web_app(None if socket else slack_app, (teams.adapter, teams.wiring) if teams else None)
    runner, bound = await start_server(web_app, host, port)
    scheduler = build_scheduler(runtime)
    scheduler.start()
    if slack_app is not None:
        modes.append("Slack in Socket Mode" if socket else f"Slack at http://{host}:{bound}/slack/events")
    if teams is not None:
        modes.append(f"Teams at http://{host}:{bound}/api/messages")
    log.info("mlpulse is running on %s; health at http://%s:%d/healthz", " and ".join(modes), host, bound)
    if ready is not None:
        ready.set_result(bound)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        if socket:
            await socket.close_async()
        await runner.cleanup()
        await runtime.close()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
