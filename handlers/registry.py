"""Handlers layer: the model registry: syncing app.yaml, listing models, retiring them.

Sync inserts and updates, and never silently deletes: a model removed from app.yaml
is marked retired (and comes back if it reappears), a person removed from it is
kept for the history but no longer counted as declared or as a lead. Choices made in
chat stick: a lead's retirement, a schedule set with /mlforum, and who said *Stop
asking me* about a model (or was named to answer instead). It writes only
what changed, so every start can run it; syncs started at once take turns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import live
from handlers.access import leads_only, visible_unit_ids
from handlers.actions import ActionId
from handlers.checkins import add_stakeholder, model_cadence, person_zone
from handlers.context import Context, Outgoing, Policy
from handlers.declarations import PortfolioDecl
from handlers.forums import handle_sync_forums
from handlers.health import HEALTH_EMOJI, Health, refresh_model_health
from handlers.periods import next_due_after
from handlers.views import Button, Message, Reply, ReplyMode, Style, notice
from storage import checkins as checkin_store
from storage import locks as lock_store
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage.models import BusinessUnit, MessageKind, MLModel, Person, Subject


@dataclass
class SyncReport:
    """What a sync changed, for the log and the CLI."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.created)} added", f"{len(self.updated)} updated", f"{len(self.retired)} retired"]
        return ", ".join(parts)


async def handle_sync(session: AsyncSession, decl: PortfolioDecl, policy: Policy, now: datetime) -> SyncReport:
    """Bring the database in line with a declared portfolio."""
    # The first statement: a sync started beside this one waits here until this one commits, and then sees its rows.
    await lock_store.lock_sync(session=session)
    report = SyncReport()
    workspace_tz = decl.workspace.timezone
    leads = set(decl.leads)
    people = await people_store.list_people_by_key(session=session)
    moved: set[int] = set()
    for p in decl.people:
        person = people.get(p.key)
        values = dict[str, Any](display_name=p.name, email=p.email, timezone=p.timezone or workspace_tz, is_lead=p.key in leads, declared=True)
        if person is None:
            person = people[p.key] = Person(key=p.key, created_at=now, updated_at=now, **values)
            report.created.append(f"person {p.key}")
        elif any(getattr(person, k) != v for k, v in values.items()):
            if person.timezone != values["timezone"]:
                moved.add(person.id)
            person.sqlmodel_update(values | {"updated_at": now})
            report.updated.append(f"person {p.key}")
        session.add(person)
    declared = {p.key for p in decl.people}
    for key, person in people.items():
        if key not in declared and person.declared:
            person.declared, person.is_lead = False, False
            session.add(person)
            report.updated.append(f"person {key} (no longer declared)")
    await session.flush()
    known = await people_store.list_identities_by_person(session=session)
    for p in decl.people:
        wanted = {"slack": p.slack, "teams": p.teams}
        person_id = people[p.key].id
        if changed := {platform: external_id for platform, external_id in wanted.items() if known.get((person_id, platform)) != external_id}:
            await people_store.update_identities(session=session, person_id=person_id, identities=changed)

    units = await people_store.list_units_by_name(session=session)
    for u in decl.units:
        unit = units.get(u.name.lower())
        values = dict[str, Any](name=u.name, channel=u.channel, timezone=u.timezone or workspace_tz)
        if unit is None:
            unit = units[u.name.lower()] = BusinessUnit(created_at=now, **values)
            report.created.append(f"unit {u.name}")
        elif any(getattr(unit, k) != v for k, v in values.items()):
            unit.sqlmodel_update(values)
            report.updated.append(f"unit {u.name}")
        session.add(unit)
    await session.flush()
    for u in decl.units:
        await people_store.update_unit_contacts(session=session, unit_id=units[u.name.lower()].id, person_ids=[people[k].id for k in u.contacts])
    await handle_sync_forums(session, {units[u.name.lower()].id: u.forum for u in decl.units}, {unit.id: unit for unit in units.values()}, now)

    models = await portfolio_store.list_models_by_key(session=session)
    links = await portfolio_store.list_stakeholders_by_model(session=session)
    choices = await portfolio_store.list_stakeholder_choices(session=session)
    for m in decl.models:
        model = models.get(m.key)
        values = dict[str, Any](
            name=m.name,
            description=m.description,
            unit_id=units[m.unit.lower()].id,
            owner_id=people[m.owner].id,
            deployed_on=m.deployed,
            kpi=m.kpi,
            cadence=m.cadence.to_cadence().to_json() if m.cadence else None,
        )
        if model is None:
            model = MLModel(key=m.key, created_at=now, updated_at=now, **values)
            session.add(model)
            await session.flush()
            report.created.append(f"model {m.key}")
            await refresh_model_health(session, model, now)
        else:
            reschedule = model.cadence != values["cadence"]
            revived = model.status == "retired" and model.retired_by_id is None
            if revived:
                model.status, model.retired_at = "active", None
                reschedule = True
                await live.changed(session, Subject.MODEL, model.id, now)
            if revived or any(getattr(model, k) != v for k, v in values.items()):
                model.sqlmodel_update(values | {"updated_at": now})
                session.add(model)
                report.updated.append(f"model {m.key}" + (" (back from retirement)" if revived else ""))
            if reschedule:
                await reschedule_checkins(session, model, policy, now)
        await _sync_stakeholders(session, model, links.get(model.id, set()), [people[k] for k in m.stakeholders], choices.get(model.id, {}), policy, now)
    declared_models = {m.key for m in decl.models}
    for key, model in models.items():
        if key not in declared_models and model.status == "active":
            await retire_model(session, model, None, now)
            report.retired.append(f"model {key}")
    for person_id in moved:
        for link, model in await portfolio_store.list_links_for_person(session=session, person_id=person_id):
            person = await people_store.must_get_person(session=session, person_id=person_id)
            link.next_due_at = next_due_after(model_cadence(model, policy), now, person_zone(person, policy)) if model.status == "active" else None
            session.add(link)
    return report


