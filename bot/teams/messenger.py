"""Bot layer: the Teams messenger, the delivery seam on Microsoft Teams.

Everything goes out proactively through a stored conversation reference, on the
connector client that `continue_conversation` would use: a check-in to the person's personal chat, a digest or an
announcement as a new post in a channel. A person with no stored reference cannot be
written to at all (Teams requires the app to be installed for them), and that is
raised as `Unreachable`, which the outbox records and /mlstatus reports.

Teams throttles per bot and per conversation. Sending is paced under those ceilings
(a bucket for the whole bot, another per conversation), and a 429 that still comes
back is waited out (`Retry-After`, else exponential backoff) and retried, so nothing
is dropped. A send that fails for good leaves the message queued in the outbox.

Unlike Slack, Teams gives a bot no way to list what it posted, so `find_sent` cannot
look: a crash in the instant between Teams accepting a message and the database
recording it is the one case that can repeat a message.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from copy import copy

from aiolimiter import AsyncLimiter
from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot.delivery import MessageRef, Target, Unreachable, pace
from bot.teams import limits
from bot.teams.cards import card_message
from bot.teams.directory import TeamsDirectory
from handlers.views import Message

log = logging.getLogger(__name__)

# Teams allows a bot about 50 requests a second across a tenant and, in one
# conversation, 7 a second but only 60 in 30 seconds; these stay under both.
PER_SECOND = 40.0
PER_CONVERSATION_PER_SECOND = 1.8
MAX_RETRIES = 8
MAX_WAIT = 60.0


def status_of(exc: BaseException) -> int | None:
    """Return the HTTP status of a failed connector call, if it was one."""
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) or getattr(response, "status", None)


def retry_after(exc: BaseException) -> float | None:
    """Return the seconds a 429 asked to wait, if it said."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        return float(headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None


def file_activity(view: Message) -> Activity | None:
    """Return the activity carrying a view's files (a chart, an invite) inline, if any fit Teams' size limit.

    Teams takes files from a bot inline (as data URLs) only within its ~28 KB message
    limit; a bigger file (often the digest's chart) is left out, and logged.
    """
    files, room = [], limits.CARD_BYTES
    for item in view.attachments:
        kind = mimetypes.guess_type(item.filename)[0] or "application/octet-stream"
        url = f"data:{kind};base64,{base64.b64encode(item.content).decode()}"
        if len(url) > room:
            log.info("%s (%d bytes) is too big to send inline on Teams; left out", item.filename, len(item.content))
            continue
        room -= len(url)
        files.append(Attachment(content_type=kind, content_url=url, name=item.filename))
    return Activity(type=ActivityTypes.message, attachments=files) if files else None


def _addressed(activity: Activity, reference) -> Activity:
    """Return a copy of an outgoing activity addressed to the conversation of `reference`."""
    return TurnContext.apply_conversation_reference(copy(activity), reference)


