"""An independent checker of Slack's documented Block Kit limits, used by the fake Slack.

It is written apart from the renderer on purpose: a renderer bug cannot hide behind
a shared constant.
"""

from __future__ import annotations

import re
from datetime import date

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def _real_date(text) -> bool:
    try:
        return isinstance(text, str) and bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text)) and bool(date.fromisoformat(text))
    except ValueError:
        return False


def _text(errors: list[str], where: str, obj, limit: int, kinds=("plain_text", "mrkdwn")) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        errors.append(f"{where}: not a {' or '.join(kinds)} text object")
        return
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errors.append(f"{where}: text must be a non-empty string")
    elif len(text) > limit:
        errors.append(f"{where}: text longer than {limit} ({len(text)})")


def _button(errors: list[str], where: str, element: dict) -> None:
    _text(errors, f"{where}.text", element.get("text"), 75, ("plain_text",))
    if len(element.get("action_id", "")) > 255:
        errors.append(f"{where}: action_id longer than 255")
    if len(element.get("value", "")) > 2000:
        errors.append(f"{where}: value longer than 2000")
    if element.get("style") not in (None, "primary", "danger"):
        errors.append(f"{where}: bad style")


def check_blocks(blocks, max_blocks: int) -> list[str]:
    """Return what is wrong with a list of blocks (empty when Slack would accept it)."""
    errors: list[str] = []
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    if len(blocks) > max_blocks:
        errors.append(f"more than {max_blocks} blocks ({len(blocks)})")
    for i, block in enumerate(blocks):
        where, kind = f"blocks[{i}]", block.get("type")
        if len(block.get("block_id", "")) > 255:
            errors.append(f"{where}: block_id longer than 255")
        if kind == "header":
            _text(errors, f"{where}.text", block.get("text"), 150, ("plain_text",))
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"{where}: section needs text or fields")
            if "text" in block:
                _text(errors, f"{where}.text", block["text"], 3000)
            fields = block.get("fields", [])
            if len(fields) > 10:
                errors.append(f"{where}: more than 10 fields")
            for j, field in enumerate(fields):
                _text(errors, f"{where}.fields[{j}]", field, 2000)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 25:
                errors.append(f"{where}: actions need 1 to 25 elements")
            ids = [e.get("action_id") for e in elements]
            if len(ids) != len(set(ids)):
                errors.append(f"{where}: action_id repeated within a block")
            for j, element in enumerate(elements):
                _button(errors, f"{where}.elements[{j}]", element)
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10:
                errors.append(f"{where}: context needs 1 to 10 elements")
            for j, element in enumerate(elements):
                _text(errors, f"{where}.elements[{j}]", element, 3000)
        elif kind == "input":
            _text(errors, f"{where}.label", block.get("label"), 2000, ("plain_text",))
            if "hint" in block:
                _text(errors, f"{where}.hint", block["hint"], 2000, ("plain_text",))
            element = block.get("element", {})
            if len(element.get("action_id", "")) > 255:
                errors.append(f"{where}: action_id longer than 255")
            if element.get("type") == "plain_text_input":
                limit = element.get("max_length", 3000)
                if limit > 3000 or len(element.get("initial_value", "")) > limit:
                    errors.append(f"{where}: bad max_length or initial_value")
            elif element.get("type") in ("static_select", "checkboxes"):
                options = element.get("options", [])
                if not 1 <= len(options) <= 100:
                    errors.append(f"{where}: 1 to 100 options")
                for j, option in enumerate(options):
                    _text(errors, f"{where}.options[{j}]", option.get("text"), 75, ("plain_text", "mrkdwn"))
                    if len(option.get("value", "")) > 150:
                        errors.append(f"{where}.options[{j}]: value longer than 150")
            elif element.get("type") == "datepicker":
                if "initial_date" in element and not _real_date(element["initial_date"]):
                    errors.append(f"{where}: initial_date {element['initial_date']!r} is not a YYYY-MM-DD date")
            elif element.get("type") in ("users_select", "multi_users_select"):
                users = [element["initial_user"]] if "initial_user" in element else element.get("initial_users", [])
                if not all(isinstance(u, str) and USER_ID.match(u) for u in users):
                    errors.append(f"{where}: initial users {users!r} are not Slack user ids")
            else:
                errors.append(f"{where}: unknown input element {element.get('type')!r}")
        elif kind != "divider":
            errors.append(f"{where}: unknown block type {kind!r}")
    return errors


def check_view(view) -> list[str]:
    """Return what is wrong with a modal or Home tab view."""
    if not isinstance(view, dict):
        return ["view must be an object"]
    errors = check_blocks(view.get("blocks", []), 100)
    if view.get("type") == "modal":
        _text(errors, "title", view.get("title"), 24, ("plain_text",))
        for key in ("submit", "close"):
            if key in view:
                _text(errors, key, view[key], 24, ("plain_text",))
        if len(view.get("private_metadata", "")) > 3000:
            errors.append("private_metadata longer than 3000")
        if len(view.get("callback_id", "")) > 255:
            errors.append("callback_id longer than 255")
    elif view.get("type") != "home":
        errors.append(f"unknown view type {view.get('type')!r}")
    return errors


def check_errors(view: dict, response: dict) -> list[str]:
    """Return what is wrong with a view_submission's `errors` answer for `view` (Slack refuses errors for blocks it lacks)."""
    inputs = {b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"}
    found = [f"error for {name!r}, which is not an input of the view" for name in response.get("errors", {}) if name not in inputs]
    return found + [f"error for {name!r} longer than 2000" for name, text in response.get("errors", {}).items() if len(text) > 2000]


# Slack's mrkdwn formats *bold*, _italics_ and ~strike~ when the marks stand at word
# boundaries (whitespace or punctuation outside, something other than a space inside),
# and `code` between any two backticks.
_EDGE_BEFORE = r"(?:^|(?<=[\s(\[{\"'.,;:!?-]))"
_EDGE_AFTER = r"(?=$|[\s)\]}\"'.,;:!?-])"
_SPANS = [re.compile(_EDGE_BEFORE + re.escape(m) + r"(?=[^\s" + m + r"]).*?(?<=\S)" + re.escape(m) + _EDGE_AFTER, re.MULTILINE) for m in "*_~"]
_SPANS.append(re.compile(r"(?<!\u200b)`[^`\n]*?(?<!\u200b)`"))


def mrkdwn_formatting(text: str) -> list[str]:
    """Return the spans of `text` that Slack would format (bold, italics, strike, code); empty when it shows as typed."""
    return [m.group() for span in _SPANS for m in span.finditer(text)]
