"""Bot Framework activities as Teams sends them to /api/messages, for the tests to post."""

from __future__ import annotations

import itertools

BOT = {"id": "28:mlpulse-bot", "name": "mlpulse"}
TENANT = "tenant-1"
TEAM = "19:team-general@thread.tacv2"
_ids = itertools.count(1)


def user(key: str) -> dict:
    """The Teams account of a test person (their AAD object id is `aad-<key>`)."""
    return {"id": f"29:{key}", "name": key.title(), "aadObjectId": f"aad-{key}"}


def personal(key: str) -> dict:
    return {"id": f"a:personal-29:{key}", "conversationType": "personal", "tenantId": TENANT}


def channel(channel_id: str = TEAM, thread: str | None = None) -> dict:
    conversation = f"{channel_id};messageid={thread}" if thread else channel_id
    return {"id": conversation, "conversationType": "channel", "isGroup": True, "tenantId": TENANT}


def _base(kind: str, service_url: str, sender: dict, conversation: dict, **extra) -> dict:
    channel_data = {"tenant": {"id": TENANT}}
    if conversation.get("conversationType") == "channel":
        channel_id = conversation["id"].split(";")[0]
        channel_data |= {"team": {"id": TEAM, "name": "Data Science"}, "channel": {"id": channel_id, **({"name": "ml-digest"} if channel_id != TEAM else {})}}
    return {
        "type": kind,
        "id": f"act-{next(_ids)}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "timestamp": "2026-03-03T10:00:00.000Z",
        "from": sender,
        "recipient": BOT,
        "conversation": conversation,
        "channelData": channel_data,
        "locale": "en-GB",
        **extra,
    }


def message(service_url: str, key: str, text: str, conversation: dict | None = None, mention: bool = False) -> dict:
    """A message typed by a person: in their personal chat, or @mentioning the bot in a channel."""
    extra = {}
    if mention:
        text = f"<at>mlpulse</at> {text}"
        extra["entities"] = [{"type": "mention", "text": "<at>mlpulse</at>", "mentioned": BOT}]
    return _base("message", service_url, user(key), conversation or personal(key), text=text, textFormat="plain", localTimezone="Europe/London", **extra)


def submit(service_url: str, key: str, value: dict, card_id: str, conversation: dict | None = None, activity_id: str | None = None) -> dict:
    """An Action.Submit pressed on the card `card_id` (Teams sends it as a message carrying `value`)."""
    activity = _base("message", service_url, user(key), conversation or personal(key), value=value, replyToId=card_id)
    if activity_id:
        activity["id"] = activity_id
    return activity


def installed(service_url: str, key: str | None = None, action: str = "add") -> dict:
    """An installationUpdate: the app added (or removed) for a person, or to the team when `key` is None."""
    sender = user(key) if key else user("lead")
    return _base("installationUpdate", service_url, sender, personal(key) if key else channel(), action=action)


def bot_added(service_url: str, key: str | None = None) -> dict:
    """A conversationUpdate adding the bot to a person's chat, or to the team when `key` is None."""
    sender = user(key) if key else user("lead")
    return _base("conversationUpdate", service_url, sender, personal(key) if key else channel(), membersAdded=[BOT])
