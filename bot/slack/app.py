"""Bot layer: the Slack app, slack-bolt's AsyncApp wired to the platform-agnostic router.

Every listener acks first (forms are the exception: a submission must be answered
with its inline errors, and handlers answer in milliseconds), then resolves the
Slack user to a person, runs the handler through `Runtime.act`, and shows the reply
where the person acted:

- a check-in DM: updated in place with chat.update;
- an ephemeral reply (to a slash command): replaced through its response_url;
- the App Home tab: republished, with other replies in a read-only modal;
- a form: a modal, whose errors come back inline on their fields.

A press of the same button delivered twice (a double click, a retry) carries the
same `action_ts`, which becomes the handler's idempotency key. An event Slack
retries (`X-Slack-Retry-Num`) carries the same `event_id`; the recent ones are
remembered, per process, and a repeat is skipped. A restarted process handles a
retry it has not seen, so nothing is lost.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import traceback
from collections import OrderedDict
from dataclasses import asdict, dataclass

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.delivery import MessageRef
from bot.runtime import Runtime
from bot.slack import limits
from bot.slack.directory import SlackDirectory
from bot.slack.render import action_of, form_value, person_keys, to_errors, to_home, to_message, to_modal, to_modal_message
from handlers import router
from handlers.home import handle_home
from handlers.reports import ChatMessage, handle_open_about
from handlers.views import Form, InputKind, Reply, ReplyMode, notice
from storage import forms as form_store
from storage.db import run_in_transaction

log = logging.getLogger(__name__)
REPORT_SHORTCUT = "report_problem"
EXPIRED_FORM = "This form was open too long and has expired, so nothing was saved. Please open it again."
NOT_RESOLVED = "Sorry, I could not work out who you are just now (Slack or the database did not answer), so nothing was done. Please try again in a minute."
# Slack closes a modal with an error unless its submission is answered within 3 seconds,
# and the answer (inline errors) can only come from the handler: so a submission's
# lookup and handler share this much of them.
SUBMIT_TIMEOUT = 2.4


@dataclass(frozen=True)
class Origin:
    """Where a person acted, so the reply can go back there."""

    surface: str  # "message", "ephemeral", "home", "modal" or "command"
    user: str
    channel: str | None = None
    ts: str | None = None
    response_url: str | None = None

    def message(self) -> MessageRef | None:
        """Return the bot's message this came from, when it came from one."""
        return MessageRef("slack", self.channel, self.ts) if self.surface == "message" and self.channel and self.ts else None


def origin_of(body: dict) -> Origin:
    """Work out where an interaction came from."""
    user = (body.get("user") or {}).get("id") or body.get("user_id", "")
    container = body.get("container") or {}
    if container.get("type") == "message" and not container.get("is_ephemeral"):
        return Origin("message", user, container.get("channel_id"), container.get("message_ts"))
    if container.get("type") == "message":
        return Origin("ephemeral", user, container.get("channel_id"), response_url=body.get("response_url"))
    if container.get("type") == "view":
        return Origin("home" if (body.get("view") or {}).get("type") == "home" else "modal", user)
    return Origin("command", user, body.get("channel_id"), response_url=body.get("response_url"))


