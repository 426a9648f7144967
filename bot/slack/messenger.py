"""Bot layer: the Slack messenger, the delivery seam on Slack.

Direct messages go to the person's user id (Slack opens the DM) and reminders go
into the question's thread. Files (the digest's chart, a forum's invite) are
uploaded with Slack's external-upload flow into the same conversation.

Retries: a 429 is waited out for its `Retry-After`, and nothing is dropped. For a
post, the messenger does it itself: every post of the process pauses, and the retry
then queues behind the pace like any other post (slack_sdk's own retry would go
round the pace, and the burst it makes is refused in turn). Other calls are left to
slack_sdk's retry handler. A connection error is retried by slack_sdk only
for calls that are safe to repeat (reads, updates, opening a DM, views). A call that
creates something (a post, an upload's completion) is not: Slack may have acted on
it just before the connection went, and a blind retry would make a second copy. So
after a connection error on a post, the messenger first looks for the message by
the outbox key it was tagged with, returns it if it is there, and only otherwise
posts again, a few times at most. An untagged post cannot be looked for: its error
goes back to the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp
from aiolimiter import AsyncLimiter
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler, AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import MessageRef, Target, Unreachable, pace
from bot.slack.directory import SlackDirectory
from bot.slack.render import to_message
from handlers.views import Message

# Web API methods that create something on each call. A connection error may come
# after Slack acted on one, so repeating it blindly could create a second.
NOT_IDEMPOTENT = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.scheduleMessage",
        "chat.meMessage",
        "files.upload",
        "files.completeUploadExternal",
        "files.remote.add",
        "conversations.create",
        "bookmarks.add",
        "reminders.add",
        "usergroups.create",
    }
)
# What slack_sdk lets through when a call's connection fails (it wraps none of them).
CONNECTION_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError)
POST_ATTEMPTS = 3
# chat.update errors that no retry mends: the message, or the bot's access to it, is gone.
GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found", "is_archived", "not_in_channel"})


class IdempotentRetryHandler(AsyncConnectionErrorRetryHandler):
    """Retries a call after a connection error, unless the call creates something and may already have reached Slack."""

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        method = urlsplit(request.url).path.rsplit("/", 1)[-1]
        never_sent = isinstance(error, aiohttp.ClientConnectorError)  # no connection was made, so Slack saw nothing
        if method in NOT_IDEMPOTENT and not never_sent:
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


class UnpacedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Waits out a 429 and retries, except for posts: the messenger paces those itself, and their retries must queue behind that pace."""

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if urlsplit(request.url).path.rsplit("/", 1)[-1] == "chat.postMessage":
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


