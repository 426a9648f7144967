"""Handlers layer: the work of one scheduler tick.

Everything is derived from the database, so a tick can run at any time, any number
of times, on any replica: it creates the check-ins that are due (one per model,
person and period, enforced by a unique key), sends reminders, ends snoozes, expires
check-ins nobody answered, and refreshes stale health. Reminders go out on the
recipient's workdays only (Monday to Friday in their zone), and not while they are
away: one that falls due then waits for the morning they are back. After downtime
it catches up with the current period only: a bot that was down for three weeks
asks once, not three times. Messages are queued in the outbox inside the same transaction as the
state change that called for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import live
from handlers.checkins import ask_row, model_cadence, person_zone
from handlers.context import Policy
from handlers.health import refresh_model_health
from handlers.periods import current_period, local_instant, next_due_after, next_workday
from storage import checkins as checkin_store
from storage import delivery as delivery_store
from storage import forms as form_store
from storage import portfolio as portfolio_store
from storage.models import MessageKind, Subject

BATCH = 500
HEALTH_MAX_AGE = timedelta(hours=24)


@dataclass
class TickReport:
    """What one batch of a tick did; `more` says another batch is waiting."""

    created: int = 0
    skipped_away: int = 0
    reminded: int = 0
    expired: int = 0
    refreshed: int = 0
    digests: int = 0
    forums: int = 0
    followups: int = 0
    more: bool = False
    failed: list[str] = field(default_factory=list)  # the steps that raised (the wiring logs them)

    def __iadd__(self, other: TickReport) -> TickReport:
        for name in ("created", "skipped_away", "reminded", "expired", "refreshed", "digests", "forums", "followups"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.more = other.more
        self.failed += other.failed
        return self


async def handle_refresh_stale(session: AsyncSession, policy: Policy, now: datetime, batch: int = BATCH) -> TickReport:
    """Recompute the health of up to `batch` models whose health is more than a day old."""
    stale = await portfolio_store.list_models_to_refresh(session=session, checked_before=now - HEALTH_MAX_AGE, limit=batch)
    for model in stale:
        await refresh_model_health(session, model, now)
    return TickReport(refreshed=len(stale), more=len(stale) == batch)


async def handle_forget_old_forms(session: AsyncSession, policy: Policy, now: datetime, batch: int = BATCH) -> TickReport:
    """Drop the state of forms left open for days: it may hold what a reporter was looking at."""
    await form_store.delete_old_drafts(session=session, now=now)
    return TickReport()


async def handle_dispatch_due(session: AsyncSession, policy: Policy, now: datetime, batch: int = BATCH) -> TickReport:
    """Create up to `batch` due check-ins and queue their questions."""
    due = await portfolio_store.list_due_stakeholders(session=session, now=now, limit=batch)
    report = TickReport(more=len(due) == batch)
    rows = []
    for link, model, person in due:
        if model.status != "active":
            link.next_due_at = None
            continue
        cadence, tz = model_cadence(model, policy), person_zone(person, policy)
        period = current_period(cadence, now, tz)
        link.next_due_at = next_due_after(cadence, now, tz)
        if model.deployed_on and period.starts_on < model.deployed_on:
            continue
        away = person.away_until is not None and person.away_until >= now.astimezone(tz).date()
        rows.append(
            checkin_store.checkin_values(
                model_id=model.id,
                person_id=person.id,
                period_key=period.key,
                due_at=period.due_at,
                period_ends_at=period.ends_at,
                now=now,
                status="skipped" if away else "open",
                next_action_at=None if away else min(now + policy.reminder_after, period.ends_at),
            )
        )
    # One statement for the batch; the unique key drops whatever another tick created first.
    created = await checkin_store.create_checkins(session=session, rows=rows)
    await delivery_store.create_messages(
        session=session, rows=[ask_row(checkin_id, person_id, now) for checkin_id, person_id, status in created if status == "open"]
    )
    report.created = sum(status == "open" for _, _, status in created)
    report.skipped_away = len(created) - report.created
    return report


async def handle_advance_open(session: AsyncSession, policy: Policy, now: datetime, batch: int = BATCH) -> TickReport:
    """Send up to `batch` due reminders and snoozed questions, expire what is over, and close the answers whose period ended."""
    checkins = await checkin_store.list_checkins_needing_action(session=session, now=now, limit=batch)
    report = TickReport(more=len(checkins) == batch)
    expired_models: set[int] = set()
    for checkin, model, person in checkins:
        if checkin.status == "answered":  # its period is over: the answer can no longer change, and its messages say so
            checkin.next_action_at = None
            session.add(checkin)
            await live.changed(session, Subject.CHECKIN, checkin.id, now)
            continue
        tz = person_zone(person, policy)
        today = now.astimezone(tz).date()
        if now >= checkin.period_ends_at or (checkin.snoozed_until is None and checkin.reminders_sent >= policy.max_reminders):
            # Someone away is not silent: the check-in is skipped, as one falling due while they are away would be.
            away = person.away_until is not None and person.away_until >= today
            checkin.status, checkin.next_action_at, checkin.closed_at, checkin.snoozed_until = "skipped" if away else "expired", None, now, None
            session.add(checkin)
            await live.changed(session, Subject.CHECKIN, checkin.id, now)
            expired_models.add(checkin.model_id)
            if away:
                report.skipped_away += 1
            else:
                report.expired += 1
            continue
        # Reminders reach people on their workdays, and not while they are away: put this one off to the morning they are back.
        if (back := next_workday(today, person.away_until)) != today:
            checkin.next_action_at = min(local_instant(back, model_cadence(model, policy).at, tz), checkin.period_ends_at)
            session.add(checkin)
            continue
        if checkin.snoozed_until is not None:
            key, kind = f"checkin:{checkin.id}:snooze:{checkin.snoozes}", MessageKind.CHECKIN_SNOOZED
            checkin.snoozed_until = None
        else:
            checkin.reminders_sent += 1
            key, kind = f"checkin:{checkin.id}:reminder:{checkin.reminders_sent}", MessageKind.CHECKIN_REMINDER
        ask = await delivery_store.get_message_by_key(session=session, key=f"checkin:{checkin.id}:ask")
        await delivery_store.create_message(
            session=session, key=key, kind=kind, subject_id=checkin.id, person_id=checkin.person_id, thread_of_id=ask.id if ask else None, not_before=now
        )
        checkin.next_action_at = min(now + policy.reminder_after, checkin.period_ends_at)
        session.add(checkin)
        report.reminded += 1
    for model_id in sorted(expired_models):
        await refresh_model_health(session, await portfolio_store.must_get_model(session=session, model_id=model_id), now)
    return report
