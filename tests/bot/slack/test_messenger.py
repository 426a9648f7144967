"""Sending through Slack: DMs, threads, identities by email, 429s waited out, and connection resets survived without duplicates."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from sqlmodel import select

from bot.delivery import MessageRef, Target
from handlers.views import Message
from storage import delivery as delivery_store
from storage.models import PlatformIdentity
from tests import factories as f
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
    assert [e["text"]["text"] for e in churn["blocks"][2]["elements"]][:4] == [
        "Yes, works well",
        "Yes, but with problems",
        "No, we stopped",
        "Not me / not sure",
    ]
    assert [c.method for c in fake_slack.calls].count("users.lookupByEmail") == 3  # once per person, then remembered
    async with sessions() as session:
        identities = {i.external_id for i in (await session.exec(select(PlatformIdentity))).all()}
    assert identities == {"UANA", "UBO", "UCY"}
    sent = list(await outbox(sessions, "checkin.ask"))
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

    slack_runtime.clock.set(TUESDAY + slack_runtime.lease + timedelta(seconds=1))  # the dead process's claims run out
    restarted = await slack_runtime.tick()
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


@pytest.fixture
async def messenger(slack_runtime):
    """The real SlackMessenger on the fake, its client's retries without their back-off pauses."""
    for handler in slack_runtime.messenger.client.retry_handlers:
        handler.interval_calculator = FixedValueRetryIntervalCalculator(0)
    return slack_runtime.messenger


async def targets(sessions) -> dict[str, Target]:
    async with sessions() as session:
        people = {key: await f.person(session, key) for key in ("ana", "bo", "cy")}
    return {**{key: Target(person=p) for key, p in people.items()}, "digest": Target(channel="C0DIGEST")}


def stored(fake_slack, key: str) -> list[tuple[str, str]]:
    """Return where the fake stored each message tagged with `key`."""
    return [where for where, body in fake_slack.messages.items() if ((body.get("metadata") or {}).get("event_payload") or {}).get("key") == key]


async def test_a_reset_after_slack_accepted_a_post_does_not_post_it_twice(messenger, fake_slack, sessions):
    fake_slack.reset_after["chat.postMessage"] = 3  # Slack takes each post, and the answer is lost
    refs = {key: await messenger.send(target, Message(title=f"For {key}"), key=f"k-{key}") for key, target in (await targets(sessions)).items()}
    for key, ref in refs.items():
        where = stored(fake_slack, f"k-{key}")
        assert where == [(ref.conversation_id, ref.message_id)], key
        assert fake_slack.messages[where[0]]["text"] == f"For {key}"
    assert [c.status for c in fake_slack.calls if c.method == "chat.postMessage"] == [0, 0, 0, 200]
    assert refs["ana"] == MessageRef("slack", "DANA", refs["ana"].message_id) and refs["digest"].conversation_id == "C0DIGEST"


async def test_a_reset_before_slack_took_a_post_posts_it_again(messenger, fake_slack, sessions):
    fake_slack.reset_before["chat.postMessage"] = 2
    ref = await messenger.send((await targets(sessions))["bo"], Message(title="Hello"), key="k-bo")
    assert [c.status for c in fake_slack.calls if c.method == "chat.postMessage"] == [0, 0, 200]
    assert [c.method for c in fake_slack.calls].count("conversations.history") == 2  # looked for it after each reset
    assert stored(fake_slack, "k-bo") == [(ref.conversation_id, ref.message_id)] == [("DBO", ref.message_id)]


async def test_a_connection_that_keeps_resetting_gives_up_after_a_few_posts(messenger, fake_slack, sessions):
    fake_slack.reset_before["chat.postMessage"] = 100
    with pytest.raises(aiohttp.ClientConnectionError):
        await messenger.send((await targets(sessions))["cy"], Message(title="Hello"), key="k-cy")
    assert [c.method for c in fake_slack.calls].count("chat.postMessage") == 3
    assert fake_slack.messages == {}


async def test_a_post_without_a_key_is_not_posted_again_after_a_reset(messenger, fake_slack, sessions):
    fake_slack.reset_after["chat.postMessage"] = 1
    with pytest.raises(aiohttp.ClientConnectionError):
        await messenger.send((await targets(sessions))["digest"], Message(title="Untagged"))
    assert [c.method for c in fake_slack.calls].count("chat.postMessage") == 1
    assert [body["text"] for body in fake_slack.messages.values()] == ["Untagged"]  # Slack has it once; the outbox decides what next


async def test_reads_are_still_retried_after_a_reset(messenger, fake_slack, sessions):
    sent = await messenger.send((await targets(sessions))["ana"], Message(title="Hello"), key="k-ana")
    fake_slack.reset_before["conversations.history"] = 1
    fake_slack.reset_after["conversations.open"] = 1
    assert await messenger.find_sent((await targets(sessions))["ana"], None, "k-ana") == sent
    fake_slack.reset_after["users.info"] = 2
    stranger = await messenger.directory.person_for("UOWNER")
    assert stranger.display_name == "Owner"
    assert [c.status for c in fake_slack.calls if c.method in ("conversations.open", "conversations.history", "users.info")] == [0, 200, 0, 200, 0, 0, 200]
