"""Handlers layer: check-ins, from the question to the answer and its follow-ups.

A check-in asks one stakeholder whether their team still uses one model. It is
answered with a button; the answer can be changed until its period ends, and every
answer is kept as history. Late answers to an expired check-in are welcome. A
"problems" or "stopped" answer tells the model's owner at once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import live
from handlers.actions import ActionId, FormId
from handlers.context import Context, Outgoing, Policy
from handlers.health import Answer, refresh_model_health
from handlers.periods import Cadence, local_instant, next_due_after, next_workday, zone
from handlers.pickers import picked_person
from handlers.text import day, plural, quoted, too_long, when
from handlers.views import (
    Button,
    Choice,
    Field,
    Form,
    Input,
    InputKind,
    Message,
    Reply,
    ReplyMode,
    Section,
    Style,
    checked,
    form_errors,
    notice,
    unclear_yes_no,
)
from storage import checkins as checkin_store
from storage import delivery as delivery_store
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage.models import CheckIn, CheckInAnswer, MessageKind, MLModel, Person, Subject

ANSWER_LABELS = {
    Answer.WORKS: "Yes, works well",
    Answer.PROBLEMS: "Yes, but with problems",
    Answer.STOPPED: "No, we stopped",
    Answer.NOT_ME: "Not me / not sure",
}
ANSWER_ACTIONS = {
    ActionId.CHECKIN_WORKS: Answer.WORKS,
    ActionId.CHECKIN_PROBLEMS: Answer.PROBLEMS,
    ActionId.CHECKIN_STOPPED: Answer.STOPPED,
}
SATISFACTION = (
    Choice("1", "1 · very unhappy"),
    Choice("2", "2 · unhappy"),
    Choice("3", "3 · it's fine"),
    Choice("4", "4 · happy"),
    Choice("5", "5 · delighted"),
)
TEXT_LIMIT = 3000
ALERT_ANSWERS = (Answer.PROBLEMS, Answer.STOPPED)
REASSIGNABLE = ("open", "expired", "answered")


def model_cadence(model: MLModel, policy: Policy) -> Cadence:
    """Return the cadence a model's check-ins follow: its own, or the workspace default."""
    return Cadence.from_json(model.cadence) if model.cadence else policy.default_cadence


def person_zone(person: Person, policy: Policy) -> ZoneInfo:
    """Return the time zone a person lives in, falling back to the workspace's."""
    try:
        return zone(person.timezone)
    except ValueError:
        return zone(policy.timezone)


# The answer buttons that *Change answer* shows carry this: only they may replace an answer.
CHANGING = ":change"


def answer_buttons(checkin_id: int, *, snooze: bool, changing: bool = False) -> tuple[Button, ...]:
    """Return the answer buttons of a check-in (those that change a recorded answer when `changing`)."""
    value = f"{checkin_id}{CHANGING}" if changing else str(checkin_id)
    buttons = (
        Button(ActionId.CHECKIN_WORKS, ANSWER_LABELS[Answer.WORKS], value, Style.PRIMARY),
        Button(ActionId.CHECKIN_PROBLEMS, ANSWER_LABELS[Answer.PROBLEMS], value),
        Button(ActionId.CHECKIN_STOPPED, ANSWER_LABELS[Answer.STOPPED], value, Style.DANGER),
        Button(ActionId.CHECKIN_NOT_ME, ANSWER_LABELS[Answer.NOT_ME], value),
    )
    report = Button(ActionId.REPORT_OPEN, "Report a problem", f"checkin:{checkin_id}")
    return buttons + ((Button(ActionId.CHECKIN_SNOOZE, "Remind me tomorrow", value),) if snooze else ()) + (report,)


def recorded_answer(checkin: CheckIn) -> Answer:
    """Return the answer of a check-in that has one (answered, or being given details)."""
    assert checkin.answer is not None, "only an answered check-in is shown or edited as answered"
    return Answer(checkin.answer)


