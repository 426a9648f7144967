"""The weekly digest: exactly once per channel and week across restarts, late ticks and two processes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.clock import ManualClock
from bot.config import Settings
from bot.runtime import Runtime
from bot.scheduler import build_scheduler
from storage.models import Digest
from tests import factories as f
from tests.bot.fakes import RecordingMessenger
from tests.conftest import POLICY

DIGEST = replace(POLICY, digest_channel="#ml-digest", digest_cron="0 9 * * mon")
MONDAY_9 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def process(engine, now: datetime) -> Runtime:
    """A bot process on `engine` whose clock says `now`."""
    runtime = Runtime(Settings(app=f.small_portfolio()), engine, RecordingMessenger(), ManualClock(now))
    runtime.policy = DIGEST
    return runtime


def digests(*runtimes: Runtime) -> list:
    return [(target.channel, view) for r in runtimes for target, view, _ in r.messenger.sent if target.channel == "#ml-digest"]


@pytest.fixture
async def engines(shared_engines):
    async with Runtime(Settings(), shared_engines[0], None).sessions() as session:
        await f.sync(session, f.small_portfolio())
    return shared_engines


async def claims(engine) -> list[Digest]:
    async with Runtime(Settings(), engine, None).sessions() as session:
        return list((await session.exec(select(Digest))).all())


async def test_nothing_is_posted_before_the_cron_moment_and_once_at_it(engines):
    first = process(engines[0], MONDAY_9 - timedelta(minutes=1))
    await first.tick()
    assert digests(first) == []  # the week to Mon 2 Mar ended before the portfolio was synced (at noon that day)
    await first.tick(MONDAY_9)
    [(_, view)] = digests(first)
    assert view.title == "Weekly ML digest · week to Mon 9 Mar 2026"
    [chart] = view.attachments
    assert chart.filename == "portfolio-health-2026-03-09.png" and chart.content.startswith(b"\x89PNG")


async def test_a_restarted_process_does_not_post_the_week_again(engines):
    before = process(engines[0], MONDAY_9)
    await before.tick()
    await before.close()
    after = process(engines[1], MONDAY_9 + timedelta(minutes=3))  # a new process, a new pool
    await after.tick()
    await after.tick(MONDAY_9 + timedelta(days=2))
    assert len(digests(before)) == 1 and digests(after) == []
    assert [c.week_key for c in await claims(engines[1])] == ["2026-W11"]


async def test_a_late_catch_up_tick_posts_the_week_once(engines):
    late = process(engines[0], MONDAY_9 + timedelta(days=2, hours=5))  # the bot was down from Sunday to Wednesday
    await late.tick()
    await late.tick(MONDAY_9 + timedelta(days=2, hours=5, minutes=1))
    [(_, view)] = digests(late)
    assert view.title == "Weekly ML digest · week to Mon 9 Mar 2026"  # the week it was due for
    await late.tick(MONDAY_9 + timedelta(days=7))
    assert len(digests(late)) == 2  # the next week's, once


async def test_two_processes_on_one_database_post_once(engines):
    one, two = process(engines[0], MONDAY_9), process(engines[1], MONDAY_9)
    for _ in range(3):
        await asyncio.gather(one.tick(), two.tick())
    assert len(digests(one, two)) == 1
    assert len(await claims(engines[0])) == 1


async def test_no_digest_channel_means_no_digest(engines):
    quiet = process(engines[0], MONDAY_9)
    quiet.policy = POLICY
    await quiet.tick()
    assert digests(quiet) == [] and await claims(engines[0]) == []


async def test_the_scheduler_registers_the_digest_cron_in_the_workspace_time_zone(engines):
    runtime = process(engines[0], MONDAY_9)
    runtime.policy = replace(DIGEST, timezone="America/New_York")
    scheduler = build_scheduler(runtime)
    job = scheduler.get_job("digest")
    assert str(job.trigger.timezone) == "America/New_York"
    fire = job.trigger.get_next_fire_time(None, datetime(2026, 3, 8, tzinfo=UTC))
    assert fire.isoformat() == "2026-03-09T09:00:00-04:00"


async def test_a_new_install_posts_no_digest_for_a_week_that_ended_before_it_existed(shared_engines):
    installed = MONDAY_9 + timedelta(days=2)  # the Wednesday after the cron moment
    async with Runtime(Settings(), shared_engines[0], None).sessions() as session:
        await f.sync(session, f.small_portfolio(), installed)
    bot = process(shared_engines[0], installed)
    await bot.tick()
    await bot.tick(installed + timedelta(days=3))
    assert digests(bot) == [] and await claims(shared_engines[0]) == []
    await bot.tick(MONDAY_9 + timedelta(weeks=1))  # the first cron moment after the install
    assert [view.title for _, view in digests(bot)] == ["Weekly ML digest · week to Mon 16 Mar 2026"]
