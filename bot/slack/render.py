"""Bot layer: the Slack renderer, turning neutral views into Block Kit.

Every limit of `bot.slack.limits` is enforced here, for every view, so that no user
text (however long, strange or hostile) can produce a payload Slack rejects. Text is
escaped the way Slack asks (`&`, `<`, `>`), so a user's `<!channel>` or `<@U123>` is
shown, not obeyed; in mrkdwn a zero-width space also goes before `*`, `_`, `~` and a
backtick, so a user's `*bold*` shows with its asterisks. Long text is spread over
several blocks rather than cut; only what would exceed a message's block limit is
cut, and then visibly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date

from bot.slack import limits
from handlers.views import Button, Field, Form, Input, InputKind, Mention, Message, Style

ACTION_SEPARATOR = "#"
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


# mrkdwn has no escape character. A zero-width space before a formatting mark keeps the
# mark from opening (or closing) *bold*, _italics_, ~strike~ or `code`, and shows nothing.
_FORMATTING = re.compile(r"([*_~`])")


def escape(text: str) -> str:
    """Escape text for mrkdwn and plain_text so it can never form a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inert(text: str) -> str:
    """Escape text for mrkdwn so it shows as typed: no mention, no link, no formatting."""
    return _FORMATTING.sub("\u200b\\1", escape(text))


def cut(text: str, limit: int) -> str:
    """Shorten already-escaped text to `limit` characters, never splitting an entity."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    amp = head.rfind("&", max(0, len(head) - 5))
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head + "…"


def chunks(text: str, size: int) -> list[str]:
    """Split escaped text into pieces of at most `size`, at line breaks where possible."""
    pieces, rest = [], text
    while len(rest) > size:
        split = rest.rfind("\n", 0, size)
        if split < size // 2:
            split = size
            amp = rest.rfind("&", split - 5, split)
            if amp != -1 and ";" not in rest[amp:split]:
                split = amp
        pieces.append(rest[:split])
        rest = rest[split:].lstrip("\n")
    return pieces + ([rest] if rest else [])


def action_id(button: Button, index: int) -> str:
    """Return a Slack action_id for a button: its action plus its place, unique in the block."""
    return f"{button.action}{ACTION_SEPARATOR}{index}"[: limits.ACTION_ID]


def action_of(slack_action_id: str) -> str:
    """Return the mlpulse action id inside a Slack action_id."""
    return slack_action_id.split(ACTION_SEPARATOR, 1)[0]


def _plain(text: str, limit: int) -> dict:
    return {"type": "plain_text", "text": cut(escape(text), limit) or " ", "emoji": True}


def _mrkdwn(escaped: str) -> dict:
    return {"type": "mrkdwn", "text": escaped, "verbatim": True}


def _buttons(buttons: tuple[Button, ...]) -> list[dict]:
    blocks = []
    for start in range(0, len(buttons), limits.ACTIONS_ELEMENTS):
        elements = []
        for index, button in enumerate(buttons[start : start + limits.ACTIONS_ELEMENTS], start=start):
            element = {"type": "button", "text": _plain(button.label, limits.BUTTON_TEXT), "action_id": action_id(button, index)}
            if button.value:
                element["value"] = button.value[: limits.BUTTON_VALUE]
            if button.style != Style.DEFAULT:
                element["style"] = str(button.style)
            elements.append(element)
        blocks.append({"type": "actions", "elements": elements})
    return blocks


def _text_sections(text: str) -> list[dict]:
    return [{"type": "section", "text": _mrkdwn(piece)} for piece in chunks(inert(text), limits.TEXT)]


def _field_sections(fields: tuple[Field, ...]) -> list[dict]:
    blocks = []
    for start in range(0, len(fields), limits.FIELDS):
        group = fields[start : start + limits.FIELDS]
        blocks.append(
            {
                "type": "section",
                "fields": [_mrkdwn(cut(f"*{inert(f.label)}*\n{inert(f.value)}", limits.FIELD_TEXT)) for f in group],
            }
        )
    return blocks


def _mention_sections(mentions: tuple[Mention, ...], users: Mapping[int, str]) -> list[dict]:
    # Only a well-formed user id becomes a mention; anyone else is named in escaped text.
    names = [f"<@{users[m.person_id]}>" if USER_ID.match(users.get(m.person_id, "")) else cut(inert(m.name), 200) or "?" for m in mentions]
    pieces = [""]
    for name in names:  # whole names per block: a mention cut in two would show as text
        joined = f"{pieces[-1]}, {name}" if pieces[-1] else name
        if len(joined) > limits.TEXT:
            pieces.append(name)
        else:
            pieces[-1] = joined
    return [{"type": "section", "text": _mrkdwn(piece)} for piece in pieces if piece]


def message_blocks(view: Message, max_blocks: int = limits.MESSAGE_BLOCKS, users: Mapping[int, str] | None = None) -> list[dict]:
    """Render a message as blocks, within `max_blocks`; `users` maps mentioned person ids to Slack user ids."""
    blocks: list[dict] = []
    if view.title:
        blocks.append({"type": "header", "text": _plain(view.title, limits.HEADER_TEXT)})
    if view.text:
        blocks += _text_sections(view.text)
    for section in view.sections:
        if blocks and (section.text or section.fields or section.mentions):
            blocks.append({"type": "divider"})
        if section.text:
            blocks += _text_sections(section.text)
        if section.mentions:
            blocks += _mention_sections(section.mentions, users or {})
        blocks += _field_sections(section.fields)
        blocks += _buttons(section.buttons)
    blocks += _buttons(view.buttons)
    if view.footer:
        blocks.append({"type": "context", "elements": [_mrkdwn(cut(inert(view.footer), limits.TEXT))]})
    if len(blocks) > max_blocks:
        # Views paginate long lists themselves; this only catches a freak case, and says so.
        kept = blocks[: max_blocks - 1]
        kept.append({"type": "context", "elements": [_mrkdwn(f"… {len(blocks) - len(kept)} more blocks were left out of this message.")]})
        blocks = kept
    return blocks


def fallback_text(view: Message) -> str:
    """Return the notification text of a message (shown in alerts and to screen readers)."""
    return cut(escape(" — ".join(p for p in (view.title, view.text) if p)), limits.FALLBACK_TEXT) or "mlpulse"


def to_message(view: Message, users: Mapping[int, str] | None = None) -> dict:
    """Render a message as chat.postMessage / chat.update arguments (`text` and `blocks`)."""
    return {"text": fallback_text(view), "blocks": message_blocks(view, users=users)}


def to_home(view: Message) -> dict:
    """Render a message as an App Home tab view for views.publish."""
    return {"type": "home", "blocks": message_blocks(view, limits.SURFACE_BLOCKS)}


def to_modal_message(view: Message, users: Mapping[int, str] | None = None) -> dict:
    """Render a message as a read-only modal (for replies to buttons pressed in a modal or the Home tab)."""
    return {
        "type": "modal",
        "title": _plain(view.title or "mlpulse", limits.MODAL_TITLE),
        "close": _plain("Close", limits.MODAL_BUTTON),
        "blocks": message_blocks(view, limits.SURFACE_BLOCKS, users=users),
    }


def _real_date(text: str | None) -> str | None:
    try:
        return date.fromisoformat(text).isoformat() if text else None
    except ValueError:
        return None


def _element(item: Input, initial: str | None, users: Mapping[str, str]) -> dict:
    name = item.name[: limits.ACTION_ID]
    if item.kind in (InputKind.TEXT, InputKind.LONG_TEXT):
        element = {"type": "plain_text_input", "action_id": name, "multiline": item.kind == InputKind.LONG_TEXT}
        element["max_length"] = min(item.max_length or limits.TEXT_INPUT_MAX, limits.TEXT_INPUT_MAX)
        if initial:
            element["initial_value"] = initial[: element["max_length"]]
        return element
    if item.kind == InputKind.CHOICE:
        options = [{"text": _plain(c.label, limits.OPTION_TEXT), "value": c.value[: limits.OPTION_VALUE]} for c in item.choices[: limits.OPTIONS]]
        element = {"type": "static_select", "action_id": name, "options": options}
        chosen = next((o for o in options if o["value"] == initial), None)
        if chosen:
            element["initial_option"] = chosen
        return element
    if item.kind in (InputKind.PERSON, InputKind.PEOPLE):
        # A picker left empty would submit empty: an edit would drop whoever was picked before.
        picked = [users[key] for key in person_keys(initial) if key in users]
        if item.kind == InputKind.PERSON:
            return {"type": "users_select", "action_id": name, **({"initial_user": picked[0]} if picked else {})}
        return {"type": "multi_users_select", "action_id": name, **({"initial_users": picked} if picked else {})}
    if item.kind == InputKind.DATE:
        element = {"type": "datepicker", "action_id": name}
        if real := _real_date(initial):
            element["initial_date"] = real
        return element
    option = {"text": _plain(item.label, limits.OPTION_TEXT), "value": "true"}
    element = {"type": "checkboxes", "action_id": name, "options": [option]}
    if initial in ("true", "1", "yes"):
        element["initial_options"] = [option]
    return element


def person_keys(value: str | None) -> list[str]:
    """Return the person keys a person picker's value holds (comma-separated)."""
    return [key.strip() for key in (value or "").split(",") if key.strip()]


