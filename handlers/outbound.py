"""Handlers layer: what each queued outbox message says when its time comes.

A message is rendered when it is sent, not when it is queued, so it shows the state
of things at that moment; a reminder for a check-in answered meanwhile is dropped.
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
from storage.models import OutboundMessage


async def handle_outbound(session: AsyncSession, message: OutboundMessage, policy: Policy, now) -> Message | None:
    """Return the view of a queued message, or None when it no longer needs sending."""
    if message.kind.startswith("checkin."):
        checkin = await checkin_store.get_checkin(session=session, checkin_id=message.subject_id)
        if checkin is None:
            return None
        if message.kind in ("checkin.ask", "checkin.reminder", "checkin.snoozed"):
            if checkin.status != "open":
                return None
            note = {
                "checkin.reminder": f"Reminder {checkin.reminders_sent} of {policy.max_reminders}.",
                "checkin.snoozed": "As you asked, here it is again.",
            }.get(message.kind, "")
            return await render_checkin(session, checkin, policy, now, note=note)
        model = await portfolio_store.get_model(session=session, model_id=checkin.model_id)
        person = await people_store.get_person(session=session, person_id=checkin.person_id)
        unit = await people_store.get_unit(session=session, unit_id=model.unit_id)
        view_model = Button(ActionId.STATUS_MODEL, "View model", str(model.id))
        if message.kind == "checkin.owner_alert":
            fields = tuple(
                Field(label, value)
                for label, value in (("What changed in their business", checkin.business_change), ("Comment", checkin.comment))
                if value
            )
            return Message(
                title=f"{model.name}: {ANSWER_LABELS[Answer(checkin.answer)]}" if checkin.answer else model.name,
                text=f"{person.display_name} ({unit.name}) answered this period's check-in: {ANSWER_LABELS[Answer(checkin.answer)]}."
                if checkin.answer
                else f"{person.display_name} ({unit.name}) changed their answer.",
                sections=(Section(fields=fields),) if fields else (),
                buttons=(view_model,),
            )
        if message.kind == "checkin.reassigned":
            target = await people_store.get_person(session=session, person_id=checkin.reassigned_to_id) if checkin.reassigned_to_id else None
            handed = f"handed the check-in about {model.name} to {target.display_name}" if target else f"said the check-in about {model.name} is not for them"
            return Message(title=f"{model.name}: check-in handed over", text=f"{person.display_name} ({unit.name}) {handed}.", buttons=(view_model,))
    recipient = await people_store.get_person(session=session, person_id=message.person_id) if message.person_id else None
    if message.kind.startswith("report."):
        return await reports.render_outbound(session, message.kind, message.subject_id, recipient, policy)
    if message.kind == "digest.post":
        return await digest.render_outbound(session, message.subject_id, policy)
    if message.kind.startswith(("forum.", "action_item.")):
        return await forums.render_outbound(session, message.kind, message.subject_id, recipient, policy, now)
    if message.kind.startswith("story."):
        return await stories.render_outbound(session, message.kind, message.subject_id)
    if message.kind == "model.deprecation":
        model = await portfolio_store.get_model(session=session, model_id=message.subject_id)
        if model is None or model.status != "active" or model.deprecation_candidate_since is None:
            return None
        return Message(
            title=f"Retire {model.name}?",
            text=f"{model.name} looks like it is no longer used: {model.deprecation_reason}.",
            buttons=(
                Button(ActionId.MODEL_RETIRE_CONFIRM, "Retire it", str(model.id), Style.DANGER),
                Button(ActionId.STATUS_MODEL, "View model", str(model.id)),
            ),
        )
    raise ValueError(f"unknown outbound message kind {message.kind!r}")
