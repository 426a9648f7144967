"""Bot layer: the one aiohttp server of `mlpulse run`.

It serves `GET /healthz`; in Slack's HTTP mode, `POST /slack/events` (commands,
interactivity, shortcuts and events alike); and on Teams, `POST /api/messages`, where
botbuilder's CloudAdapter checks each request's Bot Framework token (401 without a
valid one) before any handler runs.

A Slack request's signature and age are checked here, with Bolt's own verifier, before
Bolt parses the body: Bolt parses first and raises on a body it cannot read (or on a
timestamp that is not a number), which would be a 500 with a traceback. So a request
that is not properly signed gets 401, and a signed one whose body cannot be parsed gets
400, each logged as one warning that names the exception's class and never the body.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)


def build_web_app(slack_app: AsyncApp | None = None, teams: tuple[Any, Any] | None = None) -> web.Application:
    """Return the aiohttp application with mlpulse's routes."""
    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", healthz)
    if slack_app is not None:
        verifier: SignatureVerifier | None = getattr(slack_app, "verifier", None)  # set by build_slack_app; None: local use, unverified

        async def slack_events(request: web.Request) -> web.Response:
            raw = await request.read()
            if verifier is not None and not _signed(verifier, raw, request.headers):
                return web.json_response({"error": "invalid request"}, status=401)
            try:
                bolt_request = AsyncBoltRequest(body=raw.decode(), query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
            except (ValueError, TypeError, AttributeError) as exc:  # not UTF-8, not JSON, or JSON that is not an object
                log.warning("refused a signed Slack request whose body could not be parsed: %s", exc.__class__.__name__)
                return web.json_response({"error": "malformed request"}, status=400)
            return await to_aiohttp_response(await slack_app.async_dispatch(bolt_request))

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


def _signed(verifier: SignatureVerifier, raw: bytes, headers: Mapping[str, str]) -> bool:
    """Tell whether a request carries a fresh, valid Slack signature over its body."""
    try:
        if verifier.is_valid(raw, headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature")):
            return True
    except ValueError as exc:  # a timestamp that is not a number, or a body that is not UTF-8 (so Slack did not sign it)
        log.warning("refused a Slack request whose signature could not be checked: %s", exc.__class__.__name__)
        return False
    log.info("refused a Slack request with a bad or stale signature")
    return False


async def start_server(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving `app`; return the runner (to stop it) and the port (useful when 0 was asked)."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]
