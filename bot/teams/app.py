"""Bot layer: the Teams app, botbuilder's CloudAdapter wired to the platform-agnostic router.

People type the same commands as in Slack, without the slash, to the bot in a
personal chat or by @mentioning it in a channel (`mlstatus churn`, `report`, `help`).
Buttons and forms are Adaptive Cards whose `Action.Submit` comes back as a message
activity carrying the card's data; the card is then updated in place:

- a button on a card: the card is rewritten with the handler's answer (REPLACE);
- a form: errors come back inline on the same card; once accepted, the form card
  is replaced by the confirmation, so it cannot be submitted twice;
- an answer meant for the person only (EPHEMERAL, a FORM) that was asked for in a
  channel goes to their personal chat, since Teams has no private replies in
  channels, and the channel thread says so.

The same submit delivered twice (Teams retries when the bot is slow) carries the
same activity id, which becomes the handler's idempotency key.

Every activity leaves its conversation reference behind (see `TeamsDirectory`); the
installation events also greet, once, and a team install learns the team's channels.
"""

from __future__ import annotations

import html
import ipaddress
import logging
from copy import copy
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import urlsplit

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationParameters

from bot.config import Settings
from bot.delivery import MessageRef
from bot.runtime import Runtime
from bot.teams.cards import Submission, card_message, submission
from bot.teams.directory import TeamsDirectory, channel_of
from bot.teams.messenger import TeamsMessenger
from handlers import router
from handlers.views import Message, Reply, ReplyMode

log = logging.getLogger(__name__)
PLATFORM = "teams"

SORRY = "Sorry, something went wrong on my side and nothing was changed. Please try again in a minute."


def command_words() -> dict[str, str]:
    """Return what people may type first, with or without a slash, and the command it means; anything else goes to /mlpulse."""
    return {word: command.slash for command in router.COMMANDS for word in (command.name, *command.words)}


def command_of(text: str) -> str:
    """Turn what was typed to the bot ('mlstatus churn', 'report', 'away until ...') into a router command."""
    words = " ".join(html.unescape(text).split()).split(maxsplit=1)
    if not words:
        return "/mlpulse help"
    first, rest = words[0].lstrip("/").lower(), (words[1] if len(words) > 1 else "")
    words_of = command_words()
    if first in words_of:
        return f"{words_of[first]} {rest}".strip()
    return f"/mlpulse {' '.join(words)}"


def is_loopback(url: str | None) -> bool:
    """Tell whether a URL points at this machine."""
    host = urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_bot_among(members, context: TurnContext) -> bool:
    bot = context.activity.recipient.id if context.activity.recipient else None
    return any(m.id == bot for m in members or [])


def _personal(activity: Activity) -> bool:
    return not activity.conversation or (activity.conversation.conversation_type or "personal") == "personal"


async def post_activity(context: TurnContext, activity: Activity, reply_to: str | None = None):
    """Send an activity in a turn the bot began (a conversation it created) as a new message (or a reply to `reply_to`), returning Teams' answer."""
    out = TurnContext.apply_conversation_reference(copy(activity), TurnContext.get_conversation_reference(context.activity))
    out.reply_to_id = reply_to
    [response] = await context.adapter.send_activities(context, [out])
    return response


