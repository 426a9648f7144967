"""A fake Slack Web API: an aiohttp server on an ephemeral loopback port.

It implements the methods mlpulse calls, records every call's method and body
(including the ones it refused), rejects Block Kit that breaks Slack's documented
limits the way Slack does (`invalid_blocks`), and can answer chosen calls with 429
and a `Retry-After` header. It can also enforce chat.postMessage's limits: a
workspace ceiling per minute, and one message per second per channel. And it can
reset the connection instead of answering: after handling a call (a post is stored,
as when Slack accepted it and the answer was lost), or before reading it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes.blockkit import check_blocks, check_view


@dataclass
class Call:
    method: str
    body: dict
    status: int  # 0: the connection was reset instead of answering
    response: dict
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeSlack:
    """The fake's state: its users, what it was sent, and which calls to throttle."""

    users: dict[str, dict] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    throttle: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # How many of the next calls of each method to handle and then reset, unanswered...
    reset_after: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # ...and how many to reset before reading them (recorded with an empty body; nothing is stored).
    reset_before: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    retry_after: int = 1
    url: str = ""
    response_url: str = ""
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    messages: dict[tuple[str, str], dict] = field(default_factory=dict)
    ceiling_per_minute: int | None = None
    one_per_second_per_channel: bool = False
    _window: deque = field(default_factory=deque)
    _last_post: dict[str, float] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    private_channels: set[str] = field(default_factory=set)  # C-ids of private channels; D- and G-ids are never public
    delays: dict[str, float] = field(default_factory=dict)  # seconds a method takes to answer, as a slow Slack would
    shared: list[tuple[str, list[dict]]] = field(default_factory=list)

    def limited(self, body: dict) -> int | None:
        """Return Retry-After seconds if this post breaks a configured limit, else record it."""
        # The ceiling is a sustained rate, as Slack's is: per second, a sixtieth of it.
        now = time.monotonic()
        while self._window and self._window[0] <= now - 1:
            self._window.popleft()
        if self.ceiling_per_minute and len(self._window) >= self.ceiling_per_minute / 60:
            return max(1, math.ceil(self._window[0] + 1 - now))
        channel = body.get("channel", "")
        if self.one_per_second_per_channel and now - self._last_post.get(channel, -10.0) < 1.0:
            return 1
        self._window.append(now)
        self._last_post[channel] = now
        return None

    def ok(self, method: str) -> list[dict]:
        """Return the bodies of the successful calls of one method, in order."""
        return [c.body for c in self.calls if c.method == method and c.response.get("ok")]

    def add_user(self, user_id: str, email: str, name: str, tz: str = "Europe/London") -> None:
        self.users[user_id] = {"id": user_id, "name": name.lower(), "real_name": name, "tz": tz, "profile": {"email": email, "real_name": name}}

    def responses(self) -> list[dict]:
        """Return what was posted to response URLs (replies to commands and ephemeral messages)."""
        return [c.body for c in self.calls if c.method == "response_url"]

    async def handle_response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(Call("response_url", body, 200, {"ok": True}))
        return web.Response(text="ok")

    async def handle_upload(self, request: web.Request) -> web.Response:
        """The upload URL of Slack's external-upload flow: it takes the file's bytes."""
        file_id = request.match_info["id"]
        if file_id not in self.uploads:
            return web.Response(status=404, text="unknown upload")
        self.uploads[file_id] = await request.read()
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        if self.reset_before[method] > 0:
            self.reset_before[method] -= 1
            self.calls.append(Call(method, {}, 0, {}))
            return _reset(request)
        body = await _body(request)
        retry_after = None
        if self.throttle[method] > 0:
            self.throttle[method] -= 1
            retry_after = self.retry_after
        elif method == "chat.postMessage":
            retry_after = self.limited(body)
        if retry_after is not None:
            response = {"ok": False, "error": "ratelimited"}
            self.calls.append(Call(method, body, 429, response))
            return web.json_response(response, status=429, headers={"Retry-After": str(retry_after)})
        if request.headers.get("Authorization", "") != "Bearer xoxb-test-token":
            response = {"ok": False, "error": "invalid_auth"}
        else:
            response = self.answer(method, body)
        if self.reset_after[method] > 0:
            self.reset_after[method] -= 1
            self.calls.append(Call(method, body, 0, response))
            return _reset(request)
        self.calls.append(Call(method, body, 200, response))
        return web.json_response(response)

    def answer(self, method: str, body: dict) -> dict:
        if "blocks" in body:
            errors = check_blocks(body["blocks"], 50)
            if errors:
                return {"ok": False, "error": "invalid_blocks", "errors": errors}
        if "view" in body:
            errors = check_view(body["view"])
            if errors:
                return {"ok": False, "error": "invalid_blocks", "errors": errors}
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T0001", "user": "mlpulse"}
        if method == "chat.postMessage":
            channel = body.get("channel", "")
            if channel.startswith("U"):
                if channel not in self.users:
                    return {"ok": False, "error": "channel_not_found"}
                channel = "D" + channel[1:]
            ts = f"{time.time():.0f}.{next(self._ts):06d}"
            self.messages[(channel, ts)] = body
            return {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text"), "ts": ts}}
        if method in ("conversations.history", "conversations.replies"):
            channel, parent = body.get("channel"), body.get("ts")
            found = []
            for (where, ts), sent in self.messages.items():
                if where != channel:
                    continue
                if method == "conversations.history" and sent.get("thread_ts"):
                    continue
                if method == "conversations.replies" and parent not in (ts, sent.get("thread_ts")):
                    continue
                message = {"ts": ts, "text": sent.get("text")}
                if str(body.get("include_all_metadata")).lower() in ("1", "true") and sent.get("metadata"):
                    message["metadata"] = sent["metadata"]
                found.append(message)
            return {"ok": True, "messages": sorted(found, key=lambda m: m["ts"], reverse=method == "conversations.history")}
        if method == "chat.update":
            key = (body.get("channel"), body.get("ts"))
            if key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            self.messages[key] = body
            return {"ok": True, "channel": key[0], "ts": key[1]}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):06d}"
            self.uploads[file_id] = b""
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.url.removesuffix('api/')}upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = body.get("files")
            files = json.loads(files) if isinstance(files, str) else files
            if any(not self.uploads.get(f["id"]) for f in files):
                return {"ok": False, "error": "file_upload_not_complete"}
            self.shared.append((body.get("channel_id", ""), files))
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
        if method == "conversations.info":
            channel = body.get("channel", "")
            private = channel in self.private_channels or not channel.startswith("C")
            return {"ok": True, "channel": {"id": channel, "is_im": channel.startswith("D"), "is_private": private, "is_mpim": False}}
        if method == "chat.getPermalink":
            channel, ts = body.get("channel", ""), body.get("message_ts", "")
            return {"ok": True, "channel": channel, "permalink": f"https://fake.slack.example/archives/{channel}/p{ts.replace('.', '')}"}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method in ("views.open", "views.update", "views.push", "views.publish"):
            return {"ok": True, "view": {"id": f"V{next(self._ts):06d}", **body.get("view", {})}}
        if method == "conversations.open":
            user = body.get("users", "")
            return {"ok": True, "channel": {"id": "D" + user[1:]}} if user in self.users else {"ok": False, "error": "user_not_found"}
        if method == "users.info":
            user = self.users.get(body.get("user", ""))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            user = next((u for u in self.users.values() if u["profile"]["email"] == body.get("email")), None)
            return {"ok": True, "user": user} if user else {"ok": False, "error": "users_not_found"}
        return {"ok": False, "error": "unknown_method"}


