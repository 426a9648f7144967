"""Live messages on Teams: what a press or a triage changes is shown, with update_activity, on every copy."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

from handlers.actions import FormId
from tests import factories as f
from tests import helpers
from tests.bot.teams import activities as a
from tests.bot.teams.test_app import buttons, texts
from tests.conftest import POLICY, TUESDAY
from tests.handlers.test_forums import ANNOUNCED, APRIL, SYNCED, forum_portfolio
from tests.handlers.test_reports import GOOD


def card(connector, conversation: str, activity_id: str) -> dict:
    return connector.activities[(conversation, activity_id)]["attachments"][0]["content"]


def titles(content: dict) -> set[str]:
    return {b["title"] for b in buttons(content)}


async def test_a_checkin_answered_from_its_reminder_updates_the_first_question(bot, connector, teams):
    await bot(a.installed(connector.url, "bo"))
    await teams.runtime.tick(TUESDAY)
    reminded = TUESDAY + POLICY.reminder_after
    teams.runtime.clock.set(reminded)
    await teams.runtime.tick(reminded)
    dm = "a:personal-29:bo"
    [question] = [c for c in connector.sent("send") if c.conversation == dm]
    greeting, reminder = [c for c in connector.sent("reply") if c.conversation == dm]
    assert "Yes, works well" in titles(card(connector, dm, reminder.activity_id))

    works = next(b for b in buttons(card(connector, dm, reminder.activity_id)) if b["title"] == "Yes, works well")
    assert (await bot(a.submit(connector.url, "bo", works["data"], reminder.activity_id))).status == 201
    await teams.runtime.deliver(wait=True)
    # The reminder is rewritten by the turn, the question by the outbox: once each.
    assert Counter(u.activity_id for u in connector.sent("update")) == {question.activity_id: 1, reminder.activity_id: 1}
    first = card(connector, dm, question.activity_id)
    assert "Recorded: Yes, works well, by Bo" in texts(first)
    assert "Change answer" in titles(first) and not {"Yes, works well", "No, we stopped", "Remind me tomorrow"} & titles(first)


async def test_a_report_closed_from_the_owners_chat_updates_that_card(bot, connector, teams, sessions):
    await bot(a.installed(connector.url, "owner"))
    await helpers.submit(sessions, "ana", FormId.REPORT, "{}", {**GOOD, "impact": "major"}, TUESDAY)
    await teams.runtime.deliver(wait=True)
    dm = "a:personal-29:owner"
    [alert] = [c for c in connector.sent("send") if c.conversation == dm]
    assert "Triage…" in titles(card(connector, dm, alert.activity_id))

    wont = next(b for b in buttons(card(connector, dm, alert.activity_id)) if b["title"] == "Won't fix…")
    await bot(a.submit(connector.url, "owner", wont["data"], alert.activity_id))
    form_call = [c for c in connector.sent("reply") if c.conversation == dm][-1]  # after the greeting
    form = form_call.body["attachments"][0]["content"]
    [save] = [b for b in buttons(form) if b["data"]["mlpulse"].get("form") == FormId.REPORT_UPDATE]
    values = {**save["data"], "status": "wont_fix", "resolution": "The scores are right: the customers did churn."}
    await bot(a.submit(connector.url, "owner", values, form_call.activity_id))
    await teams.runtime.deliver(wait=True)
    shown = card(connector, dm, alert.activity_id)
    assert "Won't fix" in texts(shown) and "The scores are right" in texts(shown)
    assert titles(shown) == {"Reopen"}


async def test_a_forum_that_has_passed_keeps_no_rsvp_buttons(bot, connector, teams, sessions):
    async with sessions() as session:  # Sales meets monthly; with no channel, its contact Ana is invited in her chat
        await f.sync(session, forum_portfolio(channel=None), SYNCED)
    await bot(a.installed(connector.url, "ana"))
    for at in (ANNOUNCED, APRIL - timedelta(hours=20)):
        teams.runtime.clock.set(at)
        await teams.runtime.tick(at)
    dm = "a:personal-29:ana"
    announcement = next(c for c in connector.sent("send") if c.conversation == dm and "📅" in json.dumps(c.body, ensure_ascii=False))
    reminder = next(c for c in connector.sent("reply") if c.conversation == dm and "⏰" in json.dumps(c.body, ensure_ascii=False))
    assert {"Going", "Can't make it"} <= titles(card(connector, dm, announcement.activity_id)) & titles(card(connector, dm, reminder.activity_id))

    after = APRIL + timedelta(hours=2)
    teams.runtime.clock.set(after)
    await teams.runtime.tick(after)
    for activity in (announcement, reminder):
        assert not {"Going", "Can't make it"} & titles(card(connector, dm, activity.activity_id))
    assert "This forum has taken place." in texts(card(connector, dm, announcement.activity_id))
    assert "RSVPs are closed" in texts(card(connector, dm, reminder.activity_id))