class TeamsWiring(TeamsActivityHandler):
    """Turns Teams activities into handler calls and handler replies into Teams calls.

    botbuilder's `TeamsActivityHandler` tells the activities apart (a message, the app
    added to or removed from a chat or team, a channel renamed or deleted); this
    answers each.
    """

    def __init__(self, runtime: Runtime, directory: TeamsDirectory, app_id: str | None = None):
        self.runtime, self.directory, self.app_id = runtime, directory, app_id or ""

    async def on_turn(self, context: TurnContext) -> None:
        """Handle one activity; a failure is logged and, for a message, told to the person."""
        if not self.app_id and not is_loopback(context.activity.service_url):
            # Without an app id nothing is authenticated (the emulator mode), so anyone could
            # make mlpulse store a reference to their own server and send people's
            # check-ins there: only a connector on this machine is believed.
            log.warning("refused a Teams activity without authentication whose serviceUrl is not on this machine")
            return
        try:
            await super().on_turn(context)
        except Exception:
            log.exception("handling a Teams %s activity failed", context.activity.type)
            if context.activity.type == ActivityTypes.message:
                try:
                    await context.send_activity(SORRY)
                except Exception:  # the connector itself is failing; the log has it
                    log.warning("could not tell the person that their message failed")
            return
        # After the turn, not in it: Teams waits for the turn's HTTP answer (and sends the
        # activity again after 15 seconds), and sending is no part of that answer.
        self.runtime.deliver_soon()

    async def act(self, context: TurnContext, handler, *args, learn: bool = True, **kwargs) -> Reply:
        """Run a handler as the sender; with `learn=False` a stranger is a guest and nothing about them is stored."""

        async def resolve():
            person = await (self.directory.person_for(context) if learn else self.directory.find_person(context))
            if learn:
                await self.directory.remember(context, person)
            return person

        return await self.runtime.act_as(resolve(), PLATFORM, handler, *args, conversation=context.activity.conversation.id, **kwargs)

    async def on_message(self, context: TurnContext) -> None:
        activity = context.activity
        sent = submission(activity.value)
        if sent is not None:
            await self.on_submission(context, sent)
            return
        if activity.value and not activity.text:
            return  # a card from elsewhere (or an older mlpulse) sent something we cannot read
        command = command_of(TurnContext.remove_recipient_mention(activity) or "")
        reply = await self.act(context, router.handle_command, command, learn=not router.identity_optional(command=command))
        await self.show(context, reply)

    async def on_submission(self, context: TurnContext, sent: Submission) -> None:
        request_id = f"teams:{context.activity.id}"
        if sent.form is not None:
            values = dict(sent.values)
            learn = not router.identity_optional(form=sent.form, values=values)
            reply = await self.act(context, router.handle_submit, sent.form, sent.state, values, request_id=request_id, learn=learn)
            await self.show(context, reply, card_id=context.activity.reply_to_id, from_form=True)
            return
        learn = not router.identity_optional(action=sent.action)
        pressed, conversation = context.activity.reply_to_id, context.activity.conversation
        # In a channel, a card's conversation carries its thread (";messageid=..."); the outbox keeps the channel's.
        origin = MessageRef(PLATFORM, conversation.id.split(";messageid=")[0], pressed) if pressed and conversation else None
        reply = await self.act(context, router.handle_action, sent.action, sent.value, request_id=request_id, learn=learn, origin=origin)
        await self.show(context, reply, card_id=context.activity.reply_to_id)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await self.on_message(turn_context)

    async def on_members_added_activity(self, members_added, turn_context: TurnContext) -> None:
        if _is_bot_among(members_added, turn_context):
            await self.installed(turn_context)

    async def on_members_removed_activity(self, members_removed, turn_context: TurnContext) -> None:
        if _is_bot_among(members_removed, turn_context):
            await self.directory.forget(turn_context)

    # In Teams the same, without botbuilder's lookup of every other member added (one connector call each).
    async def on_teams_members_added_dispatch(self, members_added, team_info, turn_context: TurnContext) -> None:
        await self.on_members_added_activity(members_added, turn_context)

    async def on_teams_members_removed_dispatch(self, members_removed, team_info, turn_context: TurnContext) -> None:
        await self.on_members_removed_activity(members_removed, turn_context)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await self.installed(turn_context)

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        await self.directory.forget(turn_context)

    async def on_teams_channel_renamed(self, channel_info, team_info, turn_context: TurnContext) -> None:
        # Kept under its new name, and found by its old ones too: app.yaml may still use one.
        await self.directory.remember(turn_context, None, fresh=True)

    async def on_teams_channel_deleted(self, channel_info, team_info, turn_context: TurnContext) -> None:
        log.warning("a Teams channel mlpulse could post to was deleted; what app.yaml sends there is reported unreachable")
        await self.directory.forget(turn_context)

    async def installed(self, context: TurnContext) -> None:
        """Remember where the app was installed and greet there once."""
        activity = context.activity
        personal = _personal(activity)
        person = await self.directory.person_for(context) if personal and activity.from_property else None
        if not await self.directory.remember(context, person, fresh=True):
            return  # Teams sends both conversationUpdate and installationUpdate: greet once
        if channel_of(activity) is not None:
            await self.directory.remember_channels(context)
        help_text = router.help_view().text
        if personal:
            name = person.display_name if person else "there"
            view = Message(
                f"Hi {name}, I'm mlpulse",
                "I'll check in here now and then about the ML models your team uses, "
                "and you can tell me when one stops working. Type any of these, without the slash:\n\n" + help_text,
            )
        else:
            view = Message(
                "mlpulse is here",
                "I post the weekly digest, review-forum announcements and success stories in the channels "
                "app.yaml names. @mention me with any of these, without the slash:\n\n" + help_text,
            )
        await context.send_activity(card_message(view))

    async def show(self, context: TurnContext, reply: Reply, card_id: str | None = None, from_form: bool = False) -> None:
        """Show a handler's reply where the person acted, in place when it answers a card."""
        activity = context.activity
        users = await self.directory.users_for({m.person_id for m in reply.view.all_mentions()}) if isinstance(reply.view, Message) else {}
        message = card_message(reply.view, users)
        # A form is replaced by its answer, unless nothing was done (RETRY): then the card
        # keeps what was typed in it, and the reason comes as a reply beside it.
        in_place = card_id is not None and (reply.mode == ReplyMode.REPLACE or (from_form and reply.mode != ReplyMode.RETRY))
        if in_place:
            message.id = card_id
            await context.update_activity(message)
        elif reply.mode in (ReplyMode.EPHEMERAL, ReplyMode.FORM, ReplyMode.RETRY) and not _personal(activity):
            await self.send_privately(context, message)
            await context.send_activity(Activity(type=ActivityTypes.message, text="I sent you the answer in our personal chat."))
        else:
            await context.send_activity(message)

    async def send_privately(self, context: TurnContext, message: Activity) -> None:
        """Send to the sender's personal chat with the bot (Teams opens it, or returns the existing one)."""
        activity = context.activity
        tenant = ((activity.channel_data or {}).get("tenant") or {}).get("id") or (activity.conversation.tenant_id if activity.conversation else None)
        parameters = ConversationParameters(
            is_group=False,
            bot=activity.recipient,
            members=[ChannelAccount(id=activity.from_property.id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}} if tenant else None,
        )

        async def deliver(private: TurnContext) -> None:
            await post_activity(private, message)

        await context.adapter.create_conversation(self.app_id, deliver, parameters, activity.channel_id, activity.service_url)


@dataclass
class Teams:
    """Everything `mlpulse run` needs for Teams: the adapter, what handles each turn, and the messenger."""

    adapter: CloudAdapter
    wiring: TeamsWiring
    messenger: TeamsMessenger


def build_teams(runtime: Runtime, settings: Settings, **messenger_options) -> Teams:
    """Return the Teams adapter (authenticating as the configured Azure Bot) wired to the router."""
    password = settings.microsoft_app_password.get_secret_value() if settings.microsoft_app_password else ""
    config = SimpleNamespace(
        APP_ID=settings.microsoft_app_id or "",
        APP_PASSWORD=password,
        APP_TYPE=settings.microsoft_app_type,
        APP_TENANTID=settings.microsoft_app_tenant_id or "",
    )
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
    directory = TeamsDirectory(runtime)
    return Teams(
        adapter, TeamsWiring(runtime, directory, settings.microsoft_app_id), TeamsMessenger(adapter, directory, settings.microsoft_app_id, **messenger_options)
    )
