"""Review forums on Slack: scheduling in a modal, the announcement with its .ics, RSVPs updating it in place, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import select

from storage.models import BusinessUnit, ForumRSVP
from tests.bot.slack.requests import command, interaction, opened_modal, option, press, submission, text, until

SCHEDULE = {"unit": option("1"), "every": text("1 week"), "on": text("wed"), "at": text("15:00"), "duration": text("45m"), "announce": text("7d")}


def button(message: dict, label: str) -> dict:
    return next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == label)


def rsvps(message: dict) -> str:
    blocks = message["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return next(f["text"] for b in blocks for f in b.get("fields", []) if f["text"].startswith("*RSVPs*"))


async def test_a_lead_schedules_a_forum_and_rsvps_update_the_announcement_in_place(bot, fake_slack, slack_runtime, sessions):
    async with sessions() as session:
        sales = (await session.exec(select(BusinessUnit).where(BusinessUnit.name == "Sales"))).one()
        sales.channel = "C0SALES"
        session.add(sales)
        await session.commit()

    await command(bot, fake_slack, "UANA", "schedule sales", name="/mlforum")
    await until(lambda: fake_slack.responses())
    assert "Only ML leads can schedule review forums" in json.dumps(fake_slack.responses()[-1])

    await command(bot, fake_slack, "ULEAD", "schedule sales", name="/mlforum")
    await until(lambda: fake_slack.ok("views.open"))
    modal, view_id = opened_modal(fake_slack, "forum.schedule")
    bad = await interaction(bot, submission("ULEAD", modal, view_id, {**SCHEDULE, "at": text("3pm")}))
    assert (await bad.json()) == {"response_action": "errors", "errors": {"at": "invalid time “3pm”: use HH:MM, e.g. 10:00"}}
    assert (await interaction(bot, submission("ULEAD", modal, view_id, SCHEDULE))).status == 200
    await until(lambda: any("Forum scheduled" in json.dumps(r) for r in fake_slack.responses()))

    # The forum is on Wednesday at 15:00, within the 7 days' notice: the tick announces it at once.
    await slack_runtime.tick()
    [post] = [m for m in fake_slack.ok("chat.postMessage") if m["channel"] == "C0SALES"]
    assert post["blocks"][0]["text"]["text"] == "📅 Sales × ML review forum · Wed 4 Mar 2026, 15:00 (UTC)"
    assert rsvps(post).endswith("0 going · 0 can't make it")
    [(channel, files)] = fake_slack.shared
    invite = fake_slack.uploads[files[0]["id"]]
    assert channel == "C0SALES" and files[0]["title"] == "Calendar invite (.ics)"
    assert invite.startswith(b"BEGIN:VCALENDAR") and b"\r\nDTSTART:20260304T150000Z\r\n" in invite
    posted = next(c for c in fake_slack.calls if c.method == "chat.postMessage" and c.body["channel"] == "C0SALES")
    ts = posted.response["ts"]

    for user, label, stamp in (("UANA", "Going", "1.1"), ("UBO", "Can't make it", "1.2"), ("UANA", "Going", "1.1")):
        element = button(post, label)
        payload = {**press(user, "C0SALES", ts, element["action_id"], element["value"], action_ts=stamp), "response_url": fake_slack.response_url + user}
        assert (await interaction(bot, payload)).status == 200
    await until(lambda: any(rsvps(u).endswith("1 going · 1 can't make it") for u in fake_slack.ok("chat.update")))
    # Each person is answered privately in the channel; the second press of the same button records nothing new.
    await until(lambda: len(fake_slack.ok("chat.postEphemeral")) == 3)
    # (Interactions run after their acks, so the replies may come in any order.)
    assert sorted((e["user"], "You're going" in json.dumps(e)) for e in fake_slack.ok("chat.postEphemeral")) == [("UANA", True), ("UANA", True), ("UBO", False)]
    # Two answers make at most two updates (a burst makes one; the repeated press adds none), and the last shows both.
    await slack_runtime.settle()
    await slack_runtime.deliver(wait=True)
    updates = [u for u in fake_slack.ok("chat.update") if u["ts"] == ts]
    assert 1 <= len(updates) <= 2 and rsvps(updates[-1]).endswith("1 going · 1 can't make it")
    async with sessions() as session:
        assert len((await session.exec(select(ForumRSVP))).all()) == 2

    # Proposing a topic from the announcement opens the form for that unit.
    element = button(post, "Propose a topic")
    payload = {**press("UANA", "C0SALES", ts, element["action_id"], element["value"], action_ts="1.3"), "response_url": fake_slack.response_url + "t"}
    await interaction(bot, payload)
    await until(lambda: any(c.body["view"]["callback_id"] == "forum.topic" for c in fake_slack.calls if c.method == "views.open"))
    topic_modal, topic_view = opened_modal(fake_slack, "forum.topic")
    await interaction(bot, submission("UANA", topic_modal, topic_view, {"unit": option("1"), "topic": text("Spring promotions")}))
    await until(lambda: any("Spring promotions" in json.dumps(u) for u in fake_slack.ok("chat.update")))

    # Once the forum has met, the announcement keeps its counts and loses its RSVP buttons.
    after = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)  # it met from 15:00 to 15:45
    slack_runtime.clock.set(after)
    await slack_runtime.tick(after)
    last = [u for u in fake_slack.ok("chat.update") if u["ts"] == ts][-1]
    labels = {e["text"]["text"] for b in last["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert not {"Going", "Can't make it"} & labels
    assert "This forum has taken place." in json.dumps(last) and rsvps(last).endswith("1 going · 1 can't make it")
