"""Bot layer: the Slack messenger, the delivery seam on Slack.

Direct messages go to the person's user id (Slack opens the DM) and reminders go
into the question's thread. Files (the digest's chart, a forum's invite) are
uploaded with Slack's external-upload flow into the same conversation. Rate limits are waited out by slack_sdk's retry
handler, which honours `Retry-After`; nothing is dropped.
"""

from __future__ import annotations

from aiolimiter import AsyncLimiter
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler, AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import MessageRef, Target, Unreachable
from bot.slack.directory import SlackDirectory
from bot.slack.render import to_message
from handlers.views import Message


def web_client(token: str, base_url: str, max_retries: int = 8) -> AsyncWebClient:
    """Return the Web API client every Slack call goes through, patient with rate limits."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=3), AsyncRateLimitErrorRetryHandler(max_retry_count=max_retries)],
    )


class SlackMessenger:
    """Sends and updates messages on Slack, paced to stay under its rate limits."""

    platform = "slack"
    EVENT_TYPE = "mlpulse_message"

    def __init__(self, client: AsyncWebClient, directory: SlackDirectory, per_minute: int = 600):
        self.client, self.directory = client, directory
        # chat.postMessage allows about one message per second per channel under a
        # workspace-wide ceiling. A bucket of 5% of a second's worth, refilled at 95% of
        # the ceiling, can never put more than the ceiling into any one second: 429s
        # stay the exception, and each one would stall sending for a whole second.
        per_second = per_minute / 60
        burst = max(1.0, per_second * 0.05)
        self._workspace = AsyncLimiter(burst, burst / (per_second * 0.95))
        self._channels: dict[str, AsyncLimiter] = {}

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
        per_channel = self._channels.setdefault(channel, AsyncLimiter(1, 1))
        payload = await self._render(view)
        async with self._workspace, per_channel:
            response = await self.client.chat_postMessage(channel=channel, **payload, **extra)
        if len(self._channels) > 10_000:
            self._channels.clear()
        for attachment in view.attachments:
            # Slack's current upload flow (files.getUploadURLExternal, the upload, then
            # files.completeUploadExternal), shared into the conversation just after the message.
            await self.client.files_upload_v2(
                channel=response["channel"], file=attachment.content, filename=attachment.filename, title=attachment.title or attachment.filename
            )
        return MessageRef(self.platform, response["channel"], response["ts"])

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
        await self.client.chat_update(channel=ref.conversation_id, ts=ref.message_id, **await self._render(view))

    async def _render(self, view: Message) -> dict:
        users = await self.directory.user_ids_for({m.person_id for m in view.all_mentions()})
        return to_message(view, users)
