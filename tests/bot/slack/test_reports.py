"""Failure reports on Slack: the command, the message shortcut, inline errors and triage (anonymity: test_anonymity.py)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from storage.models import FailureReport, FormDraft, Person
from tests.bot.slack.requests import command, interaction, opened_modal, option, press, submission, text, ticked, until


async def test_a_report_form_with_bad_input_comes_back_with_the_errors_inline(bot, fake_slack, slack_runtime, sessions):
    await command(bot, fake_slack, "UANA", "", name="/mlreport")
    await until(lambda: fake_slack.ok("views.open"))
    modal, view_id = opened_modal(fake_slack, "report.file")
    values = {"what_happened": text("   "), "since": {"type": "datepicker", "selected_date": "2030-01-01"}, "impact": option("minor")}
    response = await interaction(bot, submission("UANA", modal, view_id, values))
    body = await response.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"model", "what_happened", "since"}
    assert "in the future" in body["errors"]["since"]
    async with sessions() as session:
        assert (await session.exec(select(FailureReport))).all() == []


async def test_the_message_shortcut_in_a_public_channel_links_the_message_from_a_named_report(bot, fake_slack, slack_runtime, sessions):
    payload = {
        "type": "message_action",
        "callback_id": "report_problem",
        "trigger_id": "trig.short",
        "response_url": fake_slack.response_url + "9",
        "user": {"id": "UANA"},
        "channel": {"id": "C0SALES"},
        "message_ts": "1700000123.000200",
        "message": {"ts": "1700000123.000200", "text": "forecast is off"},
    }
    assert (await interaction(bot, payload)).status == 200
    await until(lambda: fake_slack.ok("views.open"))
    modal, view_id = opened_modal(fake_slack, "report.file")
    assert fake_slack.ok("chat.getPermalink")[0] == {"channel": "C0SALES", "message_ts": "1700000123.000200"}
    blocks = {b.get("block_id"): b for b in modal["blocks"]}
    assert "initial_value" not in blocks["what_happened"]["element"]  # the link is not put into the text the reporter sends
    assert "unless you file it anonymously" in json.dumps(modal)
    assert "forecast is off" in json.dumps(blocks["quote"])  # a public message may be quoted

    values = {"model": option("churn"), "what_happened": text("The forecast in this thread is off."), "impact": option("minor"), "quote": ticked()}
    assert (await interaction(bot, submission("UANA", modal, view_id, values))).status == 200
    await until(lambda: any(m["channel"] == "UOWNER" for m in fake_slack.ok("chat.postMessage")))
    async with sessions() as session:
        [report] = (await session.exec(select(FailureReport))).all()
    assert report.link == "https://fake.slack.example/archives/C0SALES/p1700000123000200" and report.quoted == "forecast is off"
    owner_dm = json.dumps(next(m for m in fake_slack.ok("chat.postMessage") if m["channel"] == "UOWNER"))
    assert "archives/C0SALES/p1700000123000200" in owner_dm and "forecast is off" in owner_dm


async def test_a_long_quoted_message_keeps_the_form_state_on_the_server_not_in_private_metadata(bot, fake_slack, slack_runtime, sessions):
    said = ('🧑\u200d🔬 "quoted" \\ ' * 200)[:1000]
    payload = {
        "type": "message_action",
        "callback_id": "report_problem",
        "trigger_id": "trig.short",
        "response_url": fake_slack.response_url + "9",
        "user": {"id": "UANA"},
        "channel": {"id": "C0SALES"},
        "message_ts": "1700000123.000200",
        "message": {"ts": "1700000123.000200", "text": said},
    }
    await interaction(bot, payload)
    await until(lambda: fake_slack.ok("views.open"))
    modal, view_id = opened_modal(fake_slack, "report.file")
    assert len(modal["private_metadata"]) <= 3000 and said[:20] not in modal["private_metadata"]

    first = await (await interaction(bot, submission("UANA", modal, view_id, {"model": option("churn"), "what_happened": text(" "), "quote": ticked()}))).json()
    assert set(first["errors"]) == {"what_happened", "impact"}
    values = {"model": option("churn"), "what_happened": text("The forecast is off."), "impact": option("minor"), "quote": ticked()}
    assert (await interaction(bot, submission("UANA", modal, view_id, values))).status == 200
    await until(lambda: any(m["channel"] == "UOWNER" for m in fake_slack.ok("chat.postMessage")))
    async with sessions() as session:
        [report] = (await session.exec(select(FailureReport))).all()
        assert (await session.exec(select(FormDraft))).all() == []  # done with, so forgotten
    assert report.quoted == said.strip() and report.link.endswith("p1700000123000200")


async def test_the_owner_triages_from_the_dm_and_the_reporter_is_told_while_others_are_refused(bot, fake_slack, slack_runtime, sessions):
    await command(bot, fake_slack, "UANA", "churn", name="/mlreport")
    await until(lambda: fake_slack.ok("views.open"))
    modal, view_id = opened_modal(fake_slack, "report.file")
    await interaction(bot, submission("UANA", modal, view_id, {"model": option("churn"), "what_happened": text("Wrong scores."), "impact": option("major")}))
    await until(lambda: any(m["channel"] == "UOWNER" for m in fake_slack.ok("chat.postMessage")))
    dm = next(c for c in fake_slack.calls if c.method == "chat.postMessage" and c.body["channel"] == "UOWNER")
    triage = next(e for b in dm.body["blocks"] if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == "Triage…")

    await interaction(bot, press("UANA", dm.response["channel"], dm.response["ts"], triage["action_id"], triage["value"]))
    await until(lambda: fake_slack.ok("chat.postEphemeral"))
    assert "Only ML leads and the model's owner" in json.dumps(fake_slack.ok("chat.postEphemeral")[-1])

    await interaction(bot, press("UOWNER", dm.response["channel"], dm.response["ts"], triage["action_id"], triage["value"]))
    await until(lambda: len(fake_slack.ok("views.open")) == 2)
    update, update_id = opened_modal(fake_slack, "report.update")
    values = {"status": option("triaged"), "assignee": {"type": "users_select", "selected_user": "UBO"}}
    response = await interaction(bot, submission("UOWNER", update, update_id, values))
    assert response.status == 200
    await until(lambda: any(m["channel"] == "UANA" for m in fake_slack.ok("chat.postMessage")))
    told = next(m for m in fake_slack.ok("chat.postMessage") if m["channel"] == "UANA")
    assert "is now triaged, moved by Owner" in json.dumps(told)
    async with sessions() as session:
        [report] = (await session.exec(select(FailureReport))).all()
        bo = (await session.exec(select(Person).where(Person.key == "bo"))).one()
    assert (report.status, report.assignee_id) == ("triaged", bo.id)


@pytest.mark.parametrize("text_", ["status", "status R-NOPE-NOPE"])
async def test_report_status_by_code_answers_privately(bot, fake_slack, slack_runtime, text_):
    await command(bot, fake_slack, "UBO", text_, name="/mlreport")
    await until(lambda: fake_slack.responses())
    reply = json.dumps(fake_slack.responses()[-1])
    assert fake_slack.responses()[-1]["response_type"] == "ephemeral"
    assert ("Give the receipt code" in reply) if text_ == "status" else ("No report has the receipt code" in reply)