def checkin_view(
    checkin: CheckIn, model: MLModel, recipient: Person, tz: ZoneInfo, now: datetime, note: str = "", reassigned_to: Person | None = None
) -> Message:
    """Return the message that shows a check-in in its current state."""
    title = f"Check-in: {model.name}"
    details = tuple(
        f
        for f in (
            Field("What changed in your business", checkin.business_change) if checkin.business_change else None,
            Field("Satisfaction", f"{checkin.satisfaction} of 5") if checkin.satisfaction else None,
            Field("Comment", checkin.comment) if checkin.comment else None,
        )
        if f
    )
    period = f"Period of {day(date.fromisoformat(checkin.period_key))}"
    if checkin.status in ("open", "answered") and now < checkin.period_ends_at:
        footer = f"{period} · answers can change until {when(checkin.period_ends_at, tz)}"
    else:
        footer = f"{period} · closed {when(checkin.closed_at or checkin.period_ends_at, tz)}"
    lead = f"{note}\n" if note else ""
    cid = str(checkin.id)
    if checkin.status == "open":
        text = f"{lead}Hi {recipient.display_name.split()[0]}, is your team still using {model.name}?"
        if model.description:
            text += f"\n{model.description}"
        if checkin.snoozed_until:
            text += f"\nSnoozed: I'll ask again {when(checkin.snoozed_until, tz)}."
        return Message(title, text, buttons=answer_buttons(checkin.id, snooze=checkin.snoozed_until is None), footer=footer)
    if checkin.status == "answered":
        text = f"{lead}✅ Recorded: {ANSWER_LABELS[recorded_answer(checkin)]}, by {recipient.display_name}, {when(checkin.answered_at, tz)}."
        buttons = [Button(ActionId.CHECKIN_DETAILS, "Edit details" if details else "Add details", cid)]
        report = Button(ActionId.REPORT_OPEN, "Report a problem", f"checkin:{cid}")
        if checkin.answer in ALERT_ANSWERS:
            text += "\nThe model's owner has been told. Tell the ML team what went wrong in a failure report (anonymously if you wish):"
            buttons.insert(0, replace(report, label="Report the problem", style=Style.PRIMARY))
        else:
            buttons.append(report)
        if now < checkin.period_ends_at:
            buttons.append(Button(ActionId.CHECKIN_CHANGE, "Change answer", cid))
        return Message(title, text, sections=(Section(fields=details),) if details else (), buttons=tuple(buttons), footer=footer)
    if checkin.status == "expired":
        text = f"{lead}This check-in about {model.name} expired without an answer. A late answer is still welcome:"
        return Message(title, text, buttons=answer_buttons(checkin.id, snooze=False), footer=footer)
    if checkin.status == "reassigned":
        if reassigned_to is None:
            return Message(title, f"{lead}Noted: this one is not for you, and {model.name}'s owner has been told.", footer=footer)
        return Message(title, f"{lead}Handed over to {reassigned_to.display_name}. Thanks for pointing us the right way.", footer=footer)
    if checkin.status == "skipped":
        return Message(title, f"{lead}You were away, so this check-in was skipped; no answer is needed.", footer=footer)
    return Message(title, f"{lead}This check-in is closed ({checkin.status}); no answer is needed.", footer=footer)


async def render_checkin(session: AsyncSession, checkin: CheckIn, policy: Policy, now: datetime, note: str = "") -> Message:
    """Load what a check-in's view needs and return the view."""
    model = await portfolio_store.must_get_model(session=session, model_id=checkin.model_id)
    recipient = await people_store.must_get_person(session=session, person_id=checkin.person_id)
    target = None
    if checkin.reassigned_to_id:
        target = await people_store.must_get_person(session=session, person_id=checkin.reassigned_to_id)
    return checkin_view(checkin, model, recipient, person_zone(recipient, policy), now, note, target)


async def _own_checkin(session: AsyncSession, ctx: Context, value: str) -> CheckIn | Reply:
    """Load the check-in a button names, or explain why the actor cannot act on it."""
    checkin_id = value.removesuffix(CHANGING)
    checkin = await checkin_store.get_checkin(session=session, checkin_id=int(checkin_id), lock=True) if checkin_id.isdigit() else None
    if checkin is None:
        return notice("That check-in no longer exists.")
    if checkin.person_id != ctx.actor.id:
        owner = await people_store.must_get_person(session=session, person_id=checkin.person_id)
        return notice(f"This check-in was sent to {owner.display_name}; only they can answer it.")
    return checkin


