"""Bot layer: `mlpulse run`, the bot on its chat platforms with its scheduler.

Slack runs in Socket Mode when SLACK_APP_TOKEN is set (no public URL needed), and
otherwise in HTTP mode at POST /slack/events, verified with SLACK_SIGNING_SECRET.
Either way one aiohttp server answers GET /healthz, and the scheduler ticks.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.config import Settings
from bot.runtime import Runtime
from bot.scheduler import build_scheduler
from bot.server import build_web_app, start_server
from bot.slack.app import build_slack_app
from bot.slack.directory import SlackDirectory
from bot.slack.messenger import SlackMessenger, web_client

log = logging.getLogger(__name__)


async def run_bot(settings: Settings, host: str, port: int, stop: asyncio.Event | None = None, ready: asyncio.Future | None = None) -> None:
    """Serve until `stop` is set (or SIGINT/SIGTERM); report the bound port through `ready`."""
    stop = stop or _stop_on_signals()
    client = web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    runtime = await Runtime.start(settings, messenger=None)
    directory = SlackDirectory(runtime, client)
    runtime.messenger = SlackMessenger(client, directory)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    slack_app = build_slack_app(runtime, client, directory, secret)
    socket = None
    if settings.slack_app_token:
        socket = AsyncSocketModeHandler(slack_app, settings.slack_app_token.get_secret_value(), web_client=client)
        await socket.connect_async()
    runner, bound = await start_server(build_web_app(None if socket else slack_app), host, port)
    scheduler = build_scheduler(runtime)
    scheduler.start()
    mode = "Socket Mode" if socket else f"HTTP mode at http://{host}:{bound}/slack/events"
    log.info("mlpulse is running on Slack (%s); health at http://%s:%d/healthz", mode, host, bound)
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
