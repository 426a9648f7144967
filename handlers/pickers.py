"""Handlers layer: the inputs that pick a model or people, and reading back what was picked.

A model picker lists the models the person owns or answers for first, then every
other active model by name; the value is the model's key, so the shell can type it.
Wherever a model is named in words (`/mlstatus`, `/mlreport`, `/mlstory`, a typed
form answer), `match_model` finds it the same way, with suggestions.

A person picker's value is a person key (Slack's user picker) or whatever was typed
(the shell, Teams): a key, an email, a full name or one of its words ("tomas" finds
Tomás Silva), compared without case or accents. A person is only ever taken when
exactly one matches; a near miss gets suggestions, never a guess, because a wrong
person would be handed a check-in or a report.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.context import Context
from handlers.matching import Match, best_match, fold
from handlers.text import either, quoted
from handlers.views import Choice
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage.models import MLModel, Person

# Suggesting a person is a stronger hint than suggesting a model: only near misses ("tomass").
PERSON_PLAUSIBLE = 75
# Slack's select menus hold 100 options; the renderers enforce it, so the list is cut here, mine first.
MODEL_CHOICES = 100


async def model_choices(session: AsyncSession, ctx: Context, selected: MLModel | None = None) -> tuple[Choice, ...]:
    """Return the active models as choices: the selected one, then the actor's, then the rest by name."""
    mine = []
    if ctx.actor.id is not None:
        mine = [m for m, _, _ in await portfolio_store.list_models(session=session, person_id=ctx.actor.id, limit=MODEL_CHOICES)]
    names = await portfolio_store.list_model_names(session=session, include_retired=False)
    first = ([selected] if selected else []) + sorted(mine, key=lambda m: m.name)
    seen = {m.key for m in first}
    rest = sorted(((name, key) for _, key, name in names if key not in seen))
    choices = [Choice(m.key, m.name) for m in first] + [Choice(key, name) for name, key in rest]
    unique = list({c.value: c for c in choices}.values())
    return tuple(unique[:MODEL_CHOICES])


async def match_model(session: AsyncSession, text: str, *, include_retired: bool = False) -> Match[MLModel]:
    """Find the model a typed key or name means (fuzzily), or else the closest suggestions."""
    names = await portfolio_store.list_model_names(session=session, include_retired=include_retired)
    match = best_match(text, [(model_id, (key, name)) for model_id, key, name in names])
    ids = ([match.found] if match.found else []) + list(match.suggestions)
    models = {m.id: m for m in await portfolio_store.list_models_by_ids(session=session, ids=ids)}
    found = models.get(match.found) if match.found else None
    return Match(found, tuple(models[i] for i in match.suggestions if i in models))


def no_such_model(text: str, match: Match[MLModel]) -> str:
    """Say that no model is called `text`, naming the closest ones."""
    said = f"No model is called “{text.strip()}”."
    if not match.suggestions:
        return said
    return f"{said} Did you mean {either([m.name for m in match.suggestions])}?"


async def picked_model(session: AsyncSession, value: str | None) -> MLModel | None:
    """Return the active model a picker's value (its key) or a typed name names, or None."""
    if value is None or not value.strip():
        return None
    model = await portfolio_store.get_model_by_key(session=session, key=value.strip())
    if model is None:
        model = (await match_model(session, value)).found
    return model if model is not None and model.status == "active" else None


async def model_error(session: AsyncSession, value: str | None, missing: str) -> str:
    """Say why a form's model answer names no active model: `missing` when empty, else what it might have meant."""
    if value is None or not value.strip():
        return missing
    return f"{no_such_model(value, await match_model(session, value))} Choose one from the list."


def _person_names(person: Person) -> tuple[str, ...]:
    return tuple(n for n in (person.key, person.email, person.display_name) if n)


async def picked_person(session: AsyncSession, text: str) -> tuple[Person | None, str | None]:
    """Return the one person `text` names, or an error that says what to type instead."""
    return _find_person(text, await people_store.list_people(session=session, declared_only=False))


def _find_person(text: str, everyone: Sequence[Person]) -> tuple[Person | None, str | None]:
    who = text.strip().lstrip("@")
    needle = fold(who)
    matches = [p for p in everyone if needle in map(fold, _person_names(p))]
    if not matches:  # a first or last name: "tomas" for Tomás Silva
        matches = [p for p in everyone if needle in fold(p.display_name).split()]
    if len(matches) == 1:
        return matches[0], None
    if matches:
        return None, f"{quoted(who)} could be {_who(matches)}. Type their key or email address."
    near = best_match(who, [(p, (*_person_names(p), *p.display_name.split())) for p in everyone], plausible=PERSON_PLAUSIBLE)
    suggestions = (near.found,) if near.found else near.suggestions
    hint = f" Did you mean {_who(suggestions)}?" if suggestions else ""
    return None, f"Nobody called {quoted(who)} is known to mlpulse.{hint} Try their key or email address."


def _who(people: Sequence[Person]) -> str:
    return either([f"{p.display_name} ({p.key})" for p in people])


async def picked_people(session: AsyncSession, text: str) -> tuple[list[Person], str | None]:
    """Return the people a comma-separated list names (each once), or one error naming every part that is not one person."""
    people: dict[int, Person] = {}
    everyone = await people_store.list_people(session=session, declared_only=False)
    errors: list[str] = []
    for part in (p for p in text.split(",") if p.strip()):
        person, error = _find_person(part, everyone)
        if person is not None:
            people[person.id] = person
        elif error:
            errors.append(error)
    return (list(people.values()), None) if not errors else ([], " ".join(errors))
