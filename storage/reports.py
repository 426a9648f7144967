"""Storage layer: queries about failure reports and their lifecycle events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import FailureReport, MLModel, ReportEvent
from storage.portfolio import OPEN_REPORT_STATES

IMPACT_ORDER = ("critical", "major", "minor", "none")


async def get_report(*, session: AsyncSession, report_id: int, lock: bool = False) -> FailureReport | None:
    """Get a report by id, locked for update when asked."""
    return await session.get(FailureReport, report_id, with_for_update=True if lock else None)


async def get_report_by_code(*, session: AsyncSession, code: str) -> FailureReport | None:
    """Get a report by the receipt code its reporter holds."""
    return (await session.exec(select(FailureReport).where(col(FailureReport.receipt_code) == code))).first()


async def get_report_by_request(*, session: AsyncSession, request_key: str) -> FailureReport | None:
    """Get the report a submission filed, if it filed one."""
    return (await session.exec(select(FailureReport).where(col(FailureReport.request_key) == request_key))).first()


async def create_report(*, session: AsyncSession, report: FailureReport) -> FailureReport:
    """Add a report and give it its id."""
    session.add(report)
    await session.flush()
    return report


async def create_event(*, session: AsyncSession, event: ReportEvent) -> ReportEvent:
    """Add a lifecycle event and give it its id."""
    session.add(event)
    await session.flush()
    return event


async def get_event(*, session: AsyncSession, event_id: int) -> ReportEvent | None:
    """Get a lifecycle event by id."""
    return await session.get(ReportEvent, event_id)


async def list_events(*, session: AsyncSession, report_id: int) -> Sequence[ReportEvent]:
    """List a report's lifecycle events, oldest first."""
    query = select(ReportEvent).where(col(ReportEvent.report_id) == report_id).order_by(col(ReportEvent.at), col(ReportEvent.id))
    return (await session.exec(query)).all()


async def list_open_reports(*, session: AsyncSession, model_id: int, limit: int) -> Sequence[FailureReport]:
    """List a model's unresolved reports, newest first."""
    query = (
        select(FailureReport)
        .where(col(FailureReport.model_id) == model_id, col(FailureReport.status).in_(OPEN_REPORT_STATES))
        .order_by(col(FailureReport.created_at).desc())
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def list_open_reports_for_units(*, session: AsyncSession, unit_ids: Sequence[int], limit: int) -> Sequence[tuple[FailureReport, MLModel]]:
    """List the units' unresolved reports with their models, by impact (critical first) then age (oldest first)."""
    rank = case({impact: i for i, impact in enumerate(IMPACT_ORDER)}, value=col(FailureReport.impact), else_=len(IMPACT_ORDER))
    query = (
        select(FailureReport, MLModel)
        .join(MLModel, col(MLModel.id) == FailureReport.model_id)
        .where(col(MLModel.unit_id).in_(unit_ids), col(FailureReport.status).in_(OPEN_REPORT_STATES))
        .order_by(rank, col(FailureReport.created_at), col(FailureReport.id))
        .limit(limit)
    )
    return (await session.exec(query)).all()


async def count_reports_created(*, session: AsyncSession, since: datetime, until: datetime) -> int:
    """Count the reports filed in [since, until)."""
    query = select(func.count()).select_from(FailureReport).where(col(FailureReport.created_at) >= since, col(FailureReport.created_at) < until)
    return (await session.exec(query)).one()


async def count_reports_resolved(*, session: AsyncSession, since: datetime, until: datetime) -> int:
    """Count the reports moved to resolved in [since, until) (a report resolved twice counts once)."""
    query = select(func.count(func.distinct(col(ReportEvent.report_id)))).where(
        col(ReportEvent.to_status) == "resolved", col(ReportEvent.at) >= since, col(ReportEvent.at) < until
    )
    return (await session.exec(query)).one()


async def count_open_reports_for_units(*, session: AsyncSession, unit_ids: Sequence[int]) -> int:
    """Count the units' unresolved reports."""
    query = (
        select(func.count())
        .select_from(FailureReport)
        .join(MLModel, col(MLModel.id) == FailureReport.model_id)
        .where(col(MLModel.unit_id).in_(unit_ids), col(FailureReport.status).in_(OPEN_REPORT_STATES))
    )
    return (await session.exec(query)).one()