async def _own_checkin_and_model(session: AsyncSession, ctx: Context, value: str) -> tuple[CheckIn, MLModel] | Reply:
    """Like `_own_checkin`, with the check-in's model."""
    checkin = await _own_checkin(session, ctx, value)
    if isinstance(checkin, Reply):
        return checkin
    return checkin, await portfolio_store.must_get_model(session=session, model_id=checkin.model_id)


async def handle_answer(session: AsyncSession, ctx: Context, value: str, answer: Answer) -> Reply:
    """Record (or change) the answer to a check-in and return its updated view."""
    checkin = await _own_checkin(session, ctx, value)
    if isinstance(checkin, Reply):
        return checkin
    if checkin.status not in ("open", "answered", "expired"):
        return Reply(await render_checkin(session, checkin, ctx.policy, ctx.now), ReplyMode.REPLACE)
    if checkin.answer == answer:
        # A double click or a platform retry: the answer is already what was asked.
        return Reply(await render_checkin(session, checkin, ctx.policy, ctx.now), ReplyMode.REPLACE)
    if checkin.status == "answered" and not value.endswith(CHANGING):
        # An answer button on an older copy of the question: the answer is only ever changed on purpose.
        recorded = ANSWER_LABELS[recorded_answer(checkin)]
        note = f"You already answered “{recorded}”, so “{ANSWER_LABELS[answer]}” was not recorded. Press Change answer to change it."
        return Reply(await render_checkin(session, checkin, ctx.policy, ctx.now, note=note), ReplyMode.REPLACE)
    if checkin.status == "answered" and ctx.now >= checkin.period_ends_at:
        view = await render_checkin(session, checkin, ctx.policy, ctx.now, note="This period is over, so the answer can no longer be changed.")
        return Reply(view, ReplyMode.REPLACE)
    previous = checkin.answer
    new = await checkin_store.create_answer(
        session=session,
        answer=CheckInAnswer(
            checkin_id=checkin.id,
            answer=answer,
            business_change=checkin.business_change,
            satisfaction=checkin.satisfaction,
            comment=checkin.comment,
            answered_by_id=ctx.actor.id,
            answered_at=ctx.now,
            late=checkin.status == "expired" or ctx.now >= checkin.period_ends_at,
            idempotency_key=ctx.request_id,
        ),
    )
    if not new:
        return Reply(await render_checkin(session, checkin, ctx.policy, ctx.now), ReplyMode.REPLACE)
    checkin.answer, checkin.answered_at, checkin.status = answer, ctx.now, "answered"
    checkin.snoozed_until = None
    # Its messages offer *Change answer* until the period ends; the tick takes it away then.
    checkin.next_action_at = checkin.period_ends_at if ctx.now < checkin.period_ends_at else None
    checkin.closed_at = checkin.closed_at or ctx.now
    session.add(checkin)
    await live.changed(session, Subject.CHECKIN, checkin.id, ctx.now, replacing=ctx)
    model = await portfolio_store.must_get_model(session=session, model_id=checkin.model_id)
    await refresh_model_health(session, model, ctx.now)
    if answer in ALERT_ANSWERS and previous not in ALERT_ANSWERS:
        await delivery_store.create_message(
            session=session,
            key=f"checkin:{checkin.id}:owner_alert:{answer}",
            kind=MessageKind.CHECKIN_OWNER_ALERT,
            subject_id=checkin.id,
            person_id=model.owner_id,
            not_before=ctx.now,
        )
    return Reply(await render_checkin(session, checkin, ctx.policy, ctx.now), ReplyMode.REPLACE)


