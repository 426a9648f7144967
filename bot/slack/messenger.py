"""Bot layer: the Slack messenger, the delivery seam on Slack.

Direct messages go to the person's user id (Slack opens the DM) and reminders go
into the question's thread. Rate limits are waited out by slack_sdk's retry
handler, which honours `Retry-After`; nothing is dropped.
"""

from __future__ import annotations

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
    """Sends and updates messages on Slack."""

    platform = "slack"

    def __init__(self, client: AsyncWebClient, directory: SlackDirectory):
        self.client, self.directory = client, directory

    async def send(self, target: Target, view: Message, thread: MessageRef | None = None) -> MessageRef:
        if thread is not None:
            channel = thread.conversation_id
        elif target.channel:
            channel = target.channel
        else:
            channel = await self.directory.user_id_for(target.person)
            if channel is None:
                raise Unreachable(f"{target.person.display_name} has no Slack account that mlpulse can find")
        extra = {"thread_ts": thread.message_id} if thread else {}
        response = await self.client.chat_postMessage(channel=channel, **to_message(view), **extra)
        return MessageRef(self.platform, response["channel"], response["ts"])

    async def update(self, ref: MessageRef, view: Message) -> None:
        await self.client.chat_update(channel=ref.conversation_id, ts=ref.message_id, **to_message(view))
