"""Bot layer: the one aiohttp server of `mlpulse run`.

It serves `GET /healthz`; in Slack's HTTP mode, `POST /slack/events` (commands,
interactivity, shortcuts and events alike), where slack-bolt verifies each request's
signature and age; and on Teams, `POST /api/messages`, where botbuilder's CloudAdapter
checks each request's Bot Framework token (401 without a valid one) before any
handler runs.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)


def build_web_app(slack_app: AsyncApp | None = None, teams: tuple[Any, Any] | None = None) -> web.Application:
    """Return the aiohttp application with mlpulse's routes."""
    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", healthz)
    if slack_app is not None:

        async def slack_events(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await slack_app.async_dispatch(await to_bolt_request(request)))

        app.router.add_post("/slack/events", slack_events)
    if teams is not None:
        adapter, bot = teams  # a CloudAdapter and what handles each turn (`TeamsWiring`)

        async def teams_messages(request: web.Request) -> web.Response:
            if "application/json" not in request.headers.get("Content-Type", ""):
                return web.json_response({"error": "expected a JSON Bot Framework activity"}, status=415)
            try:
                return await adapter.process(request, bot)
            except web.HTTPException:
                raise
            except Exception as exc:  # handlers catch their own errors: what escapes is a token that could not be checked
                log.warning("refused a Teams request whose token could not be validated: %s", exc.__class__.__name__)
                return web.json_response({"error": "unauthorized"}, status=401)

        app.router.add_post("/api/messages", teams_messages)
    return app


async def start_server(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving `app`; return the runner (to stop it) and the port (useful when 0 was asked)."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]
