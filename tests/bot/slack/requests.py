"""Requests into the Slack app, signed the way Slack signs them, and waiting for work after the ack."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

SECRET = "test-signing-secret"


async def until(predicate, timeout: float = 5.0):
    """Wait for work that runs after the ack, at most `timeout` seconds; fail if it never happens."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the bot"
        await asyncio.sleep(0.02)


def headers(body: str, secret: str = SECRET, age: int = 0, json_body: bool = False) -> dict:
    stamp = str(int(time.time()) - age)
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body),
        "Content-Type": "application/json" if json_body else "application/x-www-form-urlencoded",
    }


async def command(http, fake, user: str, text: str, name: str = "/mlstatus") -> aiohttp.ClientResponse:
    body = urlencode(
        {"command": name, "text": text, "user_id": user, "channel_id": "C0PORTFOLIO", "trigger_id": "trig.1", "response_url": fake.response_url + "1"}
    )
    return await http.post("/slack/events", data=body, headers=headers(body))


async def interaction(http, payload: dict, **kwargs) -> aiohttp.ClientResponse:
    body = urlencode({"payload": json.dumps(payload)})
    return await http.post("/slack/events", data=body, headers=headers(body, **kwargs))


def press(user: str, channel: str, ts: str, action_id: str, value: str, action_ts: str = "1700000100.000001") -> dict:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": "trig.2",
        "container": {"type": "message", "channel_id": channel, "message_ts": ts, "is_ephemeral": False},
        "actions": [{"type": "button", "action_id": action_id, "value": value, "action_ts": action_ts, "block_id": "b"}],
        "response_url": "http://127.0.0.1:1/unused",
    }


def opened_modal(fake, callback_id: str) -> tuple[dict, str]:
    """Return the last modal opened with `callback_id` and the view id the fake gave it."""
    call = [c for c in fake.calls if c.method == "views.open" and c.response.get("ok") and c.body["view"]["callback_id"] == callback_id][-1]
    return call.body["view"], call.response["view"]["id"]


def submission(user: str, modal: dict, view_id: str, values: dict[str, dict]) -> dict:
    """A view_submission of `modal` with each input's element state given by block id."""
    state = {block_id: {block_id: element} for block_id, element in values.items()}
    view = {**modal, "id": view_id, "state": {"values": state}}
    return {"type": "view_submission", "user": {"id": user}, "view": view, "trigger_id": "trig.submit"}


def text(value: str) -> dict:
    return {"type": "plain_text_input", "value": value}


def option(value: str) -> dict:
    return {"type": "static_select", "selected_option": {"value": value}}


def ticked() -> dict:
    return {"type": "checkboxes", "selected_options": [{"value": "true"}]}


# Each element type: the state key Slack submits, the key it was prefilled with, and its value when not prefilled.
UNTOUCHED = {
    "plain_text_input": ("value", "initial_value", None),
    "static_select": ("selected_option", "initial_option", None),
    "users_select": ("selected_user", "initial_user", None),
    "multi_users_select": ("selected_users", "initial_users", []),
    "datepicker": ("selected_date", "initial_date", None),
    "checkboxes": ("selected_options", "initial_options", []),
}


def untouched(modal: dict) -> dict[str, dict]:
    """The element states Slack submits for a modal nobody changed: each input as it was prefilled."""
    values = {}
    for block in modal["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        state, initial, empty = UNTOUCHED[element["type"]]
        values[block["block_id"]] = {"type": element["type"], state: element.get(initial, empty)}
    return values
