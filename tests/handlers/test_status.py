"""`/mlstatus` in its four forms, with fuzzy names, visibility and pagination."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from handlers import router
from handlers.actions import ActionId, FormId
from handlers.views import PAGE_SIZE, Message, ReplyMode
from storage.models import CheckIn, MLModel, Person
from tests import factories as f
from tests.conftest import TUESDAY
from tests.helpers import act, run_tick, submit


@pytest.fixture
async def portfolio(sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
    await run_tick(sessions, TUESDAY)


async def status(sessions, who: str, text: str) -> Message:
    async with sessions() as session:
        reply = await router.handle_command(session, f.ctx(await f.person(session, who), TUESDAY + timedelta(hours=1)), text)
    return reply.view


def everything(view: Message) -> str:
    return "\n".join([view.title, view.text] + [s.text for s in view.sections] + [f"{x.label}: {x.value}" for s in view.sections for x in s.fields])


async def test_portfolio_for_a_lead_counts_every_health(sessions, portfolio):
    view = await status(sessions, "lead", "/mlstatus")
    assert view.title == "ML portfolio: 3 active models"
    assert view.text.startswith("🟢 0 healthy · 🟠 0 degraded · 🔴 0 abandoned · ⚪ 0 silent · ❔ 3 unknown")
    assert "Nothing needs attention right now." in view.text
    assert view.sections[-1].text == "Upcoming forums: none scheduled."


async def test_portfolio_lists_models_needing_attention_with_their_facts(sessions, portfolio):
    async with sessions() as session:
        ana = await f.person(session, "ana")
        checkin = next(s for s in (await router.handle_command(session, f.ctx(ana, TUESDAY), "/mlpulse checkins")).view.sections if "Churn" in s.text)
        await router.handle_action(session, f.ctx(ana, TUESDAY + timedelta(minutes=5)), ActionId.CHECKIN_PROBLEMS, checkin.buttons[0].value)
        await session.commit()
    view = await status(sessions, "lead", "/mlstatus")
    assert "🟠 1 degraded" in view.text and "Needs attention (1):" in view.text
    section = view.sections[0]
    assert section.text == "🟠 Churn predictor — degraded: 1 of 1 stakeholder reports problems"
    assert {x.label: x.value for x in section.fields} == {
        "Unit": "Sales",
        "Owner": "Owner",
        "Last answer": "Yes, but with problems, 55 minutes ago",
        "Response rate": "100%",
        "Open reports": "0",
    }
    assert section.buttons[0].action == ActionId.STATUS_MODEL


async def test_needs_attention_lists_the_most_severe_first(sessions, portfolio):
    async with sessions() as session:
        rows = (
            await session.exec(
                select(CheckIn, MLModel.key, Person.key).join(MLModel, MLModel.id == CheckIn.model_id).join(Person, Person.id == CheckIn.person_id)
            )
        ).all()
    checkins = {(model, person): c.id for c, model, person in rows}
    later = TUESDAY + timedelta(hours=1)
    await act(sessions, "ana", ActionId.CHECKIN_STOPPED, checkins["churn", "ana"], later)
    await act(sessions, "bo", ActionId.CHECKIN_STOPPED, checkins["churn", "bo"], later)
    await act(sessions, "ana", ActionId.CHECKIN_PROBLEMS, checkins["demand", "ana"], later)
    await submit(sessions, "ana", FormId.REPORT, "{}", {"model": "demand", "what_happened": "Late.", "impact": "major"}, later)
    for days in (1, 2, 3):  # Cy never answers: the fraud screen goes silent
        await run_tick(sessions, TUESDAY + timedelta(days=days))
    async with sessions() as session:
        lead = await f.person(session, "lead")
        view = (await router.handle_command(session, f.ctx(lead, TUESDAY + timedelta(days=3)), "/mlstatus")).view
    # Abandoned, then degraded (even with the most open reports), then silent.
    assert [s.text.split(" — ")[0] for s in view.sections if s.fields] == ["🔴 Churn predictor", "🟠 Demand forecast", "⚪ Invoice fraud screen"]
    assert "Needs attention (3):" in view.text


async def test_business_users_see_only_their_units(sessions, portfolio):
    view = await status(sessions, "cy", "/mlstatus")
    assert view.title == "Your units' models: 1 active model"


@pytest.mark.parametrize("typed", ["churn", "Churn predictor", "CHURN", "chrun predictr"])
async def test_model_by_fuzzy_name(sessions, portfolio, typed):
    view = await status(sessions, "lead", f"/mlstatus {typed}")
    assert view.title.startswith("❔ Churn predictor (churn)")
    fields = {x.label: x.value for x in view.sections[0].fields}
    assert fields["Stakeholders"] == "Ana, Bo"
    assert fields["Next check-in"] == "Tue 10 Mar 2026, 10:00 (your time)"
    assert "Recent check-ins:\n• Tue 3 Mar 2026 · Ana · waiting\n• Tue 3 Mar 2026 · Bo · waiting" in everything(view)


async def test_unknown_model_gets_suggestions(sessions, portfolio):
    view = await status(sessions, "lead", "/mlstatus forecast fraud")
    assert view.title == "No model called “forecast fraud”"
    assert {b.label for b in view.buttons} == {"Invoice fraud screen", "Demand forecast"}
    nothing = await status(sessions, "lead", "/mlstatus zzzzqqq")
    assert nothing.text.startswith("No model matches “zzzzqqq”.")


async def test_a_business_user_asking_about_another_units_model_is_politely_refused(sessions, portfolio):
    view = await status(sessions, "cy", "/mlstatus churn")
    assert "belongs to a unit you are not part of" in view.text
    text = everything(view)
    for secret in ("Ana", "Owner", "Stakeholders", "Recent check-ins", "Sales"):
        assert secret not in text
    unit = await status(sessions, "cy", "/mlstatus unit Sales")
    assert unit.text == "Sales is not one of your units, so its models are not shown to you. An ML lead can tell you more."


async def test_unit_view_and_fuzzy_unit_names(sessions, portfolio):
    view = await status(sessions, "lead", "/mlstatus unit sals")
    assert view.title == "Sales: 2 active models"
    assert {x.label: x.value for x in view.sections[0].fields}["Contacts"] == "Ana"
    assert [s.text.split(" — ")[0] for s in view.sections[1:]] == ["❔ Churn predictor", "❔ Demand forecast"]
    missing = await status(sessions, "lead", "/mlstatus unit Legal")
    assert missing.text.startswith("No unit matches “Legal”")


async def test_mine_shows_models_owned_or_answered_for(sessions, portfolio):
    view = await status(sessions, "ana", "/mlstatus mine")
    assert view.text.startswith("You own or answer for 2 models.\n2 check-ins are waiting for your answer.")
    assert view.buttons[0].action == ActionId.MY_CHECKINS
    owner = await status(sessions, "owner", "/mlstatus mine")
    assert owner.text == "You own or answer for 2 models."


async def test_long_lists_paginate(sessions):
    people = ["lead", "owner", "ana"]
    models = [{"key": f"m{i:02d}", "name": f"Model {i:02d}", "unit": "Sales", "owner": "owner", "stakeholders": ["ana"]} for i in range(20)]
    async with sessions() as session:
        await f.sync(session, f.decl(people=people, leads=["lead"], units=["Sales"], models=models))
    for day in (0, 1, 2, 3):  # no answers: every model goes silent
        await run_tick(sessions, TUESDAY + timedelta(days=day))
    first = await status(sessions, "lead", "/mlstatus")
    assert "⚪ 20 silent" in first.text and first.footer == "Page 1 of 3"
    assert len([s for s in first.sections if s.fields]) == PAGE_SIZE
    assert [b.label for b in first.buttons] == ["Next ›", "Share in channel"]
    async with sessions() as session:
        lead = await f.person(session, "lead")
        last = (await router.handle_action(session, f.ctx(lead, TUESDAY + timedelta(days=3)), ActionId.STATUS_PAGE, "portfolio:3")).view
    assert last.footer == "Page 3 of 3" and len(last.sections) == 20 - 2 * PAGE_SIZE
    assert [b.label for b in last.buttons] == ["‹ Previous"]
    seen = {s.text for s in first.sections} | {s.text for s in last.sections}
    assert len([t for t in seen if t.startswith("⚪ Model")]) == PAGE_SIZE + 4


async def test_unknown_commands_get_help(sessions, portfolio):
    async with sessions() as session:
        lead = await f.person(session, "lead")
        reply = await router.handle_command(session, f.ctx(lead), "/mlfoo")
        assert "“/mlfoo” is not an mlpulse command" in reply.view.text and "/mlstatus unit <name>" in reply.view.text
        stale = await router.handle_action(session, f.ctx(lead), "no.such.action", "1")
        assert stale.mode == ReplyMode.EPHEMERAL and "older version" in stale.view.text
