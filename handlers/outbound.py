"""Handlers layer: what each outbox message says when its time comes.

A message is rendered when it is sent, not when it is queued, so it shows the state
of things at that moment; a reminder for a check-in answered meanwhile is dropped.
A live message that went stale (its subject changed, see `handlers.live`) is
rendered again the same way, to be rewritten in place: then it always has a view,
showing the subject as it is now, with only the buttons that still apply.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import digest, forums, reports, stories
from handlers.actions import ActionId
from handlers.checkins import ANSWER_LABELS, render_checkin
from handlers.context import Policy
from handlers.health import Answer
from handlers.views import Button, Field, Message, Section, Style
from storage import checkins as checkin_store
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage.models import Delivery, MessageKind, OutboundMessage, Subject

# The messages that ask a check-in's question (the others tell its owner of an answer).
QUESTIONS = (MessageKind.CHECKIN_ASK, MessageKind.CHECKIN_REMINDER, MessageKind.CHECKIN_SNOOZED)
CHECKIN_NOTES = {
    MessageKind.CHECKIN_REMINDER: "Reminder {sent} of {most}.",
    MessageKind.CHECKIN_SNOOZED: "As you asked, here it is again.",
}


async def handle_outbound(session: AsyncSession, message: OutboundMessage, policy: Policy, now) -> Message | None:
    """Return the view of an outbox message, or None when it no longer needs sending (or, if stale, rewriting)."""
    kind, update = message.kind, message.status == Delivery.STALE
    recipient = await people_store.get_person(session=session, person_id=message.person_id) if message.person_id else None
    match kind.subject:
        case Subject.CHECKIN:
            return await _checkin(session, kind, message.subject_id, policy, now, update)
        case Subject.REPORT | Subject.REPORT_EVENT:
            return await reports.render_outbound(session, kind, message.subject_id, recipient, policy, update=update)
        case Subject.DIGEST:
            return await digest.render_outbound(session, message.subject_id, policy)
        case Subject.FORUM_SESSION | Subject.ACTION_ITEM:
            return await forums.render_outbound(session, kind, message.subject_id, recipient, policy, now, update=update)
        case Subject.STORY:
            return await stories.render_outbound(session, kind, message.subject_id, update=update)
        case Subject.MODEL:
            return await _deprecation(session, message.subject_id, update)
    raise ValueError(f"no view for outbound message kind {kind!r}")


async def _checkin(session: AsyncSession, kind: MessageKind, checkin_id: int, policy: Policy, now, update: bool) -> Message | None:
    checkin = await checkin_store.get_checkin(session=session, checkin_id=checkin_id)
    if checkin is None:
        return None
    if kind in QUESTIONS:
        if update:  # the question as it stands now, wherever it was asked
            return await render_checkin(session, checkin, policy, now)
        if checkin.status != "open":
            return None
        note = CHECKIN_NOTES.get(kind, "").format(sent=checkin.reminders_sent, most=policy.max_reminders)
        return await render_checkin(session, checkin, policy, now, note=note)
    model = await portfolio_store.get_model(session=session, model_id=checkin.model_id)
    person = await people_store.get_person(session=session, person_id=checkin.person_id)
    unit = await people_store.get_unit(session=session, unit_id=model.unit_id)
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
    target = await people_store.get_person(session=session, person_id=checkin.reassigned_to_id) if checkin.reassigned_to_id else None
    handed = f"handed the check-in about {model.name} to {target.display_name}" if target else f"said the check-in about {model.name} is not for them"
    return Message(title=f"{model.name}: check-in handed over", text=f"{person.display_name} ({unit.name}) {handed}.", buttons=(view_model,))


async def _deprecation(session: AsyncSession, model_id: int, update: bool) -> Message | None:
    """Ask a lead whether to retire a model that looks unused; once that is settled, say how."""
    model = await portfolio_store.get_model(session=session, model_id=model_id)
    if model is None:
        return None
    title = f"Retire {model.name}?"
    if model.status != "active":
        return Message(title, f"{model.name} is retired. /mlstatus {model.name} shows its history.") if update else None
    if model.deprecation_candidate_since is None:
        return Message(title, f"{model.name} is active and no longer looks unused, so there is nothing to decide.") if update else None
    return Message(
        title,
        f"{model.name} looks like it is no longer used: {model.deprecation_reason}.",
        buttons=(
            Button(ActionId.MODEL_RETIRE, "Retire it…", str(model.id), Style.DANGER),
            Button(ActionId.STATUS_MODEL, "View model", str(model.id)),
        ),
    )
