"""Bot layer: a realistic history for `mlpulse shell --demo`.

It takes the portfolio of app.yaml and writes twelve weeks of check-in answers
before today, following a story per model so that every health state shows up:
some models are loved, one drifts into problems, one is quietly abandoned, one
nobody answers about, one is too new to know. The current period is left to the
real scheduler, so the first tick of the shell sends this period's check-ins.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from handlers.checkins import model_cadence, person_zone
from handlers.context import Policy
from handlers.health import WINDOW, Answer, Settled, evaluate_health, refresh_model_health
from handlers.periods import current_period, next_due_after, period_starting
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage.db import transaction
from storage.models import CheckIn, CheckInAnswer, FailureReport, MLModel, Person, ReportEvent

WEEKS = 12
# The story of each model in the example app.yaml; any other model is "healthy".
STORIES = {
    "churn": "healthy",
    "lead-scoring": "abandoned",
    "price-elasticity": "degraded",
    "demand": "degraded",
    "route-opt": "healthy",
    "invoice-fraud": "silent",
    "cashflow": "healthy",
    "ticket-triage": "healthy",
    "sentiment": "new",
    "staffing": "healthy",
}
CHANGES = (
    "We launched two new pricing tiers last month.",
    "Peak season started; volumes are up about 30%.",
    "The team was reorganised and new people use the tool now.",
    "A new CRM went live, and some fields moved.",
)


def _outcome(story: str, back: int, rng: random.Random) -> tuple[str | None, int | None]:
    """Return (answer or None for silence, satisfaction) for the period `back` periods ago."""
    if story == "healthy":
        if back > 0 and rng.random() < 0.15:
            return None, None
        return Answer.WORKS, rng.choice((4, 4, 5, 5, 3))
    if story == "degraded":
        return (Answer.PROBLEMS, rng.choice((2, 3))) if back <= 1 else (Answer.WORKS, 4)
    if story == "abandoned":
        if back <= 2:
            return Answer.STOPPED, 1
        return (Answer.PROBLEMS, 2) if back <= 4 else (Answer.WORKS, 3)
    if story == "silent":
        return (None, None) if back <= 3 else (Answer.WORKS, 4)
    raise ValueError(story)


async def seed_demo(sessions, policy: Policy, now: datetime, seed: int = 7) -> int:
    """Write the demo history into a freshly synced database; return how many check-ins."""
    rng = random.Random(seed)
    created = 0
    async with transaction(sessions) as session:
        for model, _unit, _owner in await portfolio_store.list_models(session=session):
            story = STORIES.get(model.key, "healthy")
            cadence = model_cadence(model, policy)
            for person in await portfolio_store.list_stakeholders(session=session, model_id=model.id):
                tz = person_zone(person, policy)
                current = current_period(cadence, now, tz)
                if story != "new":
                    day, back = cadence.latest_on_or_before(current.starts_on - timedelta(days=1)), 0
                    while day >= (now - timedelta(weeks=WEEKS)).date():
                        created += await _seed_checkin(session, model, person, period_starting(cadence, day, tz), *_outcome(story, back, rng), rng)
                        day, back = cadence.latest_on_or_before(day - timedelta(days=1)), back + 1
                # Leave this period to the scheduler: due now means the first tick sends it.
                due = current.due_at if story != "new" else next_due_after(cadence, now, tz)
                await portfolio_store.update_next_due(session=session, model_id=model.id, person_id=person.id, next_due_at=due)
        await session.flush()
        await _seed_reports(session, now)
        await session.flush()
        for model, _unit, _owner in await portfolio_store.list_models(session=session):
            if STORIES.get(model.key, "healthy") != "new":
                await _seed_health_history(session, model, now)
            await refresh_model_health(session, model, now)
    return created


async def _seed_health_history(session, model: MLModel, now: datetime) -> None:
    """Record the health the model would have had at the end of each past week, so the digest's chart has a history."""
    first = now - timedelta(weeks=WEEKS)
    rows = await portfolio_store.list_settled_checkins(session=session, model_id=model.id, since=first - WINDOW)
    model.created_at = first - timedelta(weeks=1)
    for back in range(WEEKS, 0, -1):
        moment = now - timedelta(weeks=back)
        settled = [
            Settled(r.person_id, r.period_key, r.answer, r.satisfaction)
            for r in rows
            if r.due_at >= moment - WINDOW and (r.answered_at or r.period_ends_at) <= moment
        ]
        health = evaluate_health(settled, 0).health
        if health != model.health:
            portfolio_store.add_health_event(session=session, model_id=model.id, health=health, reason="demo history", at=moment)
            model.health = health


async def _seed_checkin(session, model: MLModel, person: Person, period, answer: str | None, satisfaction: int | None, rng: random.Random) -> int:
    answered_at = period.due_at + timedelta(hours=rng.randint(1, 30)) if answer else None
    checkin = CheckIn(
        model_id=model.id,
        person_id=person.id,
        period_key=period.key,
        due_at=period.due_at,
        period_ends_at=period.ends_at,
        status="answered" if answer else "expired",
        reminders_sent=0 if answer else 2,
        answer=answer,
        answered_at=answered_at,
        satisfaction=satisfaction,
        business_change=rng.choice(CHANGES) if answer == Answer.PROBLEMS else None,
        closed_at=answered_at or period.ends_at,
        created_at=period.due_at,
    )
    session.add(checkin)
    if answer:
        await session.flush()
        session.add(
            CheckInAnswer(
                checkin_id=checkin.id,
                answer=answer,
                satisfaction=satisfaction,
                business_change=checkin.business_change,
                answered_by_id=person.id,
                answered_at=answered_at,
            )
        )
    return 1


async def _seed_reports(session, now: datetime) -> None:
    reports = (
        ("price-elasticity", "dana", "major", "Recommended prices for the new tiers are 20-40% too low.", "analysing"),
        ("demand", None, "minor", "Forecasts for fresh produce lag actual demand by about a week.", "open"),
        ("churn", "sam", "minor", "Scores were missing for accounts created last Monday.", "resolved"),
    )
    people = await people_store.list_people_by_key(session=session)
    models = await portfolio_store.list_models_by_key(session=session)
    for number, (model_key, reporter, impact, what, state) in enumerate(reports, start=1):
        if model_key not in models:
            continue
        opened = now - timedelta(days=9 * number)
        report = FailureReport(
            model_id=models[model_key].id,
            receipt_code=f"DEMO-{number:04d}",
            anonymous=reporter is None,
            reporter_id=people[reporter].id if reporter in people else None,
            what_happened=what,
            impact=impact,
            status=state,
            created_at=opened,
            updated_at=opened,
        )
        session.add(report)
        await session.flush()
        session.add(ReportEvent(report_id=report.id, from_status=None, to_status="open", actor_id=report.reporter_id, at=opened))
        if state != "open":
            session.add(
                ReportEvent(report_id=report.id, from_status="open", to_status=state, actor_id=models[model_key].owner_id, at=opened + timedelta(days=1))
            )
