"""Failure reports on Slack: the command, the message shortcut, inline errors, triage, and anonymity."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select

from storage.models import FailureReport, Person
from tests.bot.slack.requests import command, interaction, opened_modal, option, press, submission, text, ticked, until

ANON_ID, ANON_NAME, ANON_EMAIL = "U0ZQ7731", "Zelda Quibbleworth", "zelda.q@example.com"


async def every_stored_value(sessions) -> list[str]:
    """Return every value of every column of every row in the database, as text."""
    found = []
    async with sessions() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.exec(sa_select(table))).all():
                found += [f"{table.name}.{column}={value}" for column, value in zip(table.columns.keys(), row) if value is not None]
    return found


async def test_an_anonymous_report_leaves_no_trace_of_the_reporter_in_the_database_or_the_logs(bot, fake_slack, slack_runtime, sessions, caplog):
    caplog.set_level(logging.DEBUG)
    fake_slack.add_user(ANON_ID, ANON_EMAIL, ANON_NAME, "Europe/Paris")
    async with sessions() as session:
        people_before = len((await session.exec(select(Person))).all())

    assert (await command(bot, fake_slack, ANON_ID, "churn", name="/mlreport")).status == 200
    await until(lambda: fake_slack.ok("views.open"))
    modal, view_id = opened_modal(fake_slack, "report.file")
    model_select = next(b for b in modal["blocks"] if b.get("block_id") == "model")["element"]
    assert model_select["initial_option"]["value"] == "churn"

    values = {"model": option("churn"), "what_happened": text("Every score is 0.5 since the release."), "impact": option("critical"), "anonymous": ticked()}
    response = await interaction(bot, submission(ANON_ID, modal, view_id, values))
    assert response.status == 200
    await until(lambda: fake_slack.responses() and len(fake_slack.ok("chat.postMessage")) >= 2)

    receipt = fake_slack.responses()[-1]
    assert receipt["response_type"] == "ephemeral"
    async with sessions() as session:
        [report] = (await session.exec(select(FailureReport))).all()
        assert (report.anonymous, report.reporter_id, report.impact) == (True, None, "critical")
        assert len((await session.exec(select(Person))).all()) == people_before  # the newcomer was not recorded
    assert report.receipt_code in json.dumps(receipt)
    recipients = {m["channel"] for m in fake_slack.ok("chat.postMessage")}
    assert recipients == {"UOWNER", "ULEAD"}  # the owner, and the lead (the unit has no channel)
    alerts = json.dumps(fake_slack.ok("chat.postMessage"))
    assert ANON_NAME not in alerts and ANON_ID not in alerts

    # Nothing that leads back to the reporter: not the id, the DM channel, the name, the email, or a hash of them.
    needles = [ANON_ID, ANON_ID[1:], ANON_NAME, ANON_NAME.split()[1], ANON_EMAIL, ANON_EMAIL.split("@")[0]]
    needles += [h(v.encode()).hexdigest() for v in (ANON_ID, ANON_EMAIL) for h in (hashlib.md5, hashlib.sha1, hashlib.sha256)]
    stored = "\n".join(await every_stored_value(sessions)).lower()
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records).lower()
    assert len(caplog.records) > 0 and "failure_report.receipt_code" in stored  # the search looked at something
    for needle in needles:
        assert needle.lower() not in stored, f"{needle!r} is stored"
        assert needle.lower() not in logged, f"{needle!r} is logged"


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


async def test_the_message_shortcut_opens_the_form_with_a_link_to_the_message(bot, fake_slack, slack_runtime):
    payload = {
        "type": "message_action", "callback_id": "report_problem", "trigger_id": "trig.short", "response_url": fake_slack.response_url + "9",
        "user": {"id": "UANA"}, "channel": {"id": "C0SALES"}, "message_ts": "1700000123.000200", "message": {"ts": "1700000123.000200", "text": "forecast is off"},
    }
    assert (await interaction(bot, payload)).status == 200
    await until(lambda: fake_slack.ok("views.open"))
    modal, _ = opened_modal(fake_slack, "report.file")
    assert fake_slack.ok("chat.getPermalink")[0] == {"channel": "C0SALES", "message_ts": "1700000123.000200"}
    what = next(b for b in modal["blocks"] if b.get("block_id") == "what_happened")["element"]
    assert what["initial_value"].startswith("About this message: https://fake.slack.example/archives/C0SALES/p1700000123000200")


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
