"""Handlers layer: the inputs that pick a model or people, and reading back what was picked.

A model picker lists the models the person owns or answers for first, then every
other active model by name; the value is the model's key, so the shell can type it.
A person picker's value is a person key (Slack's user picker) or whatever was typed
(the shell): a key, an email or a display name.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.context import Context
from handlers.matching import best_match
from handlers.text import quoted
from handlers.views import Choice
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage.models import MLModel, Person

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


async def picked_model(session: AsyncSession, value: str | None) -> MLModel | None:
    """Return the active model a picker's value names, or None."""
    model = await portfolio_store.get_model_by_key(session=session, key=(value or "").strip()) if value else None
    return model if model is not None and model.status == "active" else None


async def named_model(session: AsyncSession, text: str) -> MLModel | None:
    """Return the active model a typed name or key means (fuzzily), or None when it is not clear."""
    names = await portfolio_store.list_model_names(session=session, include_retired=False)
    match = best_match(text, [(key, (key, name)) for _, key, name in names])
    return await picked_model(session, match.found) if match.found else None


async def picked_person(session: AsyncSession, text: str) -> tuple[Person | None, str | None]:
    """Return the one person `text` names, or an error that says what to type instead."""
    who = text.strip().lstrip("@")
    matches = await people_store.find_people(session=session, text=who)
    if not matches:
        return None, f"Nobody called {quoted(who)} is known to mlpulse. Try their email address."
    if len(matches) > 1:
        return None, f"{quoted(who)} matches {len(matches)} people; use their email address."
    return matches[0], None


async def picked_people(session: AsyncSession, text: str) -> tuple[list[Person], str | None]:
    """Return the people a comma-separated list names (each once), or one error naming every part that is not one person."""
    people: dict[int, Person] = {}
    errors = []
    for part in (p for p in text.split(",") if p.strip()):
        person, error = await picked_person(session, part)
        if error:
            errors.append(error)
        else:
            people[person.id] = person
    return (list(people.values()), None) if not errors else ([], " ".join(errors))
