"""Delivery through the outbox: nothing lost, nothing sent twice, through crashes and failures."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from bot.clock import SystemClock
from bot.config import Settings
from bot.delivery import LEASE, Unreachable, deliver_due
from bot.runtime import TRY_AGAIN, Runtime
from bot.slack.messenger import SlackMessenger
from handlers import router
from handlers.actions import ActionId
from storage.db import create_engine, session_factory
from storage.models import CheckIn
from tests import factories as f
from tests.bot.fakes import Crash, RecordingMessenger
from tests.conftest import TUESDAY
from tests.helpers import outbox, run_tick


@pytest.fixture
async def queued(sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
    await run_tick(sessions, TUESDAY)
    return len(await outbox(sessions, "checkin.ask"))


def recipients(messenger: RecordingMessenger) -> Counter:
    return Counter((target.person.key, view.title) for target, view, _ in messenger.sent)


async def test_everything_queued_is_sent_once(sessions, queued):
    messenger = RecordingMessenger()
    report = await deliver_due(sessions, messenger, f.POLICY, TUESDAY)
    assert report.sent == queued == 4
    assert recipients(messenger) == Counter(
        {
            ("ana", "Check-in: Churn predictor"): 1,
            ("bo", "Check-in: Churn predictor"): 1,
            ("cy", "Check-in: Invoice fraud screen"): 1,
            ("ana", "Check-in: Demand forecast"): 1,
        }
    )
    assert (await deliver_due(sessions, messenger, f.POLICY, TUESDAY + timedelta(hours=1))).sent == 0
    sent = [m for m in await outbox(sessions) if m.status == "sent"]
    assert len(sent) == 4 and all(m.message_id and m.conversation_id and m.sent_at == TUESDAY for m in sent)


async def test_a_crash_mid_delivery_loses_nothing_and_repeats_nothing(sessions, queued):
    dying = RecordingMessenger(fail={3: Crash()})
    with pytest.raises(Crash):
        await deliver_due(sessions, dying, f.POLICY, TUESDAY)
    assert len(dying.sent) == 2
    # Restarted straight away, the claims of the dead process still hold: nothing is doubled.
    restarted = RecordingMessenger()
    await deliver_due(sessions, restarted, f.POLICY, TUESDAY + timedelta(minutes=1))
    assert restarted.sent == []
    # Once the dead process's lease runs out, the rest goes out.
    await deliver_due(sessions, restarted, f.POLICY, TUESDAY + LEASE + timedelta(seconds=1))
    assert recipients(dying) + recipients(restarted) == Counter(dict.fromkeys(recipients(dying) + recipients(restarted), 1))
    assert len(dying.sent) + len(restarted.sent) == queued


async def test_a_failed_send_is_retried_with_backoff(sessions, queued):
    flaky = RecordingMessenger(fail={1: RuntimeError("HTTP 503")})
    report = await deliver_due(sessions, flaky, f.POLICY, TUESDAY)
    assert (report.sent, report.failed) == (3, 1)
    failed = [m for m in await outbox(sessions) if m.status == "queued"]
    assert len(failed) == 1 and failed[0].last_error == "RuntimeError: HTTP 503"
    assert failed[0].not_before == TUESDAY + timedelta(seconds=60)
    assert (await deliver_due(sessions, flaky, f.POLICY, TUESDAY + timedelta(seconds=30))).sent == 0
    assert (await deliver_due(sessions, flaky, f.POLICY, TUESDAY + timedelta(seconds=61))).sent == 1
    assert sum(recipients(flaky).values()) == queued == len(recipients(flaky))


async def test_an_unreachable_person_is_marked_failed_not_retried_forever(sessions, queued):
    messenger = RecordingMessenger(fail={1: Unreachable("not installed in Teams")})
    await deliver_due(sessions, messenger, f.POLICY, TUESDAY)
    failed = [m for m in await outbox(sessions) if m.status == "failed"]
    assert len(failed) == 1 and "not installed in Teams" in failed[0].last_error
    assert (await deliver_due(sessions, messenger, f.POLICY, TUESDAY + timedelta(days=1))).sent == 0


async def test_a_reminder_for_an_answered_checkin_is_dropped(sessions, queued):
    messenger = RecordingMessenger()
    await deliver_due(sessions, messenger, f.POLICY, TUESDAY)
    await run_tick(sessions, TUESDAY + timedelta(days=1))  # queues reminders
    async with sessions() as session:
        ana = await f.person(session, "ana")
        for section in (await router.handle_command(session, f.ctx(ana, TUESDAY), "/mlpulse checkins")).view.sections:
            await router.handle_action(session, f.ctx(ana, TUESDAY + timedelta(days=1)), ActionId.CHECKIN_WORKS, section.buttons[0].value)
        await session.commit()
    report = await deliver_due(sessions, messenger, f.POLICY, TUESDAY + timedelta(days=1))
    assert report.skipped == 2 and report.sent == 2  # Bo's and Cy's reminders still go
    reminders = [(t.person.key, thread is not None) for t, v, thread in messenger.sent if v.text.startswith("Reminder 1 of 2")]
    assert sorted(reminders) == [("bo", True), ("cy", True)]


async def test_database_outage_during_a_button_press_changes_nothing(engine, sessions, queued):
    runtime = Runtime(Settings(app=f.small_portfolio()), engine, RecordingMessenger())
    async with sessions() as session:
        ana = await f.person(session, "ana")
    checkin_id = (await outbox(sessions, "checkin.ask"))[0].subject_id
    down = create_engine("postgresql://nobody@127.0.0.1:1/down")
    runtime.sessions = session_factory(down)
    try:
        reply = await runtime.act(ana.id, "test", router.handle_action, ActionId.CHECKIN_WORKS, str(checkin_id))
    finally:
        await down.dispose()
    assert reply.view.text == TRY_AGAIN
    async with sessions() as session:
        checkin = await session.get(CheckIn, checkin_id)
    assert checkin.status == "open" and checkin.answer is None


async def test_two_senders_at_once_each_pace_at_half_the_ceiling_and_send_each_message_once(shared_engines):
    first, second = (session_factory(e) for e in shared_engines)
    async with first() as session:
        await f.sync(session, f.small_portfolio())
    await run_tick(first, TUESDAY)  # four check-ins
    slow = [RecordingMessenger(delay=0.3), RecordingMessenger(delay=0.3)]
    clock = SystemClock().now
    await asyncio.gather(
        *(
            deliver_due(sessions, messenger, f.POLICY, TUESDAY, clock=clock, lease=timedelta(seconds=0.6), limit=2, sender=name)
            for sessions, messenger, name in zip((first, second), slow, ("replica-1", "replica-2"), strict=True)
        )
    )
    assert all(2 in m.shares for m in slow), [m.shares for m in slow]  # while both held claims, each took half
    assert sorted(len(m.sent) for m in slow) == [2, 2]
    assert sum(recipients(slow[0]).values()) + sum(recipients(slow[1]).values()) == len(recipients(slow[0]) + recipients(slow[1])) == 4


def test_a_slack_messenger_told_of_a_second_sender_paces_at_half_its_ceiling():
    messenger = SlackMessenger(client=None, directory=None, per_minute=600)
    alone = messenger._workspace.max_rate / messenger._workspace.time_period
    messenger.share(2)
    shared = messenger._workspace.max_rate / messenger._workspace.time_period
    assert shared == pytest.approx(alone / 2) and alone == pytest.approx(600 / 60 * 0.95)


async def test_a_sender_stalled_past_its_lease_leaves_the_messages_it_lost_to_their_new_holder(shared_engines):
    first, second = (session_factory(e) for e in shared_engines)
    async with first() as session:
        await f.sync(session, f.small_portfolio())
    await run_tick(first, TUESDAY)  # four check-ins
    stalled, taking_over = RecordingMessenger(), RecordingMessenger()
    unblock, blocked = asyncio.Event(), asyncio.Event()
    real_send = stalled.send

    async def send_after_a_stall(*args, **kwargs):
        if stalled.calls == 0:  # the first post hangs (a platform that stopped answering, a paused process)
            blocked.set()
            await unblock.wait()
        return await real_send(*args, **kwargs)

    stalled.send = send_after_a_stall
    lease = timedelta(minutes=2)
    running = asyncio.create_task(deliver_due(first, stalled, f.POLICY, TUESDAY, clock=lambda: TUESDAY, lease=lease, sender="stalled"))
    await asyncio.wait_for(blocked.wait(), 10)
    # Another replica, for whom the stalled sender's lease has run out, takes the batch over.
    later = TUESDAY + lease + timedelta(seconds=1)
    took = await deliver_due(second, taking_over, f.POLICY, TUESDAY, clock=lambda: later, lease=lease, sender="taking-over")
    unblock.set()
    stalled_report = await asyncio.wait_for(running, 10)
    assert took.sent == 4
    # The stalled sender finishes the post it was in, then finds the rest claimed by another and leaves them.
    assert (stalled_report.sent, stalled_report.lost) == (1, 3)
    assert len(stalled.sent) == 1 and len(taking_over.sent) == 4
