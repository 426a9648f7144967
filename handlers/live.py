"""Handlers layer: keeping every sent message true to its subject.

A message is a view of a subject (a check-in, a report, a story, a forum session, an
action item, a model), not a one-off post. A handler that changes a subject calls
`changed` in the same transaction: every live message showing that subject (see
`MessageKind.live`) goes stale in the outbox, and the delivery loop rewrites each
copy in place, rendered by `handlers.outbound` from the subject's state at that
moment, with the same claims, pacing and 429 handling as a send. Buttons that no
longer apply are gone from every copy, and a burst of changes makes one update.

A reply that itself rewrites the pressed message (`ReplyMode.REPLACE`) passes its
context as `replacing`: that copy is current already and is not rewritten twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.context import Context
from storage import delivery as delivery_store
from storage.models import Subject


async def changed(session: AsyncSession, subject: Subject, subject_id: int, now: datetime, *, replacing: Context | None = None) -> None:
    """Have every live message about a subject shown again as it is now."""
    origin = replacing.origin if replacing is not None else None
    shown = (origin.platform, origin.conversation_id, origin.message_id) if origin is not None else None
    await delivery_store.update_live_messages(session=session, subject=subject, subject_id=subject_id, at=now, shown=shown)
