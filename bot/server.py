"""Bot layer: the one aiohttp server of `mlpulse run`.

It serves `GET /healthz` and, in Slack's HTTP mode, `POST /slack/events` (commands,
interactivity, shortcuts and events alike), where slack-bolt verifies each request's
signature and age. The Teams endpoint will join it at `/api/messages`.
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp


def build_web_app(slack_app: AsyncApp | None = None) -> web.Application:
    """Return the aiohttp application with mlpulse's routes."""
    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", healthz)
    if slack_app is not None:

        async def slack_events(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await slack_app.async_dispatch(await to_bolt_request(request)))

        app.router.add_post("/slack/events", slack_events)
    return app


async def start_server(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving `app`; return the runner (to stop it) and the port (useful when 0 was asked)."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]
