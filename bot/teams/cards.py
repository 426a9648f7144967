"""Bot layer: the Teams renderer, turning neutral views into Adaptive Cards (schema 1.5).

Cards are built in code from the view, never by filling JSON templates, and every
limit of `bot.teams.limits` is enforced here for every view, so no user text can make
a card Teams rejects. User text is made inert: markdown that would make a link or
emphasis is escaped, and `<at>` (which Teams turns into a mention) is broken up, so
only the card's own mention entities can ping anyone.

A button is an `Action.Submit` whose data carries `{"mlpulse": {"action", "value"}}`;
a form's submit carries `{"mlpulse": {"form", "state"}}` and Teams adds the inputs
beside it. `submission` reads either back for `handlers.router`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot.teams import limits
from handlers.views import Button, Form, Input, InputKind, Mention, Message, Style

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
DATA_KEY = "mlpulse"
_STYLES = {Style.PRIMARY: "positive", Style.DANGER: "destructive"}
# What CommonMark (which Teams' TextBlocks follow) could read as markup anywhere in a line:
# emphasis, code and fences, links, autolinks and HTML, tables, strikethrough, entities;
# and at the start of a line: headings, lists, setext underlines and rules. A backslash
# before the mark shows it as typed.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~&])")
_LINE_START = re.compile(r"^(\s*)([#+=-]|\d+[.)])", re.MULTILINE)
_AT = re.compile(r"<(/?at\b)", re.IGNORECASE)
# Indentation would make a code block; non-breaking spaces keep the look, not the meaning.
_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)


def escape(text: str) -> str:
    """Make text inert in a TextBlock or a fact: no markdown, no links, no mentions."""
    # A carriage return ends a line in CommonMark as a newline does (so "0\r=" underlines a
    # heading): both become newlines first, for the start-of-line marks to be seen.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _AT.sub("<\u200b\\1", text)
    text = _MARKDOWN.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: m[1] + (m[2][:-1] + "\\" + m[2][-1] if m[2][0].isdigit() else "\\" + m[2]), text)
    return _INDENT.sub(lambda m: "\u00a0" * len(m.group()), text)


def cut(text: str, limit: int) -> str:
    """Shorten text to `limit` characters, never ending on a lone escape backslash."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if (len(head) - len(head.rstrip("\\"))) % 2:
        head = head[:-1]
    return head + "…"


def chunks(text: str, size: int) -> list[str]:
    """Split escaped text into pieces of at most `size`, at line breaks where possible."""
    pieces, rest = [], text
    while len(rest) > size:
        split = rest.rfind("\n", 0, size)
        if split < size // 2:
            split = size
        if (len(rest[:split]) - len(rest[:split].rstrip("\\"))) % 2:
            split -= 1  # keep an escape with the character it escapes
        pieces.append(rest[:split])
        rest = rest[split:].lstrip("\n")
    return pieces + ([rest] if rest else [])


def _plain(text: str, limit: int) -> str:
    """Text for places Teams shows without markdown (titles of buttons, choices, labels)."""
    return cut(_AT.sub("<\u200b\\1", " ".join(text.split())), limit) or " "


def _text_blocks(text: str, **style) -> list[dict]:
    return [{"type": "TextBlock", "text": piece, "wrap": True, **style} for piece in chunks(escape(text), limits.TEXT)]


def action_data(button: Button) -> dict:
    """Return the `data` of a button's Action.Submit."""
    return {DATA_KEY: {"action": str(button.action), "value": button.value[: limits.DATA_VALUE]}}


def _action(button: Button) -> dict:
    action = {"type": "Action.Submit", "title": _plain(button.label, limits.BUTTON_TITLE), "data": action_data(button)}
    if button.style in _STYLES:
        action["style"] = _STYLES[button.style]
    return action


def _action_sets(buttons: tuple[Button, ...]) -> list[dict]:
    return [{"type": "ActionSet", "actions": [_action(b) for b in buttons[start : start + limits.ACTIONS]]} for start in range(0, len(buttons), limits.ACTIONS)]


