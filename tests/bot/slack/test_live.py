"""Live messages on Slack: what a press or a triage changes is shown, with chat.update, on every copy."""

from __future__ import annotations

import json

from handlers.actions import FormId
from tests import helpers
from tests.bot.slack.requests import interaction, opened_modal, option, press, submission, text, until
from tests.conftest import POLICY, TUESDAY
from tests.handlers.test_reports import GOOD


def labels(message: dict) -> set[str]:
    return {e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}


def button(message: dict, label: str) -> dict:
    return next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == label)


def posted(fake_slack, predicate) -> tuple[dict, dict]:
    """Return the body and the response of the first chat.postMessage that `predicate` picks."""
    call = next(c for c in fake_slack.calls if c.method == "chat.postMessage" and c.response.get("ok") and predicate(c.body))
    return call.body, call.response


async def test_a_checkin_answered_from_its_reminder_updates_the_first_question(bot, fake_slack, slack_runtime):
    await slack_runtime.tick(TUESDAY)
    reminded = TUESDAY + POLICY.reminder_after
    slack_runtime.clock.set(reminded)
    await slack_runtime.tick(reminded)
    question, asked = posted(fake_slack, lambda b: b["channel"] == "UBO" and "thread_ts" not in b)
    reminder, sent = posted(fake_slack, lambda b: b["channel"] == asked["channel"] and b.get("thread_ts") == asked["ts"])
    assert "Yes, works well" in labels(question) and "Yes, works well" in labels(reminder)

    works = button(reminder, "Yes, works well")
    assert (await interaction(bot, press("UBO", sent["channel"], sent["ts"], works["action_id"], works["value"]))).status == 200
    await until(lambda: any(u["ts"] == asked["ts"] for u in fake_slack.ok("chat.update")))
    await slack_runtime.settle()
    by_ts = {}
    for update in fake_slack.ok("chat.update"):
        by_ts.setdefault(update["ts"], []).append(update)
    # The reminder is rewritten by the press, the question by the outbox: once each.
    assert sorted(len(v) for v in by_ts.values()) == [1, 1] and set(by_ts) == {asked["ts"], sent["ts"]}
    [first] = by_ts[asked["ts"]]
    assert "✅ Recorded: Yes, works well, by Bo" in json.dumps(first, ensure_ascii=False)
    assert "Change answer" in labels(first) and not {"Yes, works well", "No, we stopped", "Remind me tomorrow"} & labels(first)


async def test_a_report_closed_from_the_owners_dm_updates_that_dm(bot, fake_slack, slack_runtime, sessions):
    await helpers.submit(sessions, "ana", FormId.REPORT, "{}", {**GOOD, "impact": "major"}, TUESDAY)
    await slack_runtime.deliver(wait=True)
    dm, sent = posted(fake_slack, lambda b: b["channel"] == "UOWNER")
    assert "Triage…" in labels(dm)

    wont = button(dm, "Won't fix…")
    await interaction(bot, press("UOWNER", sent["channel"], sent["ts"], wont["action_id"], wont["value"]))
    await until(lambda: fake_slack.ok("views.open"))
    modal, view_id = opened_modal(fake_slack, "report.update")
    values = {"status": option("wont_fix"), "resolution": text("The scores are right: the customers did churn.")}
    assert (await interaction(bot, submission("UOWNER", modal, view_id, values))).status == 200
    await until(lambda: any(u["ts"] == sent["ts"] for u in fake_slack.ok("chat.update")))
    [update] = [u for u in fake_slack.ok("chat.update") if u["ts"] == sent["ts"]]
    assert update["channel"] == sent["channel"]
    assert "*Status*\nWon't fix" in json.dumps(update, ensure_ascii=False).replace("\\n", "\n")
    assert labels(update) == {"Reopen"}
    assert "The scores are right" in json.dumps(update)
