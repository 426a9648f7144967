"""Generate a large portfolio straight into the tables, fast (bulk inserts, no handlers).

Answers are loaded in phases (`add_answers(start, stop)`), oldest periods last, so
the same portfolio can be measured with 10,000 answers and again with 1,000,000.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.models import BusinessUnit, CheckIn, CheckInAnswer, FailureReport, MLModel, Person, Stakeholder

ZONES = ("Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney")
STAKEHOLDERS_PER_MODEL = 4
CHUNK = 20_000


@dataclass(frozen=True)
class Size:
    models: int = 5_000
    units: int = 200
    people: int = 20_000
    answers: int = 1_000_000
    reports: int = 50_000


async def bulk_insert(connection, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        await connection.execute(insert(table), rows[start : start + CHUNK])


async def create_schema(engine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all)
        await connection.run_sync(SQLModel.metadata.create_all)


async def load_portfolio(engine, size: Size, now: datetime, seed: int = 1) -> None:
    """Insert units, people, models, stakeholders (none due) and failure reports."""
    rng = random.Random(seed)
    async with engine.begin() as c:
        await bulk_insert(c, BusinessUnit, [dict(id=i + 1, name=f"Unit {i + 1:03d}", timezone=rng.choice(ZONES), created_at=now) for i in range(size.units)])
        await bulk_insert(
            c,
            Person,
            [
                dict(
                    id=i + 1,
                    key=f"p{i + 1:05d}",
                    display_name=f"Person {i + 1}",
                    email=f"p{i + 1}@example.com",
                    timezone=rng.choice(ZONES),
                    is_lead=i < 5,
                    declared=True,
                    created_at=now,
                    updated_at=now,
                )
                for i in range(size.people)
            ],
        )
        ml_people = max(10, size.people // 10)
        await bulk_insert(
            c,
            MLModel,
            [
                dict(
                    id=i + 1,
                    key=f"m{i + 1:05d}",
                    name=f"Model {i + 1}",
                    description="",
                    unit_id=i % size.units + 1,
                    owner_id=rng.randint(1, ml_people),
                    status="active",
                    health="unknown",
                    health_reason="",
                    open_reports=0,
                    created_at=now,
                    updated_at=now,
                )
                for i in range(size.models)
            ],
        )
        await bulk_insert(
            c,
            Stakeholder,
            [
                dict(model_id=m + 1, person_id=p, next_due_at=now + timedelta(days=rng.randint(1, 13), minutes=rng.randint(0, 1440)))
                for m in range(size.models)
                for p in stakeholders_of(m, size)
            ],
        )
        impacts = ("none", "minor", "major", "critical")
        await bulk_insert(
            c,
            FailureReport,
            [
                dict(
                    model_id=rng.randint(1, size.models),
                    receipt_code=f"R{i:07d}",
                    anonymous=i % 5 == 0,
                    reporter_id=None if i % 5 == 0 else rng.randint(1, size.people),
                    what_happened="Scores looked off for a segment.",
                    impact=rng.choices(impacts, (3, 5, 2, 1))[0],
                    status=rng.choices(("open", "triaged", "analysing", "resolved", "wont_fix"), (1, 1, 1, 6, 1))[0],
                    created_at=now - timedelta(days=rng.randint(0, 700)),
                    updated_at=now,
                )
                for i in range(size.reports)
            ],
        )


def stakeholders_of(model_index: int, size: Size) -> list[int]:
    """The stakeholder person ids of a model (business people, never the ML team)."""
    first = size.people // 10 + 1
    span = size.people - first
    return [first + (model_index * 7 + k * 1_009) % span for k in range(STAKEHOLDERS_PER_MODEL)]


async def add_answers(engine, size: Size, now: datetime, start: int, stop: int, seed: int = 2) -> int:
    """Add answered check-ins number start..stop of every model (0 = the most recent); return rows added."""
    rng = random.Random(seed + start)
    answers = ("works", "works", "works", "problems", "stopped")
    added = 0
    async with engine.begin() as c:
        next_id = start * size.models + 1
        for lo in range(start, stop, 10):
            hi = min(stop, lo + 10)
            checkins, rows = [], []
            for m in range(size.models):
                people = stakeholders_of(m, size)
                for j in range(lo, hi):
                    period = now.date() - timedelta(days=14 * (j // STAKEHOLDERS_PER_MODEL + 1))
                    due = datetime.combine(period, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
                    answer = rng.choice(answers)
                    checkin_id = next_id
                    next_id += 1
                    checkins.append(
                        dict(
                            id=checkin_id,
                            model_id=m + 1,
                            person_id=people[j % STAKEHOLDERS_PER_MODEL],
                            period_key=period.isoformat(),
                            due_at=due,
                            period_ends_at=due + timedelta(days=14),
                            status="answered",
                            sent_at=due,
                            reminders_sent=0,
                            snoozes=0,
                            answer=answer,
                            answered_at=due + timedelta(hours=3),
                            satisfaction=rng.randint(2, 5),
                            created_at=due,
                        )
                    )
                    rows.append(
                        dict(
                            checkin_id=checkin_id,
                            answer=answer,
                            answered_by_id=people[j % STAKEHOLDERS_PER_MODEL],
                            answered_at=due + timedelta(hours=3),
                            late=False,
                        )
                    )
            await bulk_insert(c, CheckIn, checkins)
            await bulk_insert(c, CheckInAnswer, rows)
            added += len(rows)
    return added


async def finish_load(engine) -> None:
    """After a bulk load: move PostgreSQL's id sequences past the loaded rows and vacuum.

    Without VACUUM freshly loaded tables have no visibility map and no statistics, and
    the first queries measured would pay for that instead of for mlpulse.
    """
    if engine.dialect.name != "postgresql":
        async with engine.begin() as c:
            await c.execute(text("ANALYZE"))
        return
    async with engine.begin() as c:
        for table in ("businessunit", "person", "ml_model", "checkin"):
            await c.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    async with engine.connect() as c:
        await c.execution_options(isolation_level="AUTOCOMMIT")
        await c.execute(text("VACUUM ANALYZE"))
