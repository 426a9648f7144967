"""Handlers layer: what each outbox message says when its time comes.

A message is rendered when it is sent, not when it is queued, so it shows the state
of things at that moment; a reminder for a check-in answered meanwhile is dropped.
A live message that went stale (its subject changed, see `handlers.live`) is
rendered again the same way, to be rewritten in place: then it always has a view,
showing the subject as it is now, with only the buttons that still apply.

Each feature renders its own kinds of message: it exports `OUTBOUND`, the
`MessageKind`s it sends, and `render_outbound(session, out)`. This module only
composes them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import checkins, digest, forums, registry, reports, stories
from handlers.context import Outgoing, Policy
from handlers.views import Message
from storage import checkins as checkin_store
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage.models import Delivery, MessageKind, OutboundMessage, Subject

Renderer = Callable[[AsyncSession, Outgoing], Awaitable[Message | None]]
RENDERERS: dict[MessageKind, Renderer] = {
    kind: feature.render_outbound for feature in (checkins, reports, stories, forums, digest, registry) for kind in feature.OUTBOUND
}


async def preload_outbound(session: AsyncSession, messages: Sequence[OutboundMessage]) -> list[object]:
    """Load at once what rendering a batch of messages needs (its check-ins, the models they and deprecation alerts are about, its recipients).

    Rendering then finds the rows in the session instead of a query a message. The
    caller keeps the returned list alive while it renders: the session holds rows weakly.
    """

    def about(subject: Subject) -> list[int]:
        return [m.subject_id for m in messages if m.kind.subject == subject and m.subject_id is not None]

    checkins = await checkin_store.list_checkins(session=session, ids=about(Subject.CHECKIN))
    model_ids = [c.model_id for c in checkins] + about(Subject.MODEL)
    return [
        *checkins,
        *await portfolio_store.list_models_by_ids(session=session, ids=model_ids),
        *await people_store.list_people(session=session, ids=[m.person_id for m in messages if m.person_id]),
    ]


async def handle_outbound(session: AsyncSession, message: OutboundMessage, policy: Policy, now: datetime) -> Message | None:
    """Return the view of an outbox message, or None when it no longer needs sending (or, if stale, rewriting)."""
    recipient = await people_store.must_get_person(session=session, person_id=message.person_id) if message.person_id else None
    assert message.subject_id is not None, "every kind of outbox message is about a subject"
    out = Outgoing(message.kind, message.subject_id, recipient, policy, now, update=message.status == Delivery.STALE)
    return await RENDERERS[message.kind](session, out)
