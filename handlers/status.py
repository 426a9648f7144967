"""Handlers layer: `/mlstatus`, the portfolio view for ML leads.

`/mlstatus` shows counts by health and the models that need attention; `/mlstatus
<model>` one model; `/mlstatus unit <name>` one unit; `/mlstatus mine` the models I
own or answer for. Leads see everything; everyone else sees their own units and is
politely refused the rest. No view ever names who filed a failure report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.access import can_see_model, leads_only, visible_unit_ids
from handlers.actions import ActionId
from handlers.checkins import ANSWER_LABELS, model_cadence, person_zone
from handlers.commands import Command
from handlers.context import Context
from handlers.health import ATTENTION, HEALTH_EMOJI, Answer, Health, count_portfolio
from handlers.matching import best_match, fold
from handlers.pickers import match_model
from handlers.text import ago, day, percent, plural, when
from handlers.views import PAGE_SIZE, Button, Field, Message, Reply, ReplyMode, Section, Style, notice
from storage import checkins as checkin_store
from storage import conversations as conversation_store
from storage import forums as forum_store
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage import reports as report_store
from storage import stories as story_store
from storage.models import BusinessUnit, CheckIn, MLModel, Person

HISTORY_ROWS = 10


async def handle_status(session: AsyncSession, ctx: Context, args: str, shareable: bool = True) -> Reply:
    """Answer `/mlstatus [mine | unit <name> | <model>]`, privately, with a button to share the answer."""
    words = args.split()
    if not words:
        reply = await portfolio_page(session, ctx, 1)
    elif words[0].lower() == "mine" and len(words) == 1:
        reply = await mine_page(session, ctx, 1)
    elif words[0].lower() == "unit" and len(words) == 1:
        return notice("Which unit? For example: /mlstatus unit Sales")
    elif words[0].lower() == "unit":
        reply = await unit_by_name(session, ctx, " ".join(words[1:]))
    else:
        reply = await model_by_name(session, ctx, args.strip())
    if not shareable or not isinstance(reply.view, Message) or not reply.view.sections:
        return reply
    share = Button(ActionId.SHARE, "Share in channel", f"/mlstatus {' '.join(words)}".strip())
    return Reply(replace(reply.view, buttons=reply.view.buttons + (share,)), reply.mode)


async def handle_page(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Show another page of a paginated status list; `value` is 'portfolio:N', 'mine:N' or 'unit:ID:N'."""
    parts = value.split(":")
    try:
        if parts[0] == "portfolio":
            return await portfolio_page(session, ctx, int(parts[1]))
        if parts[0] == "mine":
            return await mine_page(session, ctx, int(parts[1]))
        if parts[0] == "unit":
            return await unit_page(session, ctx, int(parts[1]), int(parts[2]))
    except (IndexError, ValueError):
        pass
    return notice("That page link is not valid any more. Run /mlstatus again.")


def _last_answer(model: MLModel, ctx: Context) -> str:
    if not model.last_answer:
        return "none yet"
    return f"{ANSWER_LABELS[Answer(model.last_answer)]}, {ago(model.last_answer_at, ctx.now)}"


def model_section(model: MLModel, unit: BusinessUnit, owner: Person, ctx: Context) -> Section:
    """Return the summary of one model as a list entry."""
    text = f"{HEALTH_EMOJI[Health(model.health)]} {model.name} — {model.health}: {model.health_reason}"
    if model.deprecation_candidate_since:
        text += f"\nDeprecation candidate: {model.deprecation_reason}."
    return Section(
        text=text,
        fields=(
            Field("Unit", unit.name),
            Field("Owner", owner.display_name),
            Field("Last answer", _last_answer(model, ctx)),
            Field("Response rate", percent(model.response_rate)),
            Field("Open reports", str(model.open_reports)),
        ),
        buttons=(Button(ActionId.STATUS_MODEL, "Details", str(model.id)),),
    )


