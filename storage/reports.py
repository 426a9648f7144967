"""Storage layer: queries about failure reports."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import FailureReport
from storage.portfolio import OPEN_REPORT_STATES


async def list_open_reports(*, session: AsyncSession, model_id: int, limit: int) -> Sequence[FailureReport]:
    """List a model's unresolved reports, newest first."""
    query = (
        select(FailureReport)
        .where(FailureReport.model_id == model_id, FailureReport.status.in_(OPEN_REPORT_STATES))
        .order_by(FailureReport.created_at.desc())
        .limit(limit)
    )
    return (await session.exec(query)).all()