@dataclass
class _Mentions:
    """The mention entities a card needs, for the people who have a Teams id."""

    users: Mapping[int, tuple[str, str]]
    entities: list[dict] = field(default_factory=list)

    def text(self, mentions: tuple[Mention, ...]) -> str:
        names = []
        for mention in mentions:
            name = _plain(mention.name, limits.MENTION_NAME).replace("<", "‹").replace(">", "›")
            if mention.person_id in self.users:
                user_id, _ = self.users[mention.person_id]
                tag = f"<at>{name}</at>"
                self.entities.append({"type": "mention", "text": tag, "mentioned": {"id": user_id, "name": name}})
                names.append(tag)
            else:
                names.append(escape(name))
        return ", ".join(names)


def _section_body(text: str, fields, buttons, mentions: tuple[Mention, ...], people: _Mentions) -> list[dict]:
    items = _text_blocks(text) if text else []
    if mentions:
        items.append({"type": "TextBlock", "text": people.text(mentions), "wrap": True})
    for start in range(0, len(fields), limits.FACTS):
        facts = [
            {"title": cut(escape(" ".join(f.label.split())), limits.FACT_TITLE) or " ", "value": cut(escape(f.value), limits.FACT_VALUE) or " "}
            for f in fields[start : start + limits.FACTS]
        ]
        items.append({"type": "FactSet", "facts": facts})
    return items + _action_sets(buttons)


def _card(body: list[dict], actions: list[dict], entities: list[dict] | None = None) -> dict:
    card = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        card["actions"] = actions
    # `msteams` is Teams' own extension of the card (full width, mention entities).
    card["msteams"] = {"width": "Full", **({"entities": entities} if entities else {})}
    return card


def _size(card: dict) -> int:
    return len(json.dumps(card, ensure_ascii=False).encode())


def _fit(body: list[dict], actions: list[dict], entities: list[dict]) -> dict:
    """Return the card, dropping trailing body parts (and saying so) if it is too big for Teams."""
    card = _card(body, actions, entities)
    if _size(card) <= limits.CARD_BYTES:
        return card
    kept = list(body)
    while len(kept) > 1:
        kept.pop()
        note = {"type": "TextBlock", "text": f"… {len(body) - len(kept)} more parts were left out of this message.", "wrap": True, "isSubtle": True}
        used = json.dumps(kept, ensure_ascii=False)
        card = _card([*kept, note], actions, [e for e in entities if json.dumps(e["text"], ensure_ascii=False)[1:-1] in used])
        if _size(card) <= limits.CARD_BYTES:
            return card
    return _card(kept[:1], actions[: limits.ACTIONS])


def to_card(view: Message, users: Mapping[int, tuple[str, str]] | None = None) -> dict:
    """Render a message as an Adaptive Card; `users` maps mentioned person ids to (Teams id, name)."""
    people = _Mentions(users or {})
    body: list[dict] = []
    if view.title:
        body.append({"type": "TextBlock", "text": escape(cut(" ".join(view.title.split()), limits.TITLE)), "size": "Large", "weight": "Bolder", "wrap": True})
    if view.text:
        body += _text_blocks(view.text)
    for section in view.sections:
        items = _section_body(section.text, section.fields, section.buttons, section.mentions, people)
        if items:
            body.append({"type": "Container", "items": items, "separator": bool(body), "spacing": "Medium"})
    if view.footer:
        body += _text_blocks(view.footer, isSubtle=True, size="Small")
    actions = [_action(b) for b in view.buttons]
    if len(actions) > limits.ACTIONS:
        body += _action_sets(view.buttons)
        actions = []
    if not body:
        body.append({"type": "TextBlock", "text": "mlpulse", "wrap": True})
    return _fit(body, actions, people.entities)


def fallback_text(view: Message | Form) -> str:
    """Return the plain text Teams shows in notifications and the chat list."""
    title = view.title or "mlpulse"
    text = view.text if isinstance(view, Message) else view.intro
    return cut(" — ".join(p for p in (title, " ".join(text.split())) if p), 300)