class SlackWiring:
    """Turns Slack requests into handler calls and handler replies into Slack calls."""

    RECENT_EVENTS = 10_000

    def __init__(self, runtime: Runtime, client: AsyncWebClient, directory: SlackDirectory):
        self.runtime, self.client, self.directory = runtime, client, directory
        self._events: OrderedDict[str, None] = OrderedDict()

    def first_time(self, event_id: str | None) -> bool:
        """Tell whether an event is new to this process (Slack retries carry the same id)."""
        if not event_id:
            return True
        if event_id in self._events:
            return False
        self._events[event_id] = None
        if len(self._events) > self.RECENT_EVENTS:
            self._events.popitem(last=False)
        return True

    async def act(self, user_id: str, handler, *args, learn: bool = True, timeout: float | None = None, **kwargs) -> Reply:
        """Run a handler as the Slack user, within `timeout`; if even finding them fails, tell them to try again.

        With `learn=False` a user mlpulse does not know yet is not recorded: the handler
        runs for a guest. (No log line names the user: it might be filing anonymously.)
        """
        lookup = self.directory.person_for(user_id) if learn else self.directory.find_person(user_id)
        return await self.runtime.act_as(
            lookup, "slack", handler, *args, unresolved=NOT_RESOLVED, lookup_errors=(SlackApiError, aiohttp.ClientError), timeout=timeout, **kwargs
        )

    async def on_command(self, ack, body: dict) -> None:
        await ack()
        text = f"{body['command']} {body.get('text', '')}".strip()
        learn = not router.identity_optional(command=text)
        reply = await self.act(body["user_id"], router.handle_command, text, conversation=body.get("channel_id"), learn=learn)
        await self.show(reply, origin_of(body), body.get("trigger_id"))

    async def on_action(self, ack, body: dict, action: dict) -> None:
        await ack()
        origin = origin_of(body)
        name = action_of(action["action_id"])
        reply = await self.act(
            origin.user,
            router.handle_action,
            name,
            action.get("value", ""),
            conversation=origin.channel,
            request_id=f"slack:{origin.user}:{action.get('action_ts')}",
            learn=not router.identity_optional(action=name),
            origin=origin.message(),
        )
        await self.show(reply, origin, body.get("trigger_id"))

    async def on_report_shortcut(self, ack, body: dict) -> None:
        """Open the report form from a message's menu, about that message (linked only if it is in a public channel)."""
        await ack()
        user, channel = body["user"]["id"], (body.get("channel") or {}).get("id")
        message = body.get("message") or {}
        about = await self.describe(channel, body.get("message_ts") or message.get("ts"), message.get("text") or "")
        reply = await self.act(user, handle_open_about, about, learn=False)
        await self.show(reply, Origin("command", user, channel, response_url=body.get("response_url")), body.get("trigger_id"))

    async def describe(self, channel: str | None, ts: str | None, text: str) -> ChatMessage:
        """Describe a message for a report: one in a public channel with its link and text; anything else as private, with neither."""
        if not channel or not ts or not await self.is_public(channel):
            return ChatMessage(private=True)
        try:
            link = (await self.client.chat_getPermalink(channel=channel, message_ts=ts))["permalink"]
        except SlackApiError as exc:  # the form still opens, just without the link
            log.warning("no permalink for a reported message: %s", exc.response.get("error"))
            link = None
        return ChatMessage(private=False, link=link, text=text)

    async def is_public(self, channel: str) -> bool:
        """Tell whether a conversation is a public channel; a DM, a group DM, a private channel, or one Slack will not describe, is not."""
        if not channel.startswith("C"):  # D: a DM; G: a group DM or an older private channel
            return False
        try:
            info = (await self.client.conversations_info(channel=channel))["channel"]
        except SlackApiError as exc:
            log.info("treating a reported message's conversation as private: %s", exc.response.get("error"))
            return False
        return not (info.get("is_private") or info.get("is_im") or info.get("is_mpim") or info.get("is_ext_shared"))

    async def on_submit(self, ack, body: dict, view: dict) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        values = await self.form_values(view)
        origin = Origin(**meta["origin"]) if meta.get("origin") else Origin("command", body["user"]["id"])
        inputs = [b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input"]
        state, draft = meta.get("state", ""), meta.get("draft")
        if draft:
            state = await run_in_transaction(self.runtime.sessions, lambda session: form_store.get_draft(session=session, key=draft))

        async def submit(session, ctx, *args) -> Reply:
            reply = await router.handle_submit(session, ctx, *args)
            if draft and reply.mode not in (ReplyMode.FORM, ReplyMode.RETRY):
                # The form is done with: its state goes with the change it made (it may hold a reported message's link).
                await form_store.delete_draft(session=session, key=draft)
            return reply

        if state is None:
            reply = notice(EXPIRED_FORM)
        else:
            reply = await self.act(
                body["user"]["id"],
                submit,
                view["callback_id"],
                state,
                values,
                request_id=f"slack:view:{view['id']}" if view.get("id") else None,
                learn=not router.identity_optional(form=view["callback_id"], values=values),
                timeout=SUBMIT_TIMEOUT,
                origin=origin.message(),
            )
        if reply.mode == ReplyMode.FORM and reply.view.errors:
            await ack(**to_errors(reply.view.errors, inputs))
            return
        if reply.mode == ReplyMode.FORM:
            await ack(response_action="update", view=await self.modal(reply.view, origin))
            if draft:  # the next form keeps its own state
                await run_in_transaction(self.runtime.sessions, lambda session: form_store.delete_draft(session=session, key=draft))
            return
        if reply.mode == ReplyMode.RETRY and inputs:  # nothing was saved: the modal stays open with what was typed
            await ack(**to_errors({reply.input or inputs[0]: reply.view.text}, inputs))
            return
        await ack()
        await self.show(reply, origin, None)

    async def on_home_opened(self, body: dict, event: dict) -> None:
        if event.get("tab", "home") == "home" and self.first_time(body.get("event_id")):
            await self.publish_home(event["user"])

    async def publish_home(self, user_id: str) -> None:
        async def home(session, ctx):
            return Reply(await handle_home(session, ctx))

        reply = await self.act(user_id, home)
        await self.client.views_publish(user_id=user_id, view=to_home(reply.view))

    async def modal(self, form: Form, origin: Origin) -> dict:
        """Render a form as a modal: its people pickers prefilled, its state in `private_metadata` or, when too large, on the server."""
        picked = [key for item in form.inputs if item.kind in (InputKind.PERSON, InputKind.PEOPLE) for key in person_keys(form_value(form, item))]
        view = to_modal(form, await self.directory.user_ids_for_keys(picked))
        meta = json.dumps({"state": form.state, "origin": asdict(origin)})
        if len(meta) > limits.PRIVATE_METADATA:
            key = secrets.token_urlsafe(24)
            now = self.runtime.clock.now()
            await run_in_transaction(self.runtime.sessions, lambda session: form_store.create_draft(session=session, key=key, state=form.state, now=now))
            meta = json.dumps({"draft": key, "origin": asdict(origin)})
        view["private_metadata"] = meta
        return view

    async def show(self, reply: Reply, origin: Origin, trigger_id: str | None) -> None:
        """Show a handler's reply where the person acted, then send whatever it queued."""
        view = reply.view
        # The people a reply names are mentioned, as in what the outbox sends (a story's contributors are pinged).
        users = {} if reply.mode == ReplyMode.FORM else await self.directory.user_ids_for({m.person_id for m in view.all_mentions()})
        if reply.mode == ReplyMode.FORM:
            open_view = self.client.views_push if origin.surface == "modal" else self.client.views_open
            await open_view(trigger_id=trigger_id, view=await self.modal(view, origin))
        elif origin.surface == "home":
            await self.publish_home(origin.user)
            if reply.mode != ReplyMode.REPLACE and trigger_id:
                await self.client.views_open(trigger_id=trigger_id, view=to_modal_message(view, users))
        elif origin.surface == "modal" and trigger_id:
            await self.client.views_push(trigger_id=trigger_id, view=to_modal_message(view, users))
        elif reply.mode == ReplyMode.REPLACE and origin.surface == "message":
            await self.client.chat_update(channel=origin.channel, ts=origin.ts, **to_message(view, users))
        elif origin.response_url:
            replace = reply.mode == ReplyMode.REPLACE and origin.surface == "ephemeral"
            kind = "in_channel" if reply.mode == ReplyMode.MESSAGE else "ephemeral"
            await AsyncWebhookClient(origin.response_url).send(response_type=kind, replace_original=replace, **to_message(view, users))
        elif origin.channel:
            await self.client.chat_postEphemeral(channel=origin.channel, user=origin.user, **to_message(view, users))
        else:
            await self.client.chat_postMessage(channel=origin.user, **to_message(view, users))
        self.runtime.deliver_soon()  # what the interaction queued, sent after it

    async def form_values(self, view: dict) -> dict[str, str]:
        """Read a submitted modal's inputs as the plain strings the handlers expect."""
        values: dict[str, str] = {}
        for block_id, actions in (view.get("state") or {}).get("values", {}).items():
            for state in actions.values():
                kind = state.get("type")
                if kind == "plain_text_input":
                    values[block_id] = state.get("value") or ""
                elif kind == "static_select":
                    values[block_id] = (state.get("selected_option") or {}).get("value", "")
                elif kind == "users_select":
                    user = state.get("selected_user")
                    values[block_id] = (await self.directory.person_for(user)).key if user else ""
                elif kind == "multi_users_select":
                    values[block_id] = ",".join([(await self.directory.person_for(u)).key for u in state.get("selected_users") or []])
                elif kind == "datepicker":
                    values[block_id] = state.get("selected_date") or ""
                elif kind == "checkboxes":
                    values[block_id] = "true" if state.get("selected_options") else ""
        return values


def slash_commands() -> tuple[str, ...]:
    """Return the slash commands the app answers: every command a feature declares."""
    return tuple(command.slash for command in router.COMMANDS)


def build_slack_app(runtime: Runtime, client: AsyncWebClient, directory: SlackDirectory, signing_secret: str | None) -> AsyncApp:
    """Return the Bolt app with every mlpulse listener registered."""
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=bool(signing_secret),
        raise_error_for_unhandled_request=False,
    )
    wiring = SlackWiring(runtime, client, directory)
    for command in slash_commands():
        app.command(command)(wiring.on_command)
    app.action(re.compile(".+"))(wiring.on_action)
    app.view(re.compile(".+"))(wiring.on_submit)
    app.shortcut(REPORT_SHORTCUT)(wiring.on_report_shortcut)
    app.event("app_home_opened")(wiring.on_home_opened)
    app.error(_on_error)
    # What the server checks each request's signature and age with, before Bolt parses its body.
    app.verifier = SignatureVerifier(signing_secret) if signing_secret else None  # type: ignore[attr-defined]
    return app


async def _on_error(error: Exception) -> None:
    """Log a listener's failure by its class and place only: Bolt's own log line would carry the request, which may name an anonymous reporter."""
    frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    log.error("a Slack listener failed: %s%s", error.__class__.__name__, f" at {frame.filename}:{frame.lineno}" if frame else "")
