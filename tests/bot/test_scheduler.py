"""The APScheduler wiring: one tick job, registered explicitly, run at start-up and every minute."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import ManualClock
from bot.config import Settings
from bot.runtime import Runtime
from bot.scheduler import TICK_SECONDS, build_scheduler
from tests import factories as f
from tests.bot.fakes import RecordingMessenger
from tests.conftest import TUESDAY
from tests.helpers import checkin_keys


async def test_the_tick_job_is_registered_to_catch_up_at_once_and_then_every_minute(engine, sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
    runtime = Runtime(Settings(app=f.small_portfolio()), engine, RecordingMessenger(), ManualClock(TUESDAY))
    before = datetime.now(timezone.utc)
    scheduler = build_scheduler(runtime)
    jobs = scheduler.get_jobs()
    assert [job.id for job in jobs] == ["tick"]
    job = jobs[0]
    assert isinstance(job.trigger, IntervalTrigger) and job.trigger.interval == timedelta(seconds=TICK_SECONDS)
    assert job.max_instances == 1 and job.coalesce is True
    assert before <= job.next_run_time <= datetime.now(timezone.utc)  # runs as soon as the scheduler starts

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
