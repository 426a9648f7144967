"""Handlers layer: one entry point for commands, button presses and form submissions.

Every platform calls these three functions: Slack with a slash command's text or an
`action_id`, Teams with a message's text or an `Action.Submit` payload, the shell
with what was typed. Unknown input gets help, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import checkins, forums, registry, reports, status, stories
from handlers.actions import ActionId, FormId
from handlers.commands import Command
from handlers.context import Context
from handlers.health import Answer
from handlers.text import unstorable
from handlers.views import Message, Reply, ReplyMode, checked, notice, retry

ActionHandler = Callable[[AsyncSession, Context, str], Awaitable[Reply]]


def _answer(answer: Answer) -> ActionHandler:
    async def handle(session: AsyncSession, ctx: Context, value: str) -> Reply:
        return await checkins.handle_answer(session, ctx, value, answer)

    return handle


async def _status_model(session: AsyncSession, ctx: Context, value: str) -> Reply:
    return await status.model_detail(session, ctx, int(value)) if value.isdigit() else notice("That model link is not valid.")


async def _status_unit(session: AsyncSession, ctx: Context, value: str) -> Reply:
    return await status.unit_page(session, ctx, int(value), 1) if value.isdigit() else notice("That unit link is not valid.")


async def _my_checkins(session: AsyncSession, ctx: Context, value: str) -> Reply:
    return await checkins.handle_my_checkins(session, ctx)


async def _share(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Run a status command again and post its answer for everyone in the conversation."""
    if not value.startswith("/mlstatus"):
        return notice("Only /mlstatus answers can be shared.")
    reply = await status.handle_status(session, ctx, value.removeprefix("/mlstatus"), shareable=False)
    return Reply(reply.view, ReplyMode.MESSAGE if reply.mode == ReplyMode.EPHEMERAL else reply.mode)


async def _away_form(session: AsyncSession, ctx: Context, value: str) -> Reply:
    return Reply(checkins.away_form(ctx.actor.away_until), ReplyMode.FORM)


ACTIONS: Mapping[ActionId, ActionHandler] = {
    **{action: _answer(answer) for action, answer in checkins.ANSWER_ACTIONS.items()},
    ActionId.CHECKIN_NOT_ME: checkins.handle_not_me,
    ActionId.CHECKIN_DETAILS: checkins.handle_details,
    ActionId.CHECKIN_CHANGE: checkins.handle_change,
    ActionId.CHECKIN_SNOOZE: checkins.handle_snooze,
    ActionId.STATUS_PAGE: status.handle_page,
    ActionId.STATUS_MODEL: _status_model,
    ActionId.STATUS_UNIT: _status_unit,
    ActionId.MODEL_RETIRE: registry.handle_retire_prompt,
    ActionId.MODEL_RETIRE_CONFIRM: registry.handle_retire,
    ActionId.MODEL_RESTORE: registry.handle_restore,
    ActionId.MY_CHECKINS: _my_checkins,
    ActionId.AWAY_SET: _away_form,
    ActionId.SHARE: _share,
    ActionId.REPORT_OPEN: reports.handle_open,
    ActionId.REPORT_VIEW: reports.handle_view,
    ActionId.REPORT_MOVE: reports.handle_move,
    ActionId.STORY_OPEN: stories.handle_open,
    ActionId.STORY_APPROVE: stories.handle_approve,
    ActionId.STORY_EDIT: stories.handle_edit,
    ActionId.STORY_DECLINE: stories.handle_decline,
    ActionId.STORY_FROM_CHECKIN: stories.handle_from_checkin,
    ActionId.FORUM_RSVP_GOING: forums.handle_going,
    ActionId.FORUM_RSVP_NOT_GOING: forums.handle_not_going,
    ActionId.FORUM_PROPOSE: forums.handle_propose,
    ActionId.FORUM_CANCEL: forums.handle_cancel_prompt,
    ActionId.FORUM_CANCEL_CONFIRM: forums.handle_cancel,
    ActionId.FORUM_STOP: forums.handle_stop,
    ActionId.FORUM_NOTES: forums.handle_notes,
    ActionId.ACTION_ITEM_DONE: forums.handle_item_done,
}

FORMS = {
    FormId.CHECKIN_FOLLOWUP: checkins.handle_followup_submit,
    FormId.CHECKIN_REASSIGN: checkins.handle_reassign_submit,
    FormId.AWAY: checkins.handle_away_submit,
    FormId.REPORT: reports.handle_report_submit,
    FormId.REPORT_UPDATE: reports.handle_update_submit,
    FormId.STORY: stories.handle_story_submit,
    FormId.STORY_DECLINE: stories.handle_decline_submit,
    FormId.FORUM_SCHEDULE: forums.handle_schedule_submit,
    FormId.FORUM_TOPIC: forums.handle_topic_submit,
    FormId.FORUM_NOTES: forums.handle_notes_submit,
}

# What a person may do without mlpulse recording who they are: everything on the way
# to an anonymous failure report. The platform wiring must not look up-and-store the
# person for these (Slack would otherwise remember a newcomer's name and email).
_ANONYMOUS_COMMANDS = ("mlreport",)
_ANONYMOUS_ACTIONS = (ActionId.REPORT_OPEN,)


