"""An anonymous report on Slack, filed by every path, at DEBUG: nothing stored or logged leads back to its reporter."""

from __future__ import annotations

import json
import logging

import pytest
from sqlmodel import select

from storage.models import FailureReport
from tests import anonymity
from tests import factories as f
from tests.bot.slack.requests import command, interaction, opened_modal, option, press, submission, text, ticked, until
from tests.conftest import TUESDAY

SLACK_ID, DM = "U0ZQ7731", "D0ZQ7731"  # the fake opens a user's DM as D + the rest of their id
PUBLIC, PRIVATE = "C0SALES", "C0HUSH"
PATHS = ("slash command", "check-in button", "shortcut in the DM", "shortcut in a channel", "shortcut in a thread", "shortcut in a private channel", "stranger")


def portfolio(named: bool):
    """The small portfolio, with the reporter declared (a stakeholder of churn) unless they are a stranger to mlpulse."""
    base = f.small_portfolio()
    if not named:
        return base
    people = [p.model_dump() for p in base.people] + [anonymity.person_decl(slack=SLACK_ID)]
    models = [m.model_dump() | ({"stakeholders": [*m.stakeholders, anonymity.KEY]} if m.key == "churn" else {}) for m in base.models]
    return f.decl(people=people, units=[u.model_dump() for u in base.units], models=models, leads=list(base.leads))


def shortcut(fake, channel: str, ts: str, thread_ts: str | None = None) -> dict:
    message = {"ts": ts, "text": "the forecast looks wrong here", **({"thread_ts": thread_ts} if thread_ts else {})}
    return {
        "type": "message_action",
        "callback_id": "report_problem",
        "trigger_id": "trig.short",
        "response_url": fake.response_url + "7",
        "user": {"id": SLACK_ID, "name": "zelda.q"},
        "channel": {"id": channel, "name": "directmessage" if channel == DM else "sales"},
        "message_ts": ts,
        "message": message,
        "team": {"id": "T0001"},
    }


@pytest.mark.parametrize("path", PATHS)
async def test_an_anonymous_report_leaves_no_trace_of_its_reporter(path, bot, fake_slack, slack_runtime, sessions, caplog):
    fake_slack.add_user(SLACK_ID, anonymity.EMAIL, anonymity.NAME, "Europe/Paris")
    fake_slack.private_channels.add(PRIVATE)
    named = path != "stranger"
    async with sessions() as session:
        await f.sync(session, portfolio(named))
    await slack_runtime.tick(TUESDAY)  # the reporter's check-in DM goes out (to a named reporter)
    question = next((c for c in fake_slack.calls if c.method == "chat.postMessage" and c.body["channel"] == SLACK_ID), None)
    assert (question is not None) == named
    dm_ts = question.response["ts"] if question else "1700000000.000001"
    needles = anonymity.needles(SLACK_ID, SLACK_ID[1:], DM, dm_ts, dm_ts.replace(".", ""), "1700000500.000900", "1700000500000900")
    if path.startswith("shortcut") and path != "shortcut in the DM":
        needles += [PUBLIC if "private" not in path else PRIVATE]
    before = await anonymity.stored_values(sessions)
    caplog.clear()
    caplog.set_level(logging.DEBUG)

    if path in ("slash command", "stranger"):
        await command(bot, fake_slack, SLACK_ID, "churn", name="/mlreport")
    elif path == "check-in button":
        button = next(e for b in question.body["blocks"] if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == "Report a problem")
        await interaction(bot, press(SLACK_ID, DM, dm_ts, button["action_id"], button["value"]))
    elif path == "shortcut in the DM":
        await interaction(bot, shortcut(fake_slack, DM, dm_ts))
    elif path == "shortcut in a channel":
        await interaction(bot, shortcut(fake_slack, PUBLIC, "1700000500.000900"))
    elif path == "shortcut in a thread":
        await interaction(bot, shortcut(fake_slack, PUBLIC, "1700000500.000950", thread_ts="1700000500.000900"))
    else:
        await interaction(bot, shortcut(fake_slack, PRIVATE, "1700000500.000900"))
    await until(lambda: fake_slack.ok("views.open"))
    modal, view_id = opened_modal(fake_slack, "report.file")
    if path in ("shortcut in the DM", "shortcut in a private channel"):
        assert "will not link to it or quote it" in json.dumps(modal)  # the reporter is told before submitting
    if path in ("shortcut in a channel", "shortcut in a thread"):
        assert "an anonymous report keeps no link" in json.dumps(modal)
    values = {"model": option("churn"), "what_happened": text("Every score is 0.5 since the release."), "impact": option("critical"), "anonymous": ticked()}
    assert (await interaction(bot, submission(SLACK_ID, modal, view_id, values))).status == 200
    await until(lambda: any(m["channel"] == "UOWNER" for m in fake_slack.ok("chat.postMessage")))

    async with sessions() as session:
        [report] = (await session.exec(select(FailureReport))).all()
    assert (report.anonymous, report.reporter_id, report.checkin_id, report.link) == (True, None, None, None)
    receipts = fake_slack.responses() + fake_slack.ok("chat.postEphemeral") + [m for m in fake_slack.ok("chat.postMessage") if m["channel"] == SLACK_ID]
    assert report.receipt_code in json.dumps(receipts)  # the receipt went to the reporter alone
    await anonymity.assert_no_trace(sessions, before, caplog.records, needles)
    alerts = json.dumps([m for m in fake_slack.ok("chat.postMessage") if m["channel"] != SLACK_ID])
    for needle in (SLACK_ID, DM, anonymity.NAME, dm_ts.replace(".", "")):
        assert needle not in alerts, f"{needle} reached the owner or the leads"


async def test_a_public_message_may_be_quoted_by_an_anonymous_reporter_without_its_link(bot, fake_slack, slack_runtime, sessions):
    fake_slack.add_user(SLACK_ID, anonymity.EMAIL, anonymity.NAME)
    await interaction(bot, shortcut(fake_slack, PUBLIC, "1700000500.000900"))
    await until(lambda: fake_slack.ok("views.open"))
    modal, view_id = opened_modal(fake_slack, "report.file")
    values = {"model": option("churn"), "what_happened": text("See the quoted message."), "impact": option("minor"), "anonymous": ticked(), "quote": ticked()}
    await interaction(bot, submission(SLACK_ID, modal, view_id, values))
    await until(lambda: any(m["channel"] == "UOWNER" for m in fake_slack.ok("chat.postMessage")))
    async with sessions() as session:
        [report] = (await session.exec(select(FailureReport))).all()
    assert (report.anonymous, report.link, report.quoted) == (True, None, "the forecast looks wrong here")
    owner = json.dumps(next(m for m in fake_slack.ok("chat.postMessage") if m["channel"] == "UOWNER"))
    assert "the forecast looks wrong here" in owner and "archives" not in owner
