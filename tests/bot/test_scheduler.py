"""The APScheduler wiring: one tick job, registered explicitly, run at start-up and every minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import ManualClock
from bot.config import Settings
from bot.runtime import Runtime
from bot.scheduler import TICK_SECONDS, build_scheduler
from storage import people as people_store
from storage.models import Person
from tests import factories as f
from tests.bot.fakes import RecordingMessenger
from tests.conftest import TUESDAY
from tests.helpers import checkin_keys


async def test_the_tick_job_is_registered_to_catch_up_at_once_and_then_every_minute(engine, sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
    runtime = Runtime(Settings(app=f.small_portfolio()), engine, RecordingMessenger(), ManualClock(TUESDAY))
    before = datetime.now(UTC)
    scheduler = build_scheduler(runtime)
    jobs = scheduler.get_jobs()
    assert [job.id for job in jobs] == ["tick"]
    job = jobs[0]
    assert isinstance(job.trigger, IntervalTrigger) and job.trigger.interval == timedelta(seconds=TICK_SECONDS)
    assert job.max_instances == 1 and job.coalesce is True
    assert before <= job.next_run_time <= datetime.now(UTC)  # runs as soon as the scheduler starts

    await job.func()  # what the scheduler runs: a whole tick, at the runtime's clock, delivered
    assert len(await checkin_keys(sessions)) == 4
    assert {target.person.key for target, _, _ in runtime.messenger.sent} == {"ana", "bo", "cy"}


async def test_a_failing_tick_does_not_stop_the_scheduler(engine, caplog):
    runtime = Runtime(Settings(app=f.small_portfolio()), engine, RecordingMessenger(), ManualClock(TUESDAY))

    async def broken(now=None):
        raise RuntimeError("database restarting")

    runtime.tick = broken
    job = build_scheduler(runtime).get_jobs()[0]
    await job.func()  # logs instead of raising, so the next minute's tick still runs
    assert "tick failed; the next one will retry" in caplog.text


async def test_a_tick_step_that_raises_is_logged_and_the_other_steps_and_delivery_still_run(engine, sessions, caplog):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
    runtime = Runtime(Settings(app=f.small_portfolio()), engine, RecordingMessenger(), ManualClock(TUESDAY))

    async def broken_forums(session, policy, now, batch):
        session.add(Person(key="half-done", display_name="Half done", timezone="UTC"))  # work the step did before it raised
        await session.flush()
        raise RuntimeError("a forum the step cannot handle")

    runtime.steps = (broken_forums, *runtime.steps)
    result = await runtime.tick()
    assert result.work.failed == ["broken_forums"] and result.work.created == 4
    assert {target.person.key for target, _, _ in runtime.messenger.sent} == {"ana", "bo", "cy"}  # delivered all the same
    assert "tick step broken_forums failed" in caplog.text and "a forum the step cannot handle" in caplog.text
    async with sessions() as session:
        assert await people_store.get_person_by_key(session=session, key="half-done") is None  # its batch rolled back
    # The dry run of the same tick shows what the other steps would send.
    runtime.clock = ManualClock(TUESDAY + timedelta(weeks=1))
    pending = await runtime.preview_tick(runtime.clock.now())
    assert len([p for p in pending if not p[2]]) == 4  # the new week's questions (the old ones are updated in place: expired)