async def reschedule_checkins(session: AsyncSession, model: MLModel, policy: Policy, now: datetime) -> None:
    """Set each stakeholder's next check-in of a model to its next due time after `now`, in their own zone."""
    for link in await portfolio_store.list_stakeholder_links(session=session, model_id=model.id):
        person = await people_store.must_get_person(session=session, person_id=link.person_id)
        link.next_due_at = next_due_after(model_cadence(model, policy), now, person_zone(person, policy))
        session.add(link)


async def _sync_stakeholders(
    session: AsyncSession, model: MLModel, current: set[int], declared: list[Person], chosen: dict[int, bool], policy: Policy, now: datetime
) -> None:
    """Make a model's stakeholders the declared ones, as amended in chat: whoever said *Stop asking me* is left out, whoever was named instead stays."""
    wanted = [p for p in declared if chosen.get(p.id, True)]
    for person in wanted:
        if person.id not in current:
            await add_stakeholder(session, model, person, policy, now)
    for person_id in current - {p.id for p in wanted} - {person_id for person_id, asked in chosen.items() if asked}:
        await portfolio_store.delete_stakeholder(session=session, model_id=model.id, person_id=person_id)


async def retire_model(session: AsyncSession, model: MLModel, by: Person | None, now: datetime) -> None:
    """Retire a model: stop its check-ins and close the open ones; keep its history."""
    model.status, model.retired_at, model.retired_by_id, model.updated_at = "retired", now, by.id if by else None, now
    model.deprecation_candidate_since = model.deprecation_reason = None  # decided: nothing is pending any more
    session.add(model)
    await portfolio_store.update_model_schedule(session=session, model_id=model.id, next_due_at=None)
    for checkin_id in await checkin_store.update_cancel_open_checkins(session=session, model_id=model.id, now=now):
        await live.changed(session, Subject.CHECKIN, checkin_id, now)
    await live.changed(session, Subject.MODEL, model.id, now)