def web_client(token: str, base_url: str, max_retries: int = 8) -> AsyncWebClient:
    """Return the Web API client every Slack call goes through, patient with rate limits."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[IdempotentRetryHandler(max_retry_count=3), UnpacedRateLimitRetryHandler(max_retry_count=max_retries)],
    )


def retry_after(exc: SlackApiError) -> float:
    """Return the seconds a 429 asked to wait (1 when it did not say)."""
    headers = exc.response.headers or {}
    try:
        return float(headers.get("Retry-After") or headers.get("retry-after") or 1)
    except (TypeError, ValueError):
        return 1.0


class SlackMessenger:
    """Sends and updates messages on Slack, paced to stay under its rate limits."""

    platform = "slack"
    concurrency = 1  # posts go one after another, under the workspace and per-channel pace
    EVENT_TYPE = "mlpulse_message"

    def __init__(self, client: AsyncWebClient, directory: SlackDirectory, per_minute: int = 600):
        self.client, self.directory = client, directory
        # chat.postMessage allows about one message per second per channel under a
        # workspace-wide ceiling. Pacing at 95% of the ceiling keeps 429s the exception
        # (each one stalls sending for a whole second); with other replicas sending too,
        # this one takes its share of it (see `share`).
        self._ceiling = per_minute / 60 * 0.95
        self._senders = 1
        self._workspace = pace(self._ceiling)
        self._channels: dict[str, AsyncLimiter] = {}
        self._resume_at = 0.0  # after a 429: when posting may go on (event-loop time)
        self.max_rate_retries = 8

    def share(self, senders: int) -> None:
        """Pace at this process's part of the workspace ceiling, now that `senders` processes send at once."""
        if senders != self._senders:
            self._senders, self._workspace = senders, pace(self._ceiling / senders)

    async def _channel(self, target: Target, thread: MessageRef | None) -> str:
        if thread is not None:
            return thread.conversation_id
        if target.channel:
            return target.channel
        user = await self.directory.user_id_for(target.person)
        if user is None:
            raise Unreachable(f"{target.person.display_name} has no Slack account that mlpulse can find")
        return user

    async def send(self, target: Target, view: Message, thread: MessageRef | None = None, key: str | None = None) -> MessageRef:
        channel = await self._channel(target, thread)
        extra = {"thread_ts": thread.message_id} if thread else {}
        if key:
            extra["metadata"] = {"event_type": self.EVENT_TYPE, "event_payload": {"key": key}}
        ref = await self._post(target, thread, key, channel, {**await self._render(view), **extra})
        if len(self._channels) > 10_000:
            self._channels.clear()
        for attachment in view.attachments:
            # Slack's current upload flow (files.getUploadURLExternal, the upload, then
            # files.completeUploadExternal), shared into the conversation just after the message.
            await self.client.files_upload_v2(
                channel=ref.conversation_id, file=attachment.content, filename=attachment.filename, title=attachment.title or attachment.filename
            )
        return ref

    async def _paced(self, channel: str, call: Callable[[], Awaitable[dict]]) -> dict:
        """Make one Web API call within the pace, waiting out 429s: after one, every call of this process pauses, not just this one."""
        per_channel = self._channels.setdefault(channel, AsyncLimiter(1, 1))
        loop = asyncio.get_running_loop()
        limited = 0
        while True:
            if (pause := self._resume_at - loop.time()) > 0:
                await asyncio.sleep(pause)
            try:
                async with self._workspace, per_channel:
                    return await call()
            except SlackApiError as exc:
                if exc.response.status_code != 429 or limited >= self.max_rate_retries:
                    raise
                limited += 1
                self._resume_at = max(self._resume_at, loop.time() + retry_after(exc))

    async def _post(self, target: Target, thread: MessageRef | None, key: str | None, channel: str, arguments: dict) -> MessageRef:
        """Post a message within the pace; after a connection error, look for it by its key before posting again."""
        resets = 0
        while True:
            try:
                response = await self._paced(channel, lambda: self.client.chat_postMessage(channel=channel, **arguments))
                return MessageRef(self.platform, response["channel"], response["ts"])
            except CONNECTION_ERRORS:
                resets += 1
                if key is None or resets >= POST_ATTEMPTS:
                    raise
            # Slack may have taken the post before the connection went: only the key can tell.
            found = await self.find_sent(target, thread, key)
            if found is not None:
                return found

    async def find_sent(self, target: Target, thread: MessageRef | None, key: str) -> MessageRef | None:
        # A resend follows its crash within minutes, and a DM with the bot is short: the
        # latest messages are enough, with no clock comparison between us and Slack.
        channel = await self._channel(target, thread)
        if channel.startswith(("U", "W")):
            channel = (await self.client.conversations_open(users=channel))["channel"]["id"]
        if thread is not None:
            page = await self.client.conversations_replies(channel=channel, ts=thread.message_id, include_all_metadata=True, limit=200)
        else:
            page = await self.client.conversations_history(channel=channel, include_all_metadata=True, limit=200)
        for message in page.get("messages", []):
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == self.EVENT_TYPE and (metadata.get("event_payload") or {}).get("key") == key:
                return MessageRef(self.platform, channel, message["ts"])
        return None

    async def update(self, ref: MessageRef, view: Message) -> None:
        """Rewrite a message in place, within the same pace as posts; rewriting one twice is harmless, so a reset is simply retried."""
        arguments = await self._render(view)
        for attempt in range(1, POST_ATTEMPTS + 1):
            try:
                await self._paced(ref.conversation_id, lambda: self.client.chat_update(channel=ref.conversation_id, ts=ref.message_id, **arguments))
                return
            except CONNECTION_ERRORS:
                if attempt == POST_ATTEMPTS:
                    raise
            except SlackApiError as exc:
                if exc.response.get("error") in GONE:
                    raise Unreachable(f"Slack cannot update message {ref.message_id}: {exc.response.get('error')}") from exc
                raise

    async def _render(self, view: Message) -> dict:
        users = await self.directory.user_ids_for({m.person_id for m in view.all_mentions()})
        return to_message(view, users)
