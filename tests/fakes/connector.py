"""A fake Bot Connector service: an aiohttp server on an ephemeral loopback port.

The bot calls it exactly as it calls Teams' connector (the activity's `serviceUrl`):
send to a conversation, reply in a thread, update an activity, create a personal
conversation, read a member's profile, list a team's channels. It records every
call's body, keeps the conversations as they would look, rejects cards that the
Adaptive Card 1.5 schema refuses (400) or over Teams' size limit (413, as Teams
does), and answers 429 with `Retry-After` when told to:
for the next N calls, every Nth call, or whenever a rate ceiling per second is exceeded.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes.adaptive import card_errors

MAX_ACTIVITY_BYTES = 28_000


@dataclass
class Call:
    kind: str  # "send", "reply", "update", "create", "member", "channels"
    conversation: str
    body: dict
    status: int
    activity_id: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeConnector:
    """The fake's state: the team roster, what it was sent, and how to throttle."""

    members: dict[str, dict] = field(default_factory=dict)
    channels: dict[str, list[dict]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    activities: dict[tuple[str, str], dict] = field(default_factory=dict)
    throttle_next: int = 0
    retry_after: float = 0
    ceiling_per_second: float | None = None
    throttle_every: int = 0  # also refuse every Nth call with a 429
    check_cards: bool = True  # the schema check costs milliseconds a card; benchmarks turn it off
    url: str = ""
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _window: deque = field(default_factory=deque)

    def add_member(self, user_id: str, aad: str, name: str, email: str) -> dict:
        self.members[user_id] = {"id": user_id, "aadObjectId": aad, "name": name, "email": email, "userPrincipalName": email}
        return self.members[user_id]

    def sent(self, kind: str | None = None) -> list[Call]:
        """Return the accepted calls (of one kind), in order."""
        return [c for c in self.calls if c.status < 300 and (kind is None or c.kind == kind)]

    def cards(self, kind: str = "send") -> list[dict]:
        """Return the Adaptive Cards the accepted calls of one kind carried, in order."""
        return [a["content"] for c in self.sent(kind) for a in c.body.get("attachments") or [] if a.get("contentType", "").endswith("card.adaptive")]

    def _limited(self) -> float | None:
        """Return Retry-After seconds if this call is to be throttled, else count it."""
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return self.retry_after
        if self.throttle_every and len(self.calls) % self.throttle_every == self.throttle_every - 1:
            return self.retry_after
        now = time.monotonic()
        while self._window and self._window[0] <= now - 1:
            self._window.popleft()
        if self.ceiling_per_second is not None and len(self._window) >= self.ceiling_per_second:
            return round(max(0.05, self._window[0] + 1 - now), 3)
        self._window.append(now)
        return None

    async def _accept(self, kind: str, request: web.Request, conversation: str, activity_id: str | None = None) -> tuple[dict | None, web.Response | None]:
        raw = await request.read()
        body = json.loads(raw or b"{}")
        if (wait := self._limited()) is not None:
            self.calls.append(Call(kind, conversation, body, 429, activity_id))
            return None, web.json_response({"error": {"code": "TooManyRequests", "message": "slow down"}}, status=429, headers={"Retry-After": str(wait)})
        problems = (
            []
            if not self.check_cards
            else [p for a in body.get("attachments") or [] if a.get("contentType", "").endswith("card.adaptive") for p in card_errors(a["content"])]
        )
        if problems:
            self.calls.append(Call(kind, conversation, body, 400, activity_id))
            return None, web.json_response({"error": {"code": "BadArgument", "message": "; ".join(problems)[:2000]}}, status=400)
        if len(raw) > MAX_ACTIVITY_BYTES:
            self.calls.append(Call(kind, conversation, body, 413, activity_id))
            return None, web.json_response({"error": {"code": "MessageSizeTooBig", "message": "Message size too big"}}, status=413)
        return body, None

    async def send(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        body, refused = await self._accept("send", request, conversation)
        if refused:
            return refused
        activity_id = str(next(self._ids))
        self.calls.append(Call("send", conversation, body, 200, activity_id))
        self.activities[(conversation.split(";messageid=")[0], activity_id)] = body
        return web.json_response({"id": activity_id})

    async def reply_or_update(self, request: web.Request) -> web.Response:
        conversation, activity_id = request.match_info["conversation"], request.match_info["activity"]
        kind = "update" if request.method == "PUT" else "reply"
        body, refused = await self._accept(kind, request, conversation, activity_id)
        if refused:
            return refused
        if kind == "update":
            if (conversation, activity_id) not in self.activities:
                self.calls.append(Call(kind, conversation, body, 404, activity_id))
                return web.json_response({"error": {"code": "NotFound", "message": "no such activity"}}, status=404)
            self.activities[(conversation, activity_id)] = body
            self.calls.append(Call(kind, conversation, body, 200, activity_id))
            return web.json_response({"id": activity_id})
        new_id = str(next(self._ids))
        self.calls.append(Call(kind, conversation, body, 200, new_id))
        self.activities[(conversation, new_id)] = body
        return web.json_response({"id": new_id})

    async def create(self, request: web.Request) -> web.Response:
        body, refused = await self._accept("create", request, "")
        if refused:
            return refused
        member = (body.get("members") or [{}])[0].get("id", "")
        conversation = f"a:personal-{member}"
        self.calls.append(Call("create", conversation, body, 200))
        return web.json_response({"id": conversation})

    async def member(self, request: web.Request) -> web.Response:
        user = request.match_info["user"]
        self.calls.append(Call("member", request.match_info["conversation"], {}, 200 if user in self.members else 404))
        if user not in self.members:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation", "message": "no such member"}}, status=404)
        return web.json_response(self.members[user])

    async def team_channels(self, request: web.Request) -> web.Response:
        team = request.match_info["team"]
        self.calls.append(Call("channels", team, {}, 200))
        return web.json_response({"conversations": self.channels.get(team, [])})


async def start_fake_connector(fake: FakeConnector) -> web.AppRunner:
    """Serve `fake` on 127.0.0.1 at an ephemeral port; its service URL goes to `fake.url`."""
    app = web.Application()
    app.router.add_post("/v3/conversations", fake.create)
    app.router.add_post("/v3/conversations/{conversation}/activities", fake.send)
    app.router.add_route("*", "/v3/conversations/{conversation}/activities/{activity}", fake.reply_or_update)
    app.router.add_get("/v3/conversations/{conversation}/members/{user}", fake.member)
    app.router.add_get("/v3/teams/{team}/conversations", fake.team_channels)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"
    return runner