async def handle_retire_prompt(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Ask a lead to confirm retiring a model."""
    if refusal := leads_only(ctx, "retire models"):
        return refusal
    model = await portfolio_store.get_model(session=session, model_id=int(value)) if value.isdigit() else None
    if model is None or model.status != "active":
        return notice("That model is not active, so there is nothing to retire.")
    text = f"Retiring {model.name} stops its check-ins and closes the open ones. Its history stays, and a lead can bring it back from /mlstatus {model.key}."
    buttons = (Button(ActionId.MODEL_RETIRE_CONFIRM, f"Yes, retire {model.name}", str(model.id), Style.DANGER),)
    return Reply(Message(f"Retire {model.name}?", text, buttons=buttons), ReplyMode.EPHEMERAL)


async def handle_retire(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Retire a model in one click (leads only)."""
    if refusal := leads_only(ctx, "retire models"):
        return refusal
    model = await portfolio_store.get_model(session=session, model_id=int(value)) if value.isdigit() else None
    if model is None:
        return notice("That model no longer exists.")
    if model.status != "active":
        return Reply(Message(f"{model.name} is retired", "It was already retired; nothing changed."), ReplyMode.REPLACE)
    await retire_model(session, model, ctx.actor, ctx.now)
    return Reply(Message(f"{model.name} is retired", f"Retired by {ctx.actor.display_name}. Its check-ins have stopped; its history stays."), ReplyMode.REPLACE)


async def handle_restore(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Bring back a model a lead retired (leads only): its check-ins start again at their next due time.

    A model the app.yaml sync retired (it is no longer declared there) comes back
    through app.yaml only: the next sync would retire it again.
    """
    if refusal := leads_only(ctx, "bring models back"):
        return refusal
    model = await portfolio_store.get_model(session=session, model_id=int(value)) if value.isdigit() else None
    if model is None:
        return notice("That model no longer exists.")
    if model.status == "active":
        return Reply(Message(f"{model.name} is active", "It is not retired; nothing changed."), ReplyMode.REPLACE)
    if model.retired_by_id is None:
        return notice(
            f"{model.name} was retired because app.yaml no longer declares it. Declare it there again (key {model.key}) and it comes back at the next start."
        )
    model.status, model.retired_at, model.retired_by_id, model.updated_at = "active", None, None, ctx.now
    model.deprecation_candidate_since = model.deprecation_reason = None
    session.add(model)
    await reschedule_checkins(session, model, ctx.policy, ctx.now)
    await live.changed(session, Subject.MODEL, model.id, ctx.now)
    return Reply(
        Message(f"{model.name} is back", f"Brought back by {ctx.actor.display_name}. Its stakeholders are asked again from its next check-in."),
        ReplyMode.REPLACE,
    )


async def handle_model_list(session: AsyncSession, ctx: Context) -> Reply:
    """List every model the actor may see, with key, unit, owner, health and status."""
    unit_ids = await visible_unit_ids(session, ctx)
    rows = await portfolio_store.list_models(session=session, unit_ids=None if unit_ids is None else sorted(unit_ids), include_retired=True)
    lines = [
        f"{HEALTH_EMOJI[Health(m.health)] if m.status == 'active' else '⚫'} {m.key} · {m.name} · {u.name} · {o.display_name}"
        + ("" if m.status == "active" else " · retired")
        for m, u, o in sorted(rows, key=lambda r: r[0].key)
    ]
    text = "\n".join(lines) or "No models are registered yet. Declare them in app.yaml."
    return Reply(Message(f"Models ({len(rows)})", text), ReplyMode.EPHEMERAL)


# ---- what the outbox sends -------------------------------------------------------

OUTBOUND = (MessageKind.MODEL_DEPRECATION,)


async def render_outbound(session: AsyncSession, out: Outgoing) -> Message | None:
    """Ask a lead whether to retire a model that looks unused; once that is settled, say how."""
    update = out.update
    model = await portfolio_store.get_model(session=session, model_id=out.subject_id)
    if model is None:
        return None
    title = f"Retire {model.name}?"
    if model.status != "active":
        return Message(title, f"{model.name} is retired. /mlstatus {model.name} shows its history.") if update else None
    if model.deprecation_candidate_since is None:
        return Message(title, f"{model.name} is active and no longer looks unused, so there is nothing to decide.") if update else None
    return Message(
        title,
        f"{model.name} looks like it is no longer used: {model.deprecation_reason}.",
        buttons=(
            Button(ActionId.MODEL_RETIRE, "Retire it…", str(model.id), Style.DANGER),
            Button(ActionId.STATUS_MODEL, "View model", str(model.id)),
        ),
    )