async def handle_change(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Show a check-in's answer buttons again so that the answer can be changed."""
    checkin = await _own_checkin(session, ctx, value)
    if isinstance(checkin, Reply):
        return checkin
    view = await render_checkin(session, checkin, ctx.policy, ctx.now)
    if checkin.status != "answered" or ctx.now >= checkin.period_ends_at:
        return Reply(view, ReplyMode.REPLACE)
    label = ANSWER_LABELS[recorded_answer(checkin)]
    text = f"You answered: {label}. Pick the answer that is true now; the earlier one stays in the history."
    return Reply(Message(view.title, text, buttons=answer_buttons(checkin.id, snooze=False, changing=True), footer=view.footer), ReplyMode.REPLACE)


def followup_form(checkin: CheckIn, model: MLModel) -> Form:
    """Return the optional follow-up questions of a check-in, prefilled with earlier answers."""
    return Form(
        form=FormId.CHECKIN_FOLLOWUP,
        title="A little more detail",
        intro=f"About {model.name}. Everything here is optional.",
        state=str(checkin.id),
        submit_label="Save",
        inputs=(
            Input(
                "business_change",
                "Has anything changed in your business that could affect it (new product, process, season)?",
                InputKind.LONG_TEXT,
                required=False,
                initial=checkin.business_change,
                max_length=TEXT_LIMIT,
            ),
            Input(
                "satisfaction",
                "How satisfied are you with it, from 1 to 5?",
                InputKind.CHOICE,
                required=False,
                choices=SATISFACTION,
                initial=str(checkin.satisfaction) if checkin.satisfaction else None,
            ),
            Input("comment", "Anything else the ML team should know?", InputKind.LONG_TEXT, required=False, initial=checkin.comment, max_length=TEXT_LIMIT),
        ),
    )


async def handle_details(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Open the follow-up questions of an answered check-in."""
    found = await _own_checkin_and_model(session, ctx, value)
    if isinstance(found, Reply):
        return found
    checkin, model = found
    if checkin.status != "answered":
        return notice("Answer the check-in first; then you can add details.")
    return Reply(followup_form(checkin, model), ReplyMode.FORM)


async def handle_followup_submit(session: AsyncSession, ctx: Context, state: str, values: dict[str, str]) -> Reply:
    """Save the follow-up answers of a check-in, or return the form with what is wrong."""
    found = await _own_checkin_and_model(session, ctx, state)
    if isinstance(found, Reply):
        return found
    checkin, model = found
    form = followup_form(checkin, model)
    if checkin.status != "answered":
        return notice("This check-in has no answer to add details to.")
    change = (values.get("business_change") or "").strip() or None
    comment = (values.get("comment") or "").strip() or None
    rating = (values.get("satisfaction") or "").strip()
    errors = {}
    for name, text in (("business_change", change), ("comment", comment)):
        if error := too_long(text, TEXT_LIMIT):
            errors[name] = error
    if rating and rating not in {c.value for c in SATISFACTION}:
        errors["satisfaction"] = "Choose a number from 1 to 5."
    if errors:
        return form_errors(form, errors, values)
    satisfaction = int(rating) if rating else None
    if (change, satisfaction, comment) != (checkin.business_change, checkin.satisfaction, checkin.comment):
        checkin.business_change, checkin.satisfaction, checkin.comment = change, satisfaction, comment
        session.add(checkin)
        await live.changed(session, Subject.CHECKIN, checkin.id, ctx.now, replacing=ctx)
        session.add(
            CheckInAnswer(
                checkin_id=checkin.id,
                answer=recorded_answer(checkin),
                business_change=change,
                satisfaction=satisfaction,
                comment=comment,
                answered_by_id=ctx.actor.id,
                answered_at=ctx.now,
                late=ctx.now >= checkin.period_ends_at,
            )
        )
        await refresh_model_health(session, model, ctx.now)
    return Reply(await render_checkin(session, checkin, ctx.policy, ctx.now, note="Thanks, noted."), ReplyMode.REPLACE)


async def handle_snooze(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Put a check-in off until tomorrow at its usual time."""
    found = await _own_checkin_and_model(session, ctx, value)
    if isinstance(found, Reply):
        return found
    checkin, model = found
    if checkin.status != "open":
        return Reply(await render_checkin(session, checkin, ctx.policy, ctx.now), ReplyMode.REPLACE)
    tz = person_zone(ctx.actor, ctx.policy)
    # "Tomorrow" on a Friday is Monday: reminders reach people on their workdays.
    until = local_instant(next_workday(ctx.now.astimezone(tz).date() + timedelta(days=1)), model_cadence(model, ctx.policy).at, tz)
    if until >= checkin.period_ends_at:
        return notice(f"This check-in's period ends {when(checkin.period_ends_at, tz)}, before tomorrow's reminder could come. Could you answer now?")
    checkin.snoozed_until = checkin.next_action_at = until
    checkin.snoozes += 1
    session.add(checkin)
    await live.changed(session, Subject.CHECKIN, checkin.id, ctx.now, replacing=ctx)
    return Reply(await render_checkin(session, checkin, ctx.policy, ctx.now), ReplyMode.REPLACE)


def reassign_form(checkin: CheckIn, model: MLModel) -> Form:
    """Return the form that hands a check-in to someone else."""
    return Form(
        form=FormId.CHECKIN_REASSIGN,
        title="Who should we ask?",
        intro=f"If you are not the right person to ask about {model.name}, tell us who is.",
        state=str(checkin.id),
        submit_label="Hand over",
        inputs=(
            Input("person", "Who should answer instead? (name, email or username)", InputKind.PERSON, required=False),
            Input("stop", "Stop asking me about this model", InputKind.CHECKBOX, required=False),
            Input("reason", "Anything we should know?", InputKind.LONG_TEXT, required=False, max_length=TEXT_LIMIT),
        ),
    )


async def handle_not_me(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Open the form that hands a check-in to someone else."""
    found = await _own_checkin_and_model(session, ctx, value)
    if isinstance(found, Reply):
        return found
    checkin, model = found
    if checkin.status not in REASSIGNABLE:
        return Reply(await render_checkin(session, checkin, ctx.policy, ctx.now), ReplyMode.REPLACE)
    return Reply(reassign_form(checkin, model), ReplyMode.FORM)


async def handle_reassign_submit(session: AsyncSession, ctx: Context, state: str, values: dict[str, str]) -> Reply:
    """Hand a check-in to another person (or just say it is not for me) and tell the owner."""
    found = await _own_checkin_and_model(session, ctx, state)
    if isinstance(found, Reply):
        return found
    checkin, model = found
    form = reassign_form(checkin, model)
    if checkin.status not in REASSIGNABLE:
        return Reply(await render_checkin(session, checkin, ctx.policy, ctx.now), ReplyMode.REPLACE)
    who = (values.get("person") or "").strip()
    stop = checked(values.get("stop"))
    reason = (values.get("reason") or "").strip() or None
    errors = unclear_yes_no(values, "stop")
    target = None
    if who:
        target, error = await picked_person(session, who)
        if target is not None and target.id == ctx.actor.id:
            target, error = None, "That is you. Name someone else, or leave this empty."
        if error:
            errors["person"] = error
    if error := too_long(reason, TEXT_LIMIT):
        errors["reason"] = error
    if not target and not stop and not errors:
        errors["person"] = "Name who should answer, or tick 'Stop asking me'."
    if errors:
        return form_errors(form, errors, values)

    session.add(CheckInAnswer(checkin_id=checkin.id, answer=Answer.NOT_ME, comment=reason, answered_by_id=ctx.actor.id, answered_at=ctx.now))
    checkin.status, checkin.answer, checkin.answered_at = "reassigned", Answer.NOT_ME, ctx.now
    checkin.next_action_at = checkin.snoozed_until = None
    checkin.closed_at, checkin.reassigned_to_id = ctx.now, target.id if target else None
    session.add(checkin)
    await live.changed(session, Subject.CHECKIN, checkin.id, ctx.now, replacing=ctx)
    note = ""
    if target:
        row = checkin_store.checkin_values(
            model_id=checkin.model_id,
            person_id=target.id,
            period_key=checkin.period_key,
            due_at=ctx.now,
            period_ends_at=checkin.period_ends_at,
            now=ctx.now,
            next_action_at=min(ctx.now + ctx.policy.reminder_after, checkin.period_ends_at),
            reassigned_from_id=checkin.id,
        )
        if created := await checkin_store.create_checkins(session=session, rows=[row]):
            await delivery_store.create_messages(session=session, rows=[ask_row(created[0][0], target.id, ctx.now)])
        else:
            note = f"{target.display_name} already has this period's check-in."
    if stop:
        # Recorded as choices, so that the next app.yaml sync (at every start) keeps them.
        await portfolio_store.delete_stakeholder(session=session, model_id=model.id, person_id=ctx.actor.id)
        await portfolio_store.update_stakeholder_choice(session=session, model_id=model.id, person_id=ctx.actor.id, asked=False, by_id=ctx.actor.id, at=ctx.now)
        if target:
            await add_stakeholder(session, model, target, ctx.policy, ctx.now)
            await portfolio_store.update_stakeholder_choice(session=session, model_id=model.id, person_id=target.id, asked=True, by_id=ctx.actor.id, at=ctx.now)
        note = (note + " " if note else "") + "You won't be asked about this model again."
    await delivery_store.create_message(
        session=session,
        key=f"checkin:{checkin.id}:reassigned",
        kind=MessageKind.CHECKIN_REASSIGNED,
        subject_id=checkin.id,
        person_id=model.owner_id,
        not_before=ctx.now,
    )
    await refresh_model_health(session, model, ctx.now)
    return Reply(await render_checkin(session, checkin, ctx.policy, ctx.now, note=note), ReplyMode.REPLACE)


async def add_stakeholder(session: AsyncSession, model: MLModel, person: Person, policy: Policy, now: datetime) -> None:
    """Make a person a stakeholder of a model, with their first check-in at the next due time."""
    due = next_due_after(model_cadence(model, policy), now, person_zone(person, policy))
    await portfolio_store.create_stakeholder(session=session, model_id=model.id, person_id=person.id, next_due_at=due)


def ask_row(checkin_id: int, person_id: int, now: datetime) -> dict[str, Any]:
    """Return the outbox row that asks a check-in's question."""
    return dict(key=f"checkin:{checkin_id}:ask", kind=MessageKind.CHECKIN_ASK, subject_id=checkin_id, person_id=person_id, not_before=now)


async def handle_my_checkins(session: AsyncSession, ctx: Context) -> Reply:
    """List the actor's open check-ins, each with its answer buttons."""
    return Reply(await my_checkins_view(session, ctx), ReplyMode.EPHEMERAL)


async def my_checkins_view(session: AsyncSession, ctx: Context) -> Message:
    """Return the actor's open check-ins, each with its answer buttons, and whether they are away."""
    pending = await checkin_store.list_pending_checkins(session=session, person_id=ctx.actor.id)
    tz = person_zone(ctx.actor, ctx.policy)
    away = ""
    if ctx.actor.away_until and ctx.actor.away_until >= ctx.now.astimezone(tz).date():
        away = f"You are away until {day(ctx.actor.away_until)}; new check-ins are skipped and reminders wait until then."
    if not pending:
        return Message(
            "Your check-ins",
            "\n".join(t for t in ("Nothing is waiting for you. Thank you!", away) if t),
            buttons=(Button(ActionId.AWAY_SET, "Set away dates"),),
        )
    sections = tuple(
        Section(
            text=f"Is your team still using {model.name}? (asked {when(checkin.due_at, tz, yours=True)})",
            buttons=answer_buttons(checkin.id, snooze=checkin.snoozed_until is None),
        )
        for checkin, model in pending
    )
    intro = f"{plural(len(pending), 'check-in')} waiting for your answer."
    return Message("Your check-ins", "\n".join(t for t in (intro, away) if t), sections=sections, buttons=(Button(ActionId.AWAY_SET, "Set away dates"),))


def away_form(current: date | None) -> Form:
    """Return the form that sets or clears the actor's away dates."""
    return Form(
        form=FormId.AWAY,
        title="Away",
        intro="Check-ins that fall due while you are away are skipped, not piled up, and reminders wait for your return.",
        submit_label="Save",
        inputs=(
            Input(
                "until",
                "Away until (YYYY-MM-DD); leave empty if you are back",
                InputKind.DATE,
                required=False,
                initial=current.isoformat() if current else None,
            ),
        ),
    )


async def handle_away_submit(session: AsyncSession, ctx: Context, state: str, values: dict[str, str]) -> Reply:
    """Set the actor away until a date, or back if the date is empty."""
    raw = (values.get("until") or "").strip()
    if not raw:
        return await handle_set_away(session, ctx, None)
    try:
        until = date.fromisoformat(raw)
    except ValueError:
        return form_errors(away_form(ctx.actor.away_until), {"until": f"{quoted(raw)} is not a date; use YYYY-MM-DD, e.g. 2026-12-24."}, values)
    if until < ctx.now.astimezone(person_zone(ctx.actor, ctx.policy)).date():
        return form_errors(away_form(ctx.actor.away_until), {"until": "That date is in the past."}, values)
    return await handle_set_away(session, ctx, until)


async def handle_set_away(session: AsyncSession, ctx: Context, until: date | None) -> Reply:
    """Mark the actor away until `until` (inclusive), or back when None."""
    person = await people_store.must_get_person(session=session, person_id=ctx.actor.id)
    today = ctx.now.astimezone(person_zone(person, ctx.policy)).date()
    if until is not None and until < today:
        return notice(f"{day(until)} is in the past. Give a date from today on, e.g. /mlpulse away until {today + timedelta(days=7)}.")
    person.away_until = until
    session.add(person)
    if until is None:
        return notice("Welcome back! Check-ins will reach you again.")
    return notice(
        f"You are away until {day(until)}. Check-ins that fall due until then are skipped, and reminders wait for your return. Use /mlpulse away off when you are back early."
    )


# ---- what the outbox sends -------------------------------------------------------

OUTBOUND = (MessageKind.CHECKIN_ASK, MessageKind.CHECKIN_REMINDER, MessageKind.CHECKIN_SNOOZED, MessageKind.CHECKIN_OWNER_ALERT, MessageKind.CHECKIN_REASSIGNED)
# The messages that ask a check-in's question (the others tell its owner of an answer).
QUESTIONS = (MessageKind.CHECKIN_ASK, MessageKind.CHECKIN_REMINDER, MessageKind.CHECKIN_SNOOZED)
CHECKIN_NOTES = {
    MessageKind.CHECKIN_REMINDER: "Reminder {sent} of {most}.",
    MessageKind.CHECKIN_SNOOZED: "As you asked, here it is again.",
}


async def render_outbound(session: AsyncSession, out: Outgoing) -> Message | None:
    """Return a check-in's question (or a reminder of it) as it stands, or its owner's alert; None when it is moot."""
    kind, policy, now, update = out.kind, out.policy, out.now, out.update
    checkin = await checkin_store.get_checkin(session=session, checkin_id=out.subject_id)
    if checkin is None:
        return None
    if kind in QUESTIONS:
        if update:  # the question as it stands now, wherever it was asked
            return await render_checkin(session, checkin, policy, now)
        if checkin.status != "open":
            return None
        note = CHECKIN_NOTES.get(kind, "").format(sent=checkin.reminders_sent, most=policy.max_reminders)
        return await render_checkin(session, checkin, policy, now, note=note)
    model = await portfolio_store.must_get_model(session=session, model_id=checkin.model_id)
    person = await people_store.must_get_person(session=session, person_id=checkin.person_id)
    unit = await people_store.must_get_unit(session=session, unit_id=model.unit_id)
    view_model = Button(ActionId.STATUS_MODEL, "View model", str(model.id))
    if kind == MessageKind.CHECKIN_OWNER_ALERT:
        fields = tuple(
            Field(label, value) for label, value in (("What changed in their business", checkin.business_change), ("Comment", checkin.comment)) if value
        )
        return Message(
            title=f"{model.name}: {ANSWER_LABELS[Answer(checkin.answer)]}" if checkin.answer else model.name,
            text=f"{person.display_name} ({unit.name}) answered this period's check-in: {ANSWER_LABELS[Answer(checkin.answer)]}."
            if checkin.answer
            else f"{person.display_name} ({unit.name}) changed their answer.",
            sections=(Section(fields=fields),) if fields else (),
            buttons=(view_model,),
        )
    target = await people_store.must_get_person(session=session, person_id=checkin.reassigned_to_id) if checkin.reassigned_to_id else None
    handed = f"handed the check-in about {model.name} to {target.display_name}" if target else f"said the check-in about {model.name} is not for them"
    return Message(title=f"{model.name}: check-in handed over", text=f"{person.display_name} ({unit.name}) {handed}.", buttons=(view_model,))