def _pager(kind: str, page: int, total: int) -> tuple[tuple[Button, ...], str]:
    pages = max(1, -(-total // PAGE_SIZE))
    buttons = []
    if page > 1:
        buttons.append(Button(ActionId.STATUS_PAGE, "‹ Previous", f"{kind}:{page - 1}"))
    if page < pages:
        buttons.append(Button(ActionId.STATUS_PAGE, "Next ›", f"{kind}:{page + 1}"))
    return tuple(buttons), (f"Page {page} of {pages}" if pages > 1 else "")


async def portfolio_page(session: AsyncSession, ctx: Context, page: int) -> Reply:
    """Show health counts, one page of the models that need attention, and upcoming forums."""
    units = await visible_unit_ids(session, ctx)
    unit_ids = None if units is None else sorted(units)
    if unit_ids == []:
        return notice("You are not part of any business unit in mlpulse yet, so there is nothing to show. An ML lead can add you in app.yaml.")
    counts = await count_portfolio(session, unit_ids)
    candidates = await portfolio_store.count_deprecation_candidates(session=session, unit_ids=unit_ids)
    total = counts.attention
    page = max(1, page)
    rows = await portfolio_store.list_models(session=session, unit_ids=unit_ids, healths=ATTENTION, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    scope = "ML portfolio" if units is None else "Your units' models"
    text = counts.line()
    if candidates:
        text += f"\n{plural(candidates, 'model')} may be retired (see Deprecation candidate below)."
    if "teams" in ctx.policy.platforms:
        unless = "slack" if "slack" in ctx.policy.platforms else None
        if unreachable := await conversation_store.count_people_without_reference(session=session, platform="teams", unit_ids=unit_ids, unless_on=unless):
            text += f"\n{plural(unreachable, 'stakeholder is', 'stakeholders are')} not reachable in Teams until the app is installed for them (/mlstatus <model> names them)."
    text += f"\n\nNeeds attention ({total}):" if total else "\n\nNothing needs attention right now."
    sections = [model_section(m, u, o, ctx) for m, u, o in rows]
    if page == 1:
        sections.append(await _forums_section(session, ctx, unit_ids))
    buttons, footer = _pager("portfolio", page, total)
    return Reply(Message(f"{scope}: {plural(counts.total, 'active model')}", text, tuple(sections), buttons, footer), ReplyMode.EPHEMERAL)


async def _forums_section(session: AsyncSession, ctx: Context, unit_ids: list[int] | None) -> Section:
    upcoming = await forum_store.list_upcoming_sessions(session=session, after=ctx.now, unit_ids=unit_ids, limit=3)
    tz = person_zone(ctx.actor, ctx.policy)
    if not upcoming:
        return Section(text="Upcoming forums: none scheduled.")
    return Section(text="Upcoming forums:\n" + "\n".join(f"• {unit.name}: {when(s.starts_at, tz, yours=True)}" for s, unit in upcoming))


async def mine_page(session: AsyncSession, ctx: Context, page: int) -> Reply:
    """Show the models the actor owns or answers for, and their waiting check-ins."""
    return Reply(await mine_view(session, ctx, page), ReplyMode.EPHEMERAL)


async def mine_view(session: AsyncSession, ctx: Context, page: int) -> Message:
    """Return a page of the models the actor owns or answers for, and how many check-ins wait for them."""
    total = await portfolio_store.count_models(session=session, person_id=ctx.actor.id)
    page = max(1, page)
    rows = await portfolio_store.list_models(session=session, person_id=ctx.actor.id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pending = await checkin_store.list_pending_checkins(session=session, person_id=ctx.actor.id)
    text = f"You own or answer for {plural(total, 'model')}." if total else "You do not own or answer for any model yet."
    buttons, footer = _pager("mine", page, total)
    if pending:
        text += f"\n{plural(len(pending), 'check-in is', 'check-ins are')} waiting for your answer."
        buttons = (Button(ActionId.MY_CHECKINS, "Answer my check-ins", style=Style.PRIMARY),) + buttons
    sections = tuple(model_section(m, u, o, ctx) for m, u, o in rows)
    return Message("My models", text, sections, buttons, footer)


async def unit_by_name(session: AsyncSession, ctx: Context, name: str) -> Reply:
    """Show one unit, found by a name that may be misspelt."""
    units = await people_store.list_units(session=session)
    match = best_match(name, [(u, (u.name,)) for u in units])
    if match.found is None:
        return _suggest("unit", name, [Button(ActionId.STATUS_UNIT, u.name, str(u.id)) for u in match.suggestions], "/mlstatus unit Sales")
    return await unit_page(session, ctx, match.found.id, 1)


async def unit_page(session: AsyncSession, ctx: Context, unit_id: int, page: int) -> Reply:
    """Show one page of a unit's models with its contacts."""
    unit = await people_store.get_unit(session=session, unit_id=unit_id)
    if unit is None:
        return notice("That unit no longer exists.")
    visible = await visible_unit_ids(session, ctx)
    if visible is not None and unit.id not in visible:
        return notice(f"{unit.name} is not one of your units, so its models are not shown to you. An ML lead can tell you more.")
    counts = await count_portfolio(session, [unit.id])
    total = counts.total
    page = max(1, page)
    rows = await portfolio_store.list_models(session=session, unit_ids=[unit.id], offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    contacts = await people_store.list_unit_contacts(session=session, unit_id=unit.id)
    fields = (
        Field("Contacts", ", ".join(p.display_name for p in contacts) or "none"),
        Field("Channel", unit.channel or "none"),
        Field("Time zone", unit.timezone),
    )
    buttons, footer = _pager(f"unit:{unit.id}", page, total)
    sections = (Section(fields=fields),) + tuple(model_section(m, u, o, ctx) for m, u, o in rows)
    return Reply(Message(f"{unit.name}: {plural(total, 'active model')}", counts.line(), sections, buttons, footer), ReplyMode.EPHEMERAL)


async def model_by_name(session: AsyncSession, ctx: Context, name: str) -> Reply:
    """Show one model, found by a key or name that may be misspelt; a unit's name offers that unit."""
    match = await match_model(session, name, include_retired=True)
    if match.found is not None:
        return await model_detail(session, ctx, match.found.id)
    buttons = [Button(ActionId.STATUS_MODEL, m.name, str(m.id)) for m in match.suggestions]
    unit = best_match(name, [(u, (u.name,)) for u in await people_store.list_units(session=session)]).found
    if unit is not None:
        offer = Button(ActionId.STATUS_UNIT, f"Unit {unit.name}", str(unit.id), Style.PRIMARY)
        if fold(unit.name) == fold(name):  # the unit's very name: the models it loosely resembles are noise
            buttons = []
        text = f"{unit.name} is a business unit: /mlstatus unit {unit.name} shows its models." + (" Or did you mean one of these models?" if buttons else "")
        return Reply(Message(f"No model called “{name}”", text, buttons=(offer, *buttons)), ReplyMode.EPHEMERAL)
    return _suggest("model", name, buttons, "/mlstatus churn")


def _suggest(kind: str, name: str, buttons: list[Button], example: str) -> Reply:
    if buttons:
        return Reply(Message(f"No {kind} called “{name}”", "Did you mean one of these?", buttons=tuple(buttons)), ReplyMode.EPHEMERAL)
    return notice(f"No {kind} matches “{name}”. Try /mlstatus for the whole list, or for example {example}.")


async def model_detail(session: AsyncSession, ctx: Context, model_id: int) -> Reply:
    """Show one model: health, people, answer history, reports, stories and next check-in."""
    model = await portfolio_store.get_model(session=session, model_id=model_id)
    if model is None:
        return notice("That model no longer exists.")
    if not await can_see_model(session, ctx, model):
        return notice(f"{model.name} belongs to a unit you are not part of, so its details are not shown to you. An ML lead can tell you more.")
    tz = person_zone(ctx.actor, ctx.policy)
    unit = await people_store.must_get_unit(session=session, unit_id=model.unit_id)
    owner = await people_store.must_get_person(session=session, person_id=model.owner_id)
    stakeholders = await portfolio_store.list_stakeholders(session=session, model_id=model.id)
    next_due = await portfolio_store.get_next_due_for_model(session=session, model_id=model.id)
    status = model.health if model.status == "active" else f"retired {day(model.retired_at.date()) if model.retired_at else ''}".strip()
    text = f"{model.description}\n" if model.description else ""
    text += f"Health: {model.health_reason}" if model.status == "active" else "This model is retired; no more check-ins are sent."
    fields = (
        Field("Unit", unit.name),
        Field("Owner", owner.display_name),
        Field("Stakeholders", ", ".join(p.display_name for p in stakeholders) or "none"),
        Field("Deployed", day(model.deployed_on)),
        Field("Cadence", model_cadence(model, ctx.policy).describe()),
        Field("Business KPI", model.kpi or "—"),
        Field("Response rate", percent(model.response_rate)),
        Field("Open reports", str(model.open_reports)),
        Field("Next check-in", when(next_due, tz, yours=True) if next_due and model.status == "active" else "none scheduled"),
    )
    sections = [Section(fields=fields)]
    history = await checkin_store.list_model_checkins(session=session, model_id=model.id, limit=HISTORY_ROWS)
    lines = [_history_line(c, p, tz) for c, p in history]
    sections.append(Section(text="Recent check-ins:\n" + ("\n".join(lines) if lines else "none yet")))
    reports = await report_store.list_open_reports(session=session, model_id=model.id, limit=5)
    if reports:
        sections.append(Section(text=f"Open reports ({model.open_reports}):"))
        sections += [
            Section(
                text=f"• {r.impact} · {r.status} · {r.what_happened[:120]} ({ago(r.created_at, ctx.now)})",
                buttons=(Button(ActionId.REPORT_VIEW, "Open", str(r.id)),),
            )
            for r in reports
        ]
    if ctx.actor.is_lead:
        glowing = [(c, c.comment, p) for c, p in history if c.answer == Answer.WORKS and c.comment][:3]
        sections += [
            Section(text=f"“{comment[:300]}” — {p.display_name}", buttons=(Button(ActionId.STORY_FROM_CHECKIN, "Make it a story", str(c.id)),))
            for c, comment, p in glowing
        ]
    if model.status == "active" and (unreachable := await unreachable_in_teams(session, ctx, stakeholders)):
        sections.append(
            Section(
                text=f"Not reachable in Teams until the app is installed for them: {', '.join(p.display_name for p in unreachable)}. "
                "Their check-ins wait and go out once they install it."
            )
        )
    stories = await story_store.list_posted_stories(session=session, model_id=model.id, limit=3)
    if stories:
        sections.append(Section(text="Success stories:\n" + "\n".join(f"• {s.headline}" for s in stories)))
    buttons: tuple[Button, ...] = ()
    if model.status == "active" and leads_only(ctx, "retire models") is None:
        label = "Retire (deprecation candidate)…" if model.deprecation_candidate_since else "Retire…"
        buttons = (Button(ActionId.MODEL_RETIRE, label, str(model.id), Style.DANGER),)
    elif model.status == "retired" and model.retired_by_id is not None and leads_only(ctx, "bring models back") is None:
        buttons = (Button(ActionId.MODEL_RESTORE, "Bring it back", str(model.id)),)
    if model.deprecation_candidate_since:
        sections.insert(0, Section(text=f"Deprecation candidate since {day(model.deprecation_candidate_since.date())}: {model.deprecation_reason}."))
    emoji = HEALTH_EMOJI[Health(model.health)] if model.status == "active" else "⚫"
    return Reply(Message(f"{emoji} {model.name} ({model.key}) · {status}", text, tuple(sections), buttons), ReplyMode.EPHEMERAL)


async def unreachable_in_teams(session: AsyncSession, ctx: Context, people: Sequence[Person]) -> list[Person]:
    """Return who cannot be sent anything: on Teams with no personal chat with the bot, and not on Slack."""
    if "teams" not in ctx.policy.platforms:
        return []
    reachable = await conversation_store.list_reachable_people(session=session, platform="teams", person_ids=[p.id for p in people])
    if "slack" in ctx.policy.platforms:
        reachable |= await people_store.list_people_with_identity(session=session, platform="slack", person_ids=[p.id for p in people])
    return [p for p in people if p.id not in reachable]


def _history_line(checkin: CheckIn, person: Person, tz: ZoneInfo) -> str:
    if checkin.status in ("answered", "reassigned") and checkin.answer:
        outcome = ANSWER_LABELS[Answer(checkin.answer)]
        if checkin.satisfaction:
            outcome += f" ({checkin.satisfaction}/5)"
    else:
        outcome = {"expired": "no response", "skipped": "skipped (away)", "open": "waiting", "cancelled": "cancelled"}.get(checkin.status, checkin.status)
    return f"• {day(date.fromisoformat(checkin.period_key))} · {person.display_name} · {outcome}"


COMMAND = Command(
    "mlstatus",
    handle_status,
    description="Health of the ML portfolio, one model, one unit, or yours",
    usage_hint="[mine | unit <name> | <model>]",
    help=(
        ("/mlstatus", "the portfolio: health counts, models that need attention, upcoming forums"),
        ("/mlstatus <model>", "one model: history, reports, stories, next check-in (fuzzy names work)"),
        ("/mlstatus unit <name>", "one business unit and its models"),
        ("/mlstatus mine", "the models you own or answer for"),
    ),
    words=("status",),
    suggestions=(("mlstatus", "The portfolio, one model (mlstatus churn), a unit (mlstatus unit Sales) or yours (mlstatus mine)"),),
)