def form_value(form: Form, item: Input) -> str | None:
    """Return what an input shows: what was submitted (even emptied), else its initial value."""
    return form.values[item.name] if item.name in form.values else item.initial


def to_modal(form: Form, users: Mapping[str, str] | None = None) -> dict:
    """Render a form as a modal view for views.open / views.update; `users` maps person keys to Slack user ids, to prefill pickers."""
    blocks: list[dict] = _text_sections(form.intro) if form.intro else []
    for item in form.inputs:
        block = {
            "type": "input",
            "block_id": item.name[: limits.BLOCK_ID],
            "label": _plain(item.label, limits.INPUT_LABEL),
            "optional": not item.required,
            "element": _element(item, form_value(form, item), users or {}),
        }
        if item.hint:
            block["hint"] = _plain(item.hint, limits.INPUT_HINT)
        blocks.append(block)
    return {
        "type": "modal",
        "callback_id": str(form.form)[: limits.CALLBACK_ID],
        "title": _plain(form.title, limits.MODAL_TITLE),
        "submit": _plain(form.submit_label, limits.MODAL_BUTTON),
        "close": _plain("Cancel", limits.MODAL_BUTTON),
        "private_metadata": form.state[: limits.PRIVATE_METADATA],
        "blocks": blocks[: limits.SURFACE_BLOCKS],
    }


def to_errors(errors: Mapping[str, str], inputs: Iterable[str]) -> dict:
    """Render errors by input name as a view_submission response, shown inline on each input.

    Slack refuses an error for a block the modal does not have, so such an error is
    shown on the first of the modal's `inputs` (block ids) instead, beside its own.
    """
    shown = list(inputs)
    placed: dict[str, list[str]] = {}
    for name, message in errors.items():
        block_id = name[: limits.BLOCK_ID]
        placed.setdefault(block_id if block_id in shown or not shown else shown[0], []).append(message)
    return {"response_action": "errors", "errors": {block_id: cut(escape(" ".join(messages)), limits.INPUT_HINT) for block_id, messages in placed.items()}}