def _input(item: Input, initial: str | None) -> dict:
    common = {"id": item.name, "label": _plain(item.label, limits.INPUT_LABEL), "isRequired": item.required}
    if item.required:
        common["errorMessage"] = _plain(f"{item.label} is required.", limits.INPUT_LABEL)
    if item.kind in (InputKind.TEXT, InputKind.LONG_TEXT, InputKind.PERSON, InputKind.PEOPLE):
        size = min(item.max_length or limits.INPUT_TEXT, limits.INPUT_TEXT)
        element = {"type": "Input.Text", **common, "maxLength": size, "isMultiline": item.kind == InputKind.LONG_TEXT}
        placeholder = {InputKind.PERSON: "Name or email", InputKind.PEOPLE: "Names or emails, separated by commas"}.get(item.kind, item.hint)
        if placeholder:
            element["placeholder"] = _plain(placeholder, limits.PLACEHOLDER)
        if initial:
            element["value"] = initial[:size]
        return element
    if item.kind == InputKind.CHOICE:
        choices = [{"title": _plain(c.label, limits.CHOICE_TITLE), "value": c.value[: limits.CHOICE_VALUE]} for c in item.choices[: limits.CHOICES]]
        element = {"type": "Input.ChoiceSet", **common, "choices": choices, "style": "compact"}
        if initial and any(c["value"] == initial for c in choices):
            element["value"] = initial
        return element
    if item.kind == InputKind.DATE:
        element = {"type": "Input.Date", **common}
        if initial and re.fullmatch(r"\d{4}-\d{2}-\d{2}", initial):
            element["value"] = initial
        return element
    common.pop("errorMessage", None)
    element = {"type": "Input.Toggle", **common, "isRequired": False, "title": _plain(item.label, limits.INPUT_LABEL), "valueOn": "true", "valueOff": ""}
    if initial in ("true", "1", "yes"):
        element["value"] = "true"
    return element


def _form_body(form: Form, notes: bool, error_limit: int) -> list[dict]:
    body: list[dict] = [{"type": "TextBlock", "text": escape(cut(form.title, limits.TITLE)), "size": "Large", "weight": "Bolder", "wrap": True}]
    if form.intro and notes:
        body += _text_blocks(form.intro)
    if form.errors:
        body.append({"type": "TextBlock", "text": "Please correct the fields marked below.", "color": "Attention", "wrap": True})
    for item in form.inputs:
        body.append(_input(item, form.values[item.name] if item.name in form.values else item.initial))
        if item.name in form.errors:
            body += _text_blocks(cut(form.errors[item.name], error_limit), color="Attention", size="Small", spacing="None")
        elif notes and item.hint and item.kind not in (InputKind.TEXT, InputKind.LONG_TEXT):
            body += _text_blocks(item.hint, isSubtle=True, size="Small", spacing="None")
    return body


def to_form_card(form: Form) -> dict:
    """Render a form as a card of inputs; errors from the last submission show under their inputs.

    A form never loses an input: when what was typed makes the card too big for Teams,
    the intro and hints go first, then the errors are shortened. The state is not cut
    (a cut state could not be read back); handlers keep it small.
    """
    submit = {
        "type": "Action.Submit",
        "title": _plain(form.submit_label, limits.BUTTON_TITLE),
        "style": "positive",
        "data": {DATA_KEY: {"form": str(form.form), "state": form.state}},
    }
    for notes, error_limit in ((True, limits.TEXT), (False, 300), (False, 80)):
        card = _card(_form_body(form, notes, error_limit), [submit])
        if _size(card) <= limits.CARD_BYTES:
            break
    return card


def card_message(view: Message | Form, users: Mapping[int, tuple[str, str]] | None = None) -> Activity:
    """Return a message activity carrying a view (a message or a form) as an Adaptive Card."""
    card = to_form_card(view) if isinstance(view, Form) else to_card(view, users)
    return Activity(type=ActivityTypes.message, summary=fallback_text(view), attachments=[Attachment(content_type=CONTENT_TYPE, content=card)])


@dataclass(frozen=True)
class Submission:
    """A button press (`action`, `value`) or a form submission (`form`, `state`, `values`) read off a card."""

    action: str | None = None
    value: str = ""
    form: str | None = None
    state: str = ""
    values: Mapping[str, str] = field(default_factory=dict)


def submission(value: object) -> Submission | None:
    """Read what a card's Action.Submit sent back, or None when it is not one of ours."""
    if not isinstance(value, dict) or not isinstance(value.get(DATA_KEY), dict):
        return None
    data = value[DATA_KEY]
    inputs = {k: "" if v is None else str(v) for k, v in value.items() if k != DATA_KEY}
    if isinstance(data.get("form"), str):
        return Submission(form=data["form"], state=str(data.get("state") or ""), values=inputs)
    if isinstance(data.get("action"), str):
        return Submission(action=data["action"], value=str(data.get("value") or ""))
    return None
