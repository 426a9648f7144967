"""Handlers layer: the one place where a model's health is decided.

`evaluate_health` is a pure function of a model's recent signals; the README's
health table is written from it. `refresh_model_health` gathers the signals from
storage, applies the rules and caches the result on the model row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import live
from handlers.text import plural
from storage import delivery as delivery_store
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage.models import MessageKind, MLModel, Subject


class Health(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    ABANDONED = "abandoned"
    SILENT = "silent"
    UNKNOWN = "unknown"


class Answer(StrEnum):
    WORKS = "works"
    PROBLEMS = "problems"
    STOPPED = "stopped"
    NOT_ME = "not_me"


HEALTH_EMOJI = {
    Health.HEALTHY: "🟢",
    Health.DEGRADED: "🟠",
    Health.ABANDONED: "🔴",
    Health.SILENT: "⚪",
    Health.UNKNOWN: "❔",
}
# The healths that need attention, most severe first: nobody uses it, it misbehaves, nobody answers.
ATTENTION = (Health.ABANDONED, Health.DEGRADED, Health.SILENT)
# A model is "in use" while its stakeholders say they use it.
IN_USE = (Health.HEALTHY, Health.DEGRADED)
# Answers older than this no longer say anything about a model.
WINDOW = timedelta(days=120)
SERIOUS_IMPACTS = ("major", "critical")
LOW_SATISFACTION = 2.0
STOPPED_PERIODS_FOR_DEPRECATION = 2
SILENT_PERIODS_FOR_DEPRECATION = 3


@dataclass(frozen=True)
class Settled:
    """A check-in that is over: answered (with its answer) or expired (answer None)."""

    person_id: int
    period_key: str
    answer: str | None
    satisfaction: int | None


@dataclass(frozen=True)
class Verdict:
    health: Health
    reason: str
    response_rate: float | None
    deprecation: str | None


def evaluate_health(settled: Sequence[Settled], serious_open_reports: int) -> Verdict:
    """Decide health from the window's settled check-ins (newest first) and open reports.

    Rules, first match wins, over each stakeholder's latest settled check-in:
    unknown (nothing settled and no serious report), abandoned (at least half of the
    latest answers are "stopped"), degraded ("problems" among them, a major or
    critical report open, or mean satisfaction of 2 or less), silent (nobody answered
    their latest check-in), healthy (otherwise).
    """
    latest: dict[int, Settled] = {}
    for item in settled:
        if item.answer != Answer.NOT_ME:
            latest.setdefault(item.person_id, item)
    answered = [s for s in latest.values() if s.answer is not None]
    counted = [s for s in settled if s.answer != Answer.NOT_ME]
    rate = sum(s.answer is not None for s in counted) / len(counted) if counted else None
    deprecation = _deprecation(settled)

    if not latest and not serious_open_reports:
        return Verdict(Health.UNKNOWN, "no check-in has closed yet", rate, deprecation)
    answers = Counter(s.answer for s in answered)
    ratings = [s.satisfaction for s in answered if s.satisfaction is not None]
    if answered and answers[Answer.STOPPED] * 2 >= len(answered):
        return Verdict(Health.ABANDONED, _of(answers[Answer.STOPPED], len(answered), "says", "say") + " they stopped using it", rate, deprecation)
    if answers[Answer.PROBLEMS]:
        return Verdict(Health.DEGRADED, _of(answers[Answer.PROBLEMS], len(answered), "reports", "report") + " problems", rate, deprecation)
    if serious_open_reports:
        return Verdict(Health.DEGRADED, plural(serious_open_reports, "major or critical report") + " open", rate, deprecation)
    if ratings and sum(ratings) / len(ratings) <= LOW_SATISFACTION:
        return Verdict(Health.DEGRADED, f"mean satisfaction {sum(ratings) / len(ratings):.1f} of 5", rate, deprecation)
    if not answered:
        return Verdict(Health.SILENT, f"no answer to the last check-in from {plural(len(latest), 'stakeholder')}", rate, deprecation)
    return Verdict(Health.HEALTHY, _of(answers[Answer.WORKS], len(answered), "says", "say") + " it works well", rate, deprecation)


def _of(some: int, answered: int, verb: str, verbs: str) -> str:
    """Say who reported what, e.g. '2 of 3 stakeholders report'."""
    return f"{some} of {plural(answered, 'stakeholder')} {verb if some == 1 else verbs}"


@dataclass(frozen=True)
class PortfolioCounts:
    """How many active models are in each health: the one set of figures /mlstatus, the digest and its chart show."""

    by_health: Counter[str]

    @property
    def total(self) -> int:
        """Count every active model."""
        return sum(self.by_health.values())

    @property
    def attention(self) -> int:
        """Count the models that need attention."""
        return sum(self.by_health[h] for h in ATTENTION)

    @property
    def in_use(self) -> int:
        """Count the models in use."""
        return sum(self.by_health[h] for h in IN_USE)

    def line(self) -> str:
        """Sum the counts up, e.g. '🟢 5 healthy · 🟠 2 degraded · …'."""
        return " · ".join(f"{HEALTH_EMOJI[h]} {self.by_health[h]} {h}" for h in Health)


async def count_portfolio(session: AsyncSession, unit_ids: Sequence[int] | None = None) -> PortfolioCounts:
    """Count the active models (of some units only, when given) by their health as it is now."""
    counts = await portfolio_store.count_models_by_health(session=session, unit_ids=unit_ids)
    return PortfolioCounts(Counter({h.value: counts.get(h, 0) for h in Health}))


def _deprecation(settled: Sequence[Settled]) -> str | None:
    """Return why a model should be considered for retirement, or None.

    A candidate was abandoned (half or more of the answers "stopped") in each of its
    last two periods, or had no answer at all in each of its last three.
    """
    periods: dict[str, list[Settled]] = {}
    for item in settled:
        if item.answer != Answer.NOT_ME:
            periods.setdefault(item.period_key, []).append(item)
    recent = [periods[k] for k in sorted(periods, reverse=True)]

    def stopped(items: list[Settled]) -> bool:
        given = [s for s in items if s.answer is not None]
        return bool(given) and sum(s.answer == Answer.STOPPED for s in given) * 2 >= len(given)

    def silent(items: list[Settled]) -> bool:
        return all(s.answer is None for s in items)

    n = STOPPED_PERIODS_FOR_DEPRECATION
    if len(recent) >= n and all(stopped(p) for p in recent[:n]):
        return f"half or more of its stakeholders said they stopped using it in each of the last {n} periods"
    n = SILENT_PERIODS_FOR_DEPRECATION
    if len(recent) >= n and all(silent(p) for p in recent[:n]):
        return f"no stakeholder answered in each of the last {n} periods"
    return None


async def refresh_model_health(session: AsyncSession, model: MLModel, now: datetime) -> Verdict:
    """Recompute one model's health from storage, cache it on the row and log any change."""
    rows = await portfolio_store.list_settled_checkins(session=session, model_id=model.id, since=now - WINDOW)
    settled = [Settled(r.person_id, r.period_key, r.answer, r.satisfaction) for r in rows]
    model.open_reports, serious = await portfolio_store.count_open_reports(session=session, model_id=model.id, serious=SERIOUS_IMPACTS)
    verdict = evaluate_health(settled, serious)
    answered = [(r.answered_at, r) for r in rows if r.answered_at and r.answer != Answer.NOT_ME]
    # The window usually holds the last answer; only an older one needs a query.
    last = max(answered, key=lambda pair: pair[0])[1] if answered else await portfolio_store.get_last_answer(session=session, model_id=model.id)
    model.last_answer, model.last_answer_at = (last.answer, last.answered_at) if last else (None, None)
    model.response_rate = verdict.response_rate
    if verdict.health != model.health:
        portfolio_store.add_health_event(session=session, model_id=model.id, health=verdict.health, reason=verdict.reason, at=now)
    model.health, model.health_reason, model.health_checked_at = verdict.health, verdict.reason, now
    if verdict.deprecation and model.deprecation_candidate_since is None:
        model.deprecation_candidate_since, model.deprecation_reason = now, verdict.deprecation
        for lead in await people_store.list_people(session=session, leads_only=True):
            await delivery_store.create_message(
                session=session,
                key=f"model:{model.id}:deprecation:{now:%Y-%m-%d}:{lead.id}",
                kind=MessageKind.MODEL_DEPRECATION,
                subject_id=model.id,
                person_id=lead.id,
                not_before=now,
            )
    elif not verdict.deprecation and model.deprecation_candidate_since is not None:
        model.deprecation_candidate_since = model.deprecation_reason = None
        await live.changed(session, Subject.MODEL, model.id, now)  # nothing to decide any more
    session.add(model)
    return verdict