def _reset(request: web.Request) -> web.Response:
    """Drop the connection unanswered; the client sees the server disconnect."""
    request.transport.abort()
    return web.Response()  # never written: the transport is gone


async def _body(request: web.Request) -> dict:
    """Read a call's arguments the way Slack does: from the query string and from the body."""
    body = dict(request.query)
    if request.method == "GET":
        return body
    if request.content_type == "application/json":
        return body | await request.json()
    form = dict(await request.post())
    for key in ("blocks", "view", "attachments", "metadata"):
        if isinstance(form.get(key), str):
            try:
                form[key] = json.loads(form[key])
            except ValueError:
                pass
    return body | form


async def start_fake_slack(fake: FakeSlack) -> web.AppRunner:
    """Serve `fake` on 127.0.0.1 at an ephemeral port; its base URL goes to `fake.url`."""
    app = web.Application()
    app.router.add_route("*", "/api/{method}", fake.handle)
    app.router.add_post("/response/{id}", fake.handle_response_url)
    app.router.add_post("/upload/{id}", fake.handle_upload)
    # Slack's own access log is not ours to capture: the anonymity test reads ours.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    fake.url = f"http://127.0.0.1:{port}/api/"
    fake.response_url = f"http://127.0.0.1:{port}/response/"
    return runner