def identity_optional(*, command: str | None = None, action: str | None = None, form: str | None = None, values: Mapping[str, str] | None = None) -> bool:
    """Tell whether this request may run without recording who sent it."""
    if command is not None:
        words = command.split(maxsplit=1)
        return bool(words) and words[0].lstrip("/").lower() in _ANONYMOUS_COMMANDS
    if action is not None:
        return action in _ANONYMOUS_ACTIONS
    return form == FormId.REPORT and checked((values or {}).get("anonymous"))


UNREADABLE = "That contains a character mlpulse cannot read (a NUL character or a broken emoji). Nothing was done; please remove it and try again."


def help_view() -> Message:
    """Return the list of everything a person can ask mlpulse."""
    lines = [f"{typed} — {what}" for command in COMMANDS for typed, what in command.help]
    return Message("mlpulse: what I can do", "\n".join(lines) + "\n\nCheck-ins arrive as direct messages; answer them with their buttons.")


async def handle_command(session: AsyncSession, ctx: Context, text: str) -> Reply:
    """Answer a command such as '/mlstatus churn' or 'mlpulse away until 2026-12-24'."""
    if unstorable(text):
        return notice(UNREADABLE)
    words = text.strip().split(maxsplit=1)
    if not words:
        return Reply(help_view())
    name, args = words[0].lstrip("/").lower(), (words[1] if len(words) > 1 else "")
    if (command := BY_NAME.get(name)) is not None:
        return await command.run(session, ctx, args)
    return Reply(Message("I don't know that command", f"“{words[0]}” is not an mlpulse command. Here is what I can do:\n\n{help_view().text}"))


async def _mlpulse(session: AsyncSession, ctx: Context, args: str) -> Reply:
    words = args.lower().split()
    if not words or words[0] == "help":
        return Reply(help_view())
    if words[0] in ("checkins", "check-ins"):
        return await checkins.handle_my_checkins(session, ctx)
    if words[0] == "models":
        return await registry.handle_model_list(session, ctx)
    if words[0] == "away":
        rest = [w for w in words[1:] if w != "until"]
        if not rest:
            return Reply(checkins.away_form(ctx.actor.away_until), ReplyMode.FORM)
        if rest[0] in ("off", "back", "none"):
            return await checkins.handle_set_away(session, ctx, None)
        if len(rest) == 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", rest[0]):
            try:
                return await checkins.handle_set_away(session, ctx, date.fromisoformat(rest[0]))
            except ValueError:
                pass
        return notice(f"“{' '.join(words[1:])}” is not a date I understand. Use /mlpulse away until YYYY-MM-DD, e.g. /mlpulse away until 2026-12-24.")
    return Reply(Message("I don't know that command", f"“/mlpulse {args}” is not something I can do. Here is what I can do:\n\n{help_view().text}"))


MLPULSE = Command(
    "mlpulse",
    _mlpulse,
    description="Your check-ins, away dates, the model list, help",
    usage_hint="[checkins | away until YYYY-MM-DD | away off | models | help]",
    help=(
        ("/mlpulse checkins", "your check-ins waiting for an answer"),
        ("/mlpulse away until YYYY-MM-DD", "skip check-ins while you are away; /mlpulse away off when back"),
        ("/mlpulse models", "every model you can see, with its key"),
        ("/mlpulse help", "this list"),
    ),
    # On Teams, anything that is not another command's word is for /mlpulse ("checkins", "away off").
    suggestions=(
        ("checkins", "Your check-ins waiting for an answer"),
        ("away", "Skip check-ins while you are away (away until 2026-12-24, away off)"),
        ("models", "Every model you can see, with its key"),
        ("help", "Everything mlpulse can do"),
    ),
)
# Every command, in the order help lists them. A feature declares its own (its `COMMAND`); this composes them.
COMMANDS: tuple[Command, ...] = (status.COMMAND, reports.COMMAND, stories.COMMAND, forums.COMMAND, MLPULSE)
BY_NAME = {command.name: command for command in COMMANDS}


async def handle_action(session: AsyncSession, ctx: Context, action: str, value: str) -> Reply:
    """Run the handler of a pressed button."""
    if unstorable(value):
        return notice(UNREADABLE)
    try:
        handler = ACTIONS[ActionId(action)]
    except (ValueError, KeyError):
        return notice("That button is from an older version of mlpulse and no longer works. Run the command again.")
    return await handler(session, ctx, value)


async def handle_submit(session: AsyncSession, ctx: Context, form: str, state: str, values: dict[str, str]) -> Reply:
    """Run the handler of a submitted form; a value no database could store sends the form back, kept as it was typed."""
    try:
        handler = FORMS[FormId(form)]
    except (ValueError, KeyError):
        return notice("That form is from an older version of mlpulse and can no longer be submitted.")
    if unstorable(state):
        return retry(UNREADABLE)
    for name, value in values.items():
        if unstorable(value):
            return retry("This contains a character that cannot be saved (a NUL character or a broken emoji). Remove it and submit again.", input=name)
    return await handler(session, ctx, state, values)
