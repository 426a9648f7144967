"""Sending through Slack: DMs, threads, identities by email, and 429s waited out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.delivery import LEASE
from storage import delivery as delivery_store
from storage.models import PlatformIdentity
from tests.bot.fakes import Crash
from tests.conftest import TUESDAY
from tests.helpers import outbox


async def test_checkins_reach_each_person_by_dm_and_identities_are_learned(slack_runtime, fake_slack, sessions):
    result = await slack_runtime.tick(TUESDAY)
    assert result.delivery.sent == 4
    posts = fake_slack.ok("chat.postMessage")
    assert sorted(p["channel"] for p in posts) == ["UANA", "UANA", "UBO", "UCY"]
    churn = next(p for p in posts if p["channel"] == "UBO")
    assert churn["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Check-in: Churn predictor", "emoji": True}}
    assert [e["text"]["text"] for e in churn["blocks"][2]["elements"]][:4] == ["Yes, works well", "Yes, but with problems", "No, we stopped", "Not me / not sure"]
    assert [c.method for c in fake_slack.calls].count("users.lookupByEmail") == 3  # once per person, then remembered
    async with sessions() as session:
        identities = {i.external_id for i in (await session.exec(select(PlatformIdentity))).all()}
    assert identities == {"UANA", "UBO", "UCY"}
    sent = [m for m in await outbox(sessions, "checkin.ask")]
    assert {m.conversation_id for m in sent} == {"DANA", "DBO", "DCY"} and all(m.message_id for m in sent)


async def test_rate_limits_are_waited_out_and_nothing_is_doubled(slack_runtime, fake_slack):
    fake_slack.throttle["chat.postMessage"] = 3
    result = await slack_runtime.tick(TUESDAY)
    assert result.delivery.sent == 4 and result.delivery.failed == 0
    refused = [c for c in fake_slack.calls if c.status == 429]
    assert len(refused) == 3
    assert len(fake_slack.ok("chat.postMessage")) == 4


async def test_someone_not_on_slack_is_reported_not_retried_forever(slack_runtime, fake_slack, sessions):
    del fake_slack.users["UCY"]
    result = await slack_runtime.tick(TUESDAY)
    assert (result.delivery.sent, result.delivery.failed) == (3, 1)
    failed = [m for m in await outbox(sessions) if m.status == "failed"]
    assert len(failed) == 1 and failed[0].last_error == "Unreachable: Cy Tokyo has no Slack account that mlpulse can find"


async def test_reminders_go_into_the_questions_thread(slack_runtime, fake_slack):
    await slack_runtime.tick(TUESDAY)
    await slack_runtime.tick(TUESDAY + timedelta(days=1))
    posts = fake_slack.ok("chat.postMessage")
    questions = {p["channel"] if not p["channel"].startswith("U") else "D" + p["channel"][1:]: p for p in posts[:4]}
    reminders = posts[4:]
    assert len(reminders) == 4
    assert all(r["channel"].startswith("D") and r.get("thread_ts") for r in reminders)
    assert all(r["text"].startswith("Check-in:") and "Reminder 1 of 2." in r["blocks"][1]["text"]["text"] for r in reminders)
    assert {r["channel"] for r in reminders} <= set(questions)


async def test_a_crash_after_slack_accepted_a_message_does_not_send_it_twice(slack_runtime, fake_slack, sessions, monkeypatch):
    real = delivery_store.update_message_sent
    recorded = 0

    async def dying(**kwargs):
        nonlocal recorded
        recorded += 1
        if recorded == 2:  # Slack took the second message; the process dies before writing that down
            raise Crash()
        return await real(**kwargs)

    monkeypatch.setattr(delivery_store, "update_message_sent", dying)
    with pytest.raises(Crash):
        await slack_runtime.tick(TUESDAY)
    monkeypatch.setattr(delivery_store, "update_message_sent", real)
    first_posts = fake_slack.ok("chat.postMessage")
    assert len(first_posts) == 2

    restarted = await slack_runtime.tick(TUESDAY + LEASE + timedelta(seconds=1))
    assert restarted.delivery.sent == 3  # one found on Slack and recorded, two sent
    posts = fake_slack.ok("chat.postMessage")
    keys = [p["metadata"]["event_payload"]["key"] for p in posts]
    assert len(posts) == 4 and len(set(keys)) == 4
    assert [c.method for c in fake_slack.calls].count("conversations.history") == 3
    rows = {m.key: m for m in await outbox(sessions, "checkin.ask")}
    assert all(m.status == "sent" for m in rows.values())
    crashed = first_posts[1]["metadata"]["event_payload"]["key"]
    ts = next(c.response["ts"] for c in fake_slack.calls if c.body is first_posts[1])
    assert rows[crashed].message_id == ts