class TeamsMessenger:
    """Sends and updates cards on Teams through stored conversation references, paced and patient with 429s."""

    platform = "teams"
    concurrency = 8  # sends in flight at once: each is its own HTTP round trip to the connector

    def __init__(
        self,
        adapter,
        directory: TeamsDirectory,
        app_id: str | None,
        per_second: float = PER_SECOND,
        per_conversation: float = PER_CONVERSATION_PER_SECOND,
        sleep: Callable[[float], Awaitable] = asyncio.sleep,
    ):
        self.adapter, self.directory, self.app_id = adapter, directory, app_id or ""
        self._ceiling, self._senders = per_second, 1
        self._bot = pace(per_second)
        self._per_conversation = per_conversation
        self._conversations: dict[str, AsyncLimiter] = {}
        self._sleep = sleep
        self._connectors: dict[str, object] = {}

    def share(self, senders: int) -> None:
        """Pace at this process's part of the bot's ceiling, now that `senders` processes send at once."""
        if senders != self._senders:
            self._senders, self._bot = senders, pace(self._ceiling / senders)

    async def send(self, target: Target, view: Message, thread: MessageRef | None = None, key: str | None = None) -> MessageRef:
        if target.person is not None and target.channel is None:
            reference = await self.directory.reference_for(person=target.person)
            if reference is None:
                raise Unreachable(f"{target.person.display_name} is not reachable in Teams until the app is installed for them")
        else:
            reference = await self.directory.reference_for(channel=target.channel.removeprefix("teams:"))
            if reference is None:
                raise Unreachable(f"no Teams channel {target.channel!r} is known to mlpulse: add the app to its team (or @mention mlpulse there once)")
        users = await self.directory.users_for({m.person_id for m in view.all_mentions()})
        activity = card_message(view, users)
        files = file_activity(view)
        reply_to = thread.message_id if thread is not None else None  # a reminder replies in its question's thread
        connector = await self._connector(reference.service_url)
        conversation = reference.conversation.id
        card = _addressed(activity, reference)

        async def post():
            if reply_to:
                return await connector.conversations.reply_to_activity(conversation, reply_to, card)
            return await connector.conversations.send_to_conversation(conversation, card)

        sent = await self._call(conversation, post)
        if files is not None:
            # The card went out and is recorded either way: a file that cannot follow it
            # is logged, never a reason to send the card again.
            try:
                await self._call(conversation, lambda: connector.conversations.send_to_conversation(conversation, _addressed(files, reference)))
            except Exception as exc:
                log.warning("the files of %s did not reach Teams: %s", key, exc)
        return MessageRef(self.platform, conversation, sent.id)

    async def update(self, ref: MessageRef, view: Message) -> None:
        reference = await self.directory.reference_for(conversation_id=ref.conversation_id)
        if reference is None:
            raise Unreachable(f"the Teams conversation of message {ref.message_id} is no longer known")
        users = await self.directory.users_for({m.person_id for m in view.all_mentions()})
        card = _addressed(card_message(view, users), reference)
        card.id = ref.message_id
        connector = await self._connector(reference.service_url)
        try:
            await self._call(ref.conversation_id, lambda: connector.conversations.update_activity(ref.conversation_id, ref.message_id, card))
        except Exception as exc:
            if status_of(exc) in (403, 404):  # the message or the bot's access to it is gone; no retry mends that
                raise Unreachable(f"Teams cannot update message {ref.message_id} ({status_of(exc)})") from exc
            raise

    async def _connector(self, service_url: str):
        """Return the connector client for a service URL: the one `continue_conversation` would build, made once and kept.

        Building it costs more than the call it makes (botbuilder sets up a fresh HTTP
        pipeline and token client each time), so a fan-out reuses it; it renews its
        own token.
        """
        if service_url not in self._connectors:
            claims = self.adapter.create_claims_identity(self.app_id)
            factory = self.adapter.bot_framework_authentication.create_connector_factory(claims)
            self._connectors[service_url] = await factory.create(service_url, None)
        return self._connectors[service_url]

    async def find_sent(self, target: Target, thread: MessageRef | None, key: str) -> MessageRef | None:
        return None  # Teams cannot list a bot's own messages; see the module docstring

    async def _call(self, conversation: str, call: Callable[[], Awaitable]):
        """Make one connector call within the pace, waiting out 429s (and brief 5xx) and retrying."""
        limiter = self._conversations.setdefault(conversation, AsyncLimiter(1, 1 / self._per_conversation))
        if len(self._conversations) > 10_000:
            self._conversations.clear()
        for attempt in range(MAX_RETRIES + 1):
            async with self._bot, limiter:
                try:
                    return await call()
                except Exception as exc:
                    status = status_of(exc)
                    if attempt == MAX_RETRIES or not (status == 429 or (status or 0) >= 500):
                        raise
                    wait = min(MAX_WAIT, retry_after(exc) or 2**attempt)
                    log.info("Teams answered %s; waiting %.1fs before trying again", status, wait)
            await self._sleep(wait)
