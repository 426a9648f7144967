"""The scheduler tick: exactly-once dispatch, catch-up, reminders, expiry, away, retirement."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from handlers.registry import retire_model
from handlers.scheduled import handle_dispatch_due
from storage import checkins as checkin_store
from storage.db import session_factory, transaction
from storage.models import CheckIn, MLModel, Stakeholder
from tests import factories as f
from tests.conftest import NOW, TUESDAY
from tests.helpers import checkin_keys, outbox, run_tick

EXPECTED = 4  # churn: ana, bo; fraud: cy; demand: ana


@pytest.fixture
async def portfolio(sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())


async def test_nothing_is_due_before_the_first_occurrence(sessions, portfolio):
    report = await run_tick(sessions, NOW)
    assert report.created == 0
    assert await checkin_keys(sessions) == {}


async def test_due_checkins_are_created_in_each_recipients_time_zone(sessions, portfolio):
    # Cy is in Tokyo: Tuesday 10:00 there is 01:00 UTC, nine hours before the others.
    report = await run_tick(sessions, datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    assert report.created == 1
    report = await run_tick(sessions, TUESDAY)
    assert report.created == 3
    keys = await checkin_keys(sessions)
    assert len(keys) == EXPECTED and set(keys.values()) == {1}
    assert {k[2] for k in keys} == {"2026-03-03"}
    assert len(await outbox(sessions, "checkin.ask")) == EXPECTED


async def test_two_ticks_at_the_same_instant_create_one_checkin_each(sessions, portfolio):
    await run_tick(sessions, TUESDAY)
    second = await run_tick(sessions, TUESDAY)
    assert second.created == 0
    keys = await checkin_keys(sessions)
    assert len(keys) == EXPECTED and set(keys.values()) == {1}
    assert len(await outbox(sessions, "checkin.ask")) == EXPECTED


async def test_same_period_is_not_asked_twice_even_if_the_schedule_is_rewound(sessions, portfolio):
    await run_tick(sessions, TUESDAY)
    async with transaction(sessions) as session:
        for link in (await session.exec(select(Stakeholder))).all():
            link.next_due_at = TUESDAY - timedelta(hours=1)  # as if another replica had not seen the update
            session.add(link)
    await run_tick(sessions, TUESDAY + timedelta(minutes=1))
    keys = await checkin_keys(sessions)
    assert len(keys) == EXPECTED and set(keys.values()) == {1}


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


async def test_a_tick_that_crashed_half_way_is_repeated_without_duplicates(sessions, portfolio, monkeypatch):
    real = checkin_store.create_checkins

    async def dying(**kwargs):
        await real(**kwargs)  # the batch is written, then the process dies before its commit
        raise Crash()

    # A first batch of two commits; then the process dies in the middle of the next one.
    async with transaction(sessions) as session:
        await handle_dispatch_due(session, f.POLICY, TUESDAY, batch=2)
    monkeypatch.setattr(checkin_store, "create_checkins", dying)
    with pytest.raises(Crash):
        await run_tick(sessions, TUESDAY, batch=2)
    monkeypatch.setattr(checkin_store, "create_checkins", real)

    assert len(await checkin_keys(sessions)) == 2
    await run_tick(sessions, TUESDAY + timedelta(minutes=1))
    keys = await checkin_keys(sessions)
    assert len(keys) == EXPECTED and set(keys.values()) == {1}
    asks = await outbox(sessions, "checkin.ask")
    assert len(asks) == EXPECTED and len({m.subject_id for m in asks}) == EXPECTED


async def test_two_concurrent_ticks_on_two_connections_create_one_checkin_each(shared_engines):
    first, second = (session_factory(e) for e in shared_engines)
    people = [f"p{i}" for i in range(30)]
    models = [{"key": f"m{i}", "name": f"Model {i}", "unit": "Sales", "owner": "lead", "stakeholders": people[i % 3 :: 3]} for i in range(12)]
    async with first() as session:
        await f.sync(session, f.decl(people=["lead", *people], leads=["lead"], units=["Sales"], models=models))
    expected = sum(len(m["stakeholders"]) for m in models)

    for attempt in range(3):
        moment = TUESDAY + timedelta(weeks=attempt)
        await asyncio.gather(run_tick(first, moment, batch=7), run_tick(second, moment, batch=7))
        keys = await checkin_keys(first)
        assert set(keys.values()) == {1}, [k for k, n in keys.items() if n > 1]
        assert len(keys) == expected * (attempt + 1)
    asks = await outbox(first, "checkin.ask")
    assert len(asks) == len({m.key for m in asks}) == expected * 3


async def test_catch_up_after_downtime_asks_once_for_the_current_period(sessions, portfolio):
    three_weeks_later = TUESDAY + timedelta(weeks=3, hours=2)
    report = await run_tick(sessions, three_weeks_later)
    assert report.created == EXPECTED
    keys = await checkin_keys(sessions)
    assert {k[2] for k in keys} == {"2026-03-24"}
    # And the schedule moved on: nothing more until next Tuesday.
    assert (await run_tick(sessions, three_weeks_later + timedelta(days=6))).created == 0
    assert (await run_tick(sessions, datetime(2026, 3, 31, 10, 0, tzinfo=UTC))).created == EXPECTED


async def test_reminders_then_expiry_as_no_response(sessions, portfolio):
    await run_tick(sessions, TUESDAY)
    day = timedelta(days=1)
    assert (await run_tick(sessions, TUESDAY + day)).reminded == EXPECTED
    await run_tick(sessions, TUESDAY + 2 * day)
    report = await run_tick(sessions, TUESDAY + 3 * day)
    assert report.expired == EXPECTED
    reminders = await outbox(sessions, "checkin.reminder")
    assert sorted(m.key.rsplit(":", 1)[1] for m in reminders) == ["1", "1", "1", "1", "2", "2", "2", "2"]
    # Reminders thread under the question they remind of.
    asks = {m.id for m in await outbox(sessions, "checkin.ask")}
    assert {m.thread_of_id for m in reminders} <= asks and None not in {m.thread_of_id for m in reminders}
    async with sessions() as session:
        checkins = (await session.exec(select(CheckIn))).all()
        assert {c.status for c in checkins} == {"expired"}
        churn = await f.model(session, "churn")
        assert churn.health == "silent"


async def test_expiry_comes_at_the_end_of_the_period_at_the_latest(sessions, portfolio):
    policy = f.POLICY.__class__(timezone="UTC", default_cadence=f.POLICY.default_cadence, reminder_after=timedelta(days=3), max_reminders=10)
    await run_tick(sessions, TUESDAY, policy)
    await run_tick(sessions, TUESDAY + timedelta(days=3), policy)
    await run_tick(sessions, TUESDAY + timedelta(days=6), policy)
    report = await run_tick(sessions, TUESDAY + timedelta(days=7), policy)
    assert report.expired == EXPECTED
    assert len(await outbox(sessions, "checkin.reminder")) == 2 * EXPECTED


async def test_people_away_are_skipped_not_asked(sessions, portfolio):
    async with transaction(sessions) as session:
        ana = await f.person(session, "ana")
        ana.away_until = date(2026, 3, 5)
        session.add(ana)
    report = await run_tick(sessions, TUESDAY)
    assert report.skipped_away == 2 and report.created == 2
    asks = await outbox(sessions, "checkin.ask")
    async with sessions() as session:
        ana = await f.person(session, "ana")
        assert all(m.person_id != ana.id for m in asks)
        skipped = (await session.exec(select(CheckIn).where(CheckIn.person_id == ana.id))).all()
        assert {c.status for c in skipped} == {"skipped"}
    # Back the week after: asked again.
    assert (await run_tick(sessions, TUESDAY + timedelta(weeks=1))).created == EXPECTED


async def test_models_not_yet_deployed_and_retired_models_are_not_asked_about(sessions):
    portfolio = f.small_portfolio().model_dump()
    portfolio["models"][0]["deployed"] = date(2026, 3, 20)
    async with sessions() as session:
        await f.sync(session, f.decl(**portfolio))
        fraud = await f.model(session, "fraud")
        await retire_model(session, fraud, None, NOW)
        await session.commit()
    report = await run_tick(sessions, TUESDAY)
    assert report.created == 1  # only demand: churn is not deployed yet, fraud is retired
    async with sessions() as session:
        demand = (await session.exec(select(MLModel).where(MLModel.key == "demand"))).one()
    assert {k[0] for k in await checkin_keys(sessions)} == {demand.id}


async def test_no_reminder_reaches_someone_away_and_the_first_comes_the_morning_they_are_back(sessions, portfolio):
    await run_tick(sessions, TUESDAY)  # Ana is asked about churn and demand, then goes away until Thursday
    async with transaction(sessions) as session:
        ana = await f.person(session, "ana")
        ana.away_until = date(2026, 3, 5)
        session.add(ana)
    assert (await run_tick(sessions, TUESDAY + timedelta(days=1))).reminded == 2  # Bo and Cy only
    assert (await run_tick(sessions, TUESDAY + timedelta(days=2))).reminded == 2  # their second; Ana is still away
    reminders = await outbox(sessions, "checkin.reminder")
    assert ana.id not in {m.person_id for m in reminders}
    friday = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)  # back: the morning after, at the cadence's time
    assert (await run_tick(sessions, friday - timedelta(minutes=1))).reminded == 0
    assert (await run_tick(sessions, friday)).reminded == 2
    ana_reminders = [m.key for m in await outbox(sessions, "checkin.reminder") if m.person_id == ana.id]
    assert len(ana_reminders) == 2 and all(key.endswith(":reminder:1") for key in ana_reminders)


async def test_reminders_go_out_on_the_recipients_workdays_only(sessions, portfolio):
    policy = f.POLICY.__class__(timezone="UTC", default_cadence=f.POLICY.default_cadence, reminder_after=timedelta(days=4), max_reminders=2)
    await run_tick(sessions, TUESDAY, policy)
    saturday = TUESDAY + timedelta(days=4)
    assert (await run_tick(sessions, saturday, policy)).reminded == 0
    assert (await run_tick(sessions, saturday + timedelta(days=1), policy)).reminded == 0
    # Cy lives in Tokyo, where Monday 10:00 comes nine hours before it does in UTC.
    assert (await run_tick(sessions, datetime(2026, 3, 9, 1, 0, tzinfo=UTC), policy)).reminded == 1
    assert (await run_tick(sessions, datetime(2026, 3, 9, 10, 0, tzinfo=UTC), policy)).reminded == EXPECTED - 1


async def test_the_tick_forgets_the_state_of_forms_abandoned_for_days(sessions, portfolio):
    from storage import forms as form_store
    from storage.models import FormDraft

    async with sessions() as session:
        await form_store.create_draft(session=session, key="old", state='{"link": "..."}', now=TUESDAY - timedelta(days=3))
        await form_store.create_draft(session=session, key="open", state="{}", now=TUESDAY - timedelta(hours=1))
        await session.commit()
    await run_tick(sessions, TUESDAY)
    async with sessions() as session:
        assert [d.key for d in (await session.exec(select(FormDraft))).all()] == ["open"]
