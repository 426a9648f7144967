"""The Slack app end to end: signed requests into the real server, payloads out to the fake Slack."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from bot.runtime import TRY_AGAIN
from bot.slack.app import NOT_RESOLVED
from storage.db import create_engine, session_factory
from storage.models import CheckIn, CheckInAnswer, FailureReport, Person
from tests.bot.slack.requests import command, headers, interaction, opened_modal, option, press, submission, text, until
from tests.conftest import TUESDAY
from tests.helpers import held


async def test_health(bot):
    response = await bot.get("/healthz")
    assert response.status == 200 and await response.json() == {"ok": True}


async def test_slash_command_answers_ephemerally(bot, fake_slack):
    response = await command(bot, fake_slack, "ULEAD", "churn")
    assert response.status == 200
    await until(lambda: fake_slack.responses())
    reply = fake_slack.responses()[0]
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert reply["blocks"][0]["text"]["text"].startswith("❔ Churn predictor (churn)")


async def test_pressing_an_answer_updates_the_dm_in_place_once(bot, fake_slack, slack_runtime, sessions):
    await slack_runtime.tick(TUESDAY)
    question = next(p for p in fake_slack.ok("chat.postMessage") if p["channel"] == "UBO")
    message = next(c.response for c in fake_slack.calls if c.body is question)
    button = question["blocks"][2]["elements"][0]
    payload = press("UBO", message["channel"], message["ts"], button["action_id"], button["value"])
    for _ in range(2):  # a retry of the same press
        assert (await interaction(bot, payload)).status == 200
    await until(lambda: len(fake_slack.ok("chat.update")) >= 2)
    update = fake_slack.ok("chat.update")[-1]
    assert (update["channel"], update["ts"]) == (message["channel"], message["ts"])
    assert "✅ Recorded: Yes, works well, by Bo" in update["blocks"][1]["text"]["text"]
    async with sessions() as session:
        answers = (await session.exec(select(CheckInAnswer))).all()
    assert len(answers) == 1


async def test_a_form_with_a_bad_field_comes_back_with_the_error_inline(bot, fake_slack, slack_runtime):
    await slack_runtime.tick(TUESDAY)
    view = {
        "type": "modal",
        "callback_id": "me.away",
        "private_metadata": json.dumps({"state": "", "origin": {"surface": "command", "user": "UANA", "channel": "C1", "ts": None, "response_url": None}}),
        "state": {"values": {"until": {"until": {"type": "datepicker", "selected_date": "2020-01-01"}}}},
    }
    response = await interaction(bot, {"type": "view_submission", "user": {"id": "UANA"}, "view": view, "trigger_id": "t"})
    assert response.status == 200
    assert await response.json() == {"response_action": "errors", "errors": {"until": "That date is in the past."}}


async def test_app_home_shows_my_checkins(bot, fake_slack, slack_runtime):
    await slack_runtime.tick(TUESDAY)
    body = json.dumps(
        {"type": "event_callback", "team_id": "T0001", "event": {"type": "app_home_opened", "user": "UANA", "tab": "home"}, "event_id": "Ev1", "event_time": 1}
    )
    response = await bot.post("/slack/events", data=body, headers=headers(body, json_body=True))
    assert response.status == 200
    await until(lambda: fake_slack.ok("views.publish"))
    published = fake_slack.ok("views.publish")[0]
    assert published["user_id"] == "UANA" and published["view"]["type"] == "home"
    texts = [b.get("text", {}).get("text", "") for b in published["view"]["blocks"]]
    assert "2 check-ins waiting for your answer." in texts


async def test_a_retried_event_is_handled_once(bot, fake_slack, slack_runtime):
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0001",
            "event": {"type": "app_home_opened", "user": "UBO", "tab": "home"},
            "event_id": "EvRetry",
            "event_time": 1,
        }
    )
    first = await bot.post("/slack/events", data=body, headers=headers(body, json_body=True))
    retry = await bot.post(
        "/slack/events", data=body, headers=headers(body, json_body=True) | {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert first.status == retry.status == 200
    await until(lambda: fake_slack.ok("views.publish"))
    other = body.replace("EvRetry", "EvOther")
    await bot.post("/slack/events", data=other, headers=headers(other, json_body=True))
    await until(lambda: len(fake_slack.ok("views.publish")) == 2)
    assert [p["user_id"] for p in fake_slack.ok("views.publish")] == ["UBO", "UBO"]  # the retry published nothing


@pytest.mark.parametrize(
    "kwargs",
    [{"secret": "wrong-secret"}, {"age": 6 * 60}],
    ids=["wrong secret", "stale timestamp"],
)
async def test_forged_or_stale_requests_are_refused(bot, fake_slack, kwargs):
    body = urlencode({"command": "/mlstatus", "text": "", "user_id": "ULEAD", "response_url": fake_slack.response_url + "1"})
    response = await bot.post("/slack/events", data=body, headers=headers(body, **kwargs))
    assert response.status == 401
    await asyncio.sleep(0)  # nothing ran
    assert fake_slack.responses() == []


async def test_unsigned_requests_are_refused(bot, fake_slack):
    body = urlencode({"command": "/mlstatus", "user_id": "ULEAD"})
    response = await bot.post("/slack/events", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 401


async def test_database_down_during_a_press_says_try_again_and_keeps_the_buttons(bot, fake_slack, slack_runtime, sessions):
    await slack_runtime.tick(TUESDAY)
    question = next(p for p in fake_slack.ok("chat.postMessage") if p["channel"] == "UBO")
    message = next(c.response for c in fake_slack.calls if c.body is question)
    await slack_runtime.directory.person_for("UBO")  # known already: no lookup needs the database
    down = create_engine("postgresql://nobody@127.0.0.1:1/down")
    healthy, slack_runtime.sessions = slack_runtime.sessions, session_factory(down)
    try:
        button = question["blocks"][2]["elements"][0]
        payload = press("UBO", message["channel"], message["ts"], button["action_id"], button["value"])
        assert (await interaction(bot, payload)).status == 200
        await until(lambda: fake_slack.calls and any(c.method in ("chat.update", "chat.postEphemeral") for c in fake_slack.calls))
    finally:
        slack_runtime.sessions = healthy
        await down.dispose()
    notice = next(c for c in fake_slack.calls if c.method in ("chat.update", "chat.postEphemeral"))
    assert notice.method == "chat.postEphemeral" and TRY_AGAIN in notice.body["blocks"][0]["text"]["text"]
    async with sessions() as session:
        checkin = (await session.exec(select(CheckIn).where(CheckIn.status == "open"))).first()
    assert checkin is not None and fake_slack.ok("chat.update") == []


async def test_a_status_answer_can_be_shared_in_the_channel(bot, fake_slack):
    await command(bot, fake_slack, "ULEAD", "churn")
    await until(lambda: fake_slack.responses())
    private = fake_slack.responses()[0]
    share = next(e for b in private["blocks"] if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == "Share in channel")
    assert share["value"] == "/mlstatus churn"
    payload = {
        "type": "block_actions",
        "user": {"id": "ULEAD"},
        "trigger_id": "trig.3",
        "container": {"type": "message", "channel_id": "C0PORTFOLIO", "message_ts": "1.1", "is_ephemeral": True},
        "response_url": fake_slack.response_url + "2",
        "actions": [{"type": "button", "action_id": share["action_id"], "value": share["value"], "action_ts": "1700000200.000001"}],
    }
    assert (await interaction(bot, payload)).status == 200
    await until(lambda: len(fake_slack.responses()) == 2)
    shared = fake_slack.responses()[1]
    assert shared["response_type"] == "in_channel"
    assert shared["blocks"][0] == private["blocks"][0]
    assert "Share in channel" not in str(shared["blocks"])


def away_submission(user: str, date: str) -> dict:
    view = {
        "type": "modal",
        "id": "V0AWAY",
        "callback_id": "me.away",
        "blocks": [
            {
                "type": "input",
                "block_id": "until",
                "element": {"type": "datepicker", "action_id": "until"},
                "label": {"type": "plain_text", "text": "Away until"},
            }
        ],
        "private_metadata": json.dumps({"state": "", "origin": {"surface": "command", "user": user, "channel": "C1", "ts": None, "response_url": None}}),
        "state": {"values": {"until": {"until": {"type": "datepicker", "selected_date": date}}}},
    }
    return {"type": "view_submission", "user": {"id": user}, "view": view, "trigger_id": "t"}


async def test_a_form_saved_while_the_database_does_not_answer_stays_open_with_the_error(bot, fake_slack, slack_runtime, sessions, shared_engines):
    await slack_runtime.directory.person_for("UANA")
    async with held(shared_engines[1]):
        started = time.monotonic()
        response = await interaction(bot, away_submission("UANA", "2026-03-20"))
        answered_in = time.monotonic() - started
    assert response.status == 200 and answered_in < 3.0  # within Slack's 3 seconds, or Slack closes the modal with an error
    assert await response.json() == {"response_action": "errors", "errors": {"until": TRY_AGAIN}}  # the modal stays, with what was typed
    async with sessions() as session:
        ana = (await session.exec(select(Person).where(Person.key == "ana"))).one()
    assert ana.away_until is None


async def test_text_with_a_nul_character_is_refused_inline_and_nothing_is_saved(bot, fake_slack, slack_runtime, sessions):
    await command(bot, fake_slack, "UANA", "churn", name="/mlreport")
    await until(lambda: fake_slack.ok("views.open"))
    modal, view_id = opened_modal(fake_slack, "report.file")
    values = {"model": option("churn"), "what_happened": text("Scores are \x00 broken"), "impact": option("minor")}
    response = await interaction(bot, submission("UANA", modal, view_id, values))
    body = await response.json()
    assert body["response_action"] == "errors" and list(body["errors"]) == ["what_happened"]
    assert "cannot be saved (a NUL character" in body["errors"]["what_happened"]
    async with sessions() as session:
        assert (await session.exec(select(FailureReport))).all() == []


@pytest.mark.parametrize("trouble", ["an error", "slowness"])
async def test_a_command_whose_user_lookup_fails_is_acked_and_answered_through_its_response_url(trouble, bot, fake_slack, slack_runtime):
    if trouble == "slowness":
        fake_slack.add_user("UNEW", "new@example.com", "New Person")
        fake_slack.delays["users.info"] = 6.5  # longer than the interaction's budget
    started = time.monotonic()
    response = await command(bot, fake_slack, "UNEW", "")  # someone mlpulse has never seen: it asks users.info who they are
    assert response.status == 200 and time.monotonic() - started < 3.0  # acked first, before any lookup
    await until(lambda: fake_slack.responses(), timeout=10)
    assert NOT_RESOLVED in json.dumps(fake_slack.responses()[-1])
