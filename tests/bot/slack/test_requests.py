"""Requests to POST /slack/events that Bolt cannot take: refused with 401 or 400, quietly, and never a 500."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.bot.slack.requests import SECRET, command, headers, until

FORM = "application/x-www-form-urlencoded"


def signed(body: str, stamp: str, content_type: str = FORM) -> dict:
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body),
        "Content-Type": content_type,
    }


def assert_quiet(caplog) -> None:
    """No ERROR record, no traceback, and not the user id each test's body carries."""
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert all(r.exc_info is None and r.exc_text is None for r in caplog.records)
    assert "Traceback" not in caplog.text and "USECRET" not in caplog.text


@pytest.mark.parametrize("stamp", ["not-a-number", "1.5e9", " "], ids=["word", "float", "blank"])
async def test_a_timestamp_that_is_not_a_number_gets_401(bot, fake_slack, caplog, stamp):
    caplog.set_level(logging.DEBUG)
    body = urlencode({"command": "/mlstatus", "text": "", "user_id": "USECRET", "response_url": fake_slack.response_url + "1"})
    response = await bot.post("/slack/events", data=body, headers=signed(body, stamp))
    assert response.status == 401
    assert fake_slack.responses() == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "bot.server"]
    assert warnings == ["refused a Slack request whose signature could not be checked: ValueError"]
    assert_quiet(caplog)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (urlencode({"payload": "not-json"}), FORM),
        (urlencode({"payload": json.dumps(["USECRET"])}), FORM),
        (urlencode({"payload": json.dumps("USECRET")}), FORM),
        ('{"type": "event_callback", "user": "USECRET"', "application/json"),
        (json.dumps(["USECRET"]), "application/json"),
    ],
    ids=["payload not json", "payload a list", "payload a string", "json cut short", "json a list"],
)
async def test_a_signed_body_that_cannot_be_parsed_gets_400(bot, fake_slack, caplog, body, content_type):
    caplog.set_level(logging.DEBUG)
    response = await bot.post("/slack/events", data=body, headers=signed(body, str(int(time.time())), content_type))
    assert response.status == 400
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "bot.server"]
    assert len(warnings) == 1
    assert_quiet(caplog)


async def test_a_body_that_is_not_utf8_gets_401(bot, caplog):
    caplog.set_level(logging.DEBUG)
    raw = b"payload=\xff\xfe" + b"USECRET"
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=raw.decode("latin-1"))
    response = await bot.post("/slack/events", data=raw, headers={"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature, "Content-Type": FORM})
    assert response.status == 401  # Slack signs UTF-8: this one cannot have come from Slack
    assert_quiet(caplog)


@pytest.mark.parametrize("kwargs", [{"secret": "wrong-secret"}, {"age": 6 * 60}], ids=["forged", "stale"])
async def test_an_unparseable_body_that_is_not_properly_signed_gets_401_not_400(bot, caplog, kwargs):
    caplog.set_level(logging.DEBUG)
    body = urlencode({"payload": "not-json", "user": "USECRET"})
    response = await bot.post("/slack/events", data=body, headers=headers(body, **kwargs))
    assert response.status == 401
    assert_quiet(caplog)


async def test_a_properly_signed_request_still_works(bot, fake_slack, caplog):
    caplog.set_level(logging.DEBUG)
    response = await command(bot, fake_slack, "ULEAD", "churn")
    assert response.status == 200
    await until(lambda: fake_slack.responses())
    assert fake_slack.responses()[0]["blocks"][0]["text"]["text"].startswith("❔ Churn predictor (churn)")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
