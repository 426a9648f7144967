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

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import checkins, digest, forums, registry, reports, stories
from handlers.context import Outgoing, Policy
from handlers.views import Message
from storage import people as people_store
from storage.models import Delivery, MessageKind, OutboundMessage

Renderer = Callable[[AsyncSession, Outgoing], Awaitable[Message | None]]
RENDERERS: dict[MessageKind, Renderer] = {
    kind: feature.render_outbound for feature in (checkins, reports, stories, forums, digest, registry) for kind in feature.OUTBOUND
}


async def handle_outbound(session: AsyncSession, message: OutboundMessage, policy: Policy, now: datetime) -> Message | None:
    """Return the view of an outbox message, or None when it no longer needs sending (or, if stale, rewriting)."""
    recipient = await people_store.must_get_person(session=session, person_id=message.person_id) if message.person_id else None
    assert message.subject_id is not None, "every kind of outbox message is about a subject"
    out = Outgoing(message.kind, message.subject_id, recipient, policy, now, update=message.status == Delivery.STALE)
    return await RENDERERS[message.kind](session, out)
