"""Names are matched the same way everywhere: models by every command and form, people without case or accents."""

from __future__ import annotations

import pytest
from sqlmodel import select

from handlers.actions import ActionId, FormId
from handlers.matching import best_match, fold
from handlers.pickers import picked_person
from handlers.views import Form, ReplyMode
from storage.models import Person, StoryContributor
from tests import factories as f
from tests.helpers import command, submit

PEOPLE = [
    "lead",
    "owner",
    {"key": "tom", "name": "Tomás Silva", "email": "tom@example.com"},
    {"key": "rosa", "name": "Rosa Díaz", "email": "rosa@example.com"},
    {"key": "sam", "name": "Sam Carter", "email": "sam@example.com"},
    {"key": "sam2", "name": "Sam Lee", "email": "sam.lee@example.com"},
]


@pytest.fixture
async def portfolio(sessions):
    spec = f.small_portfolio().model_dump()
    spec["people"] += PEOPLE[2:]
    async with sessions() as session:
        await f.sync(session, f.decl(**spec))


def test_names_compare_without_case_or_accents():
    assert fold("  Tomás   SILVA ") == "tomas silva"
    assert best_match("rosa diaz", [("rosa", ("Rosa Díaz",)), ("rob", ("Rob Diaz",))]).found == "rosa"


def test_a_clear_typo_is_taken_and_a_doubtful_name_gets_suggestions():
    models = [("churn", ("churn", "Churn predictor")), ("lead", ("lead-scoring", "Lead scoring")), ("fraud", ("invoice-fraud", "Invoice fraud screen"))]
    assert best_match("chrun", models).found == "churn"
    vague = best_match("forecast fraud", [*models, ("demand", ("demand", "Demand forecast"))])
    assert vague.found is None and set(vague.suggestions) >= {"demand", "fraud"}


@pytest.mark.parametrize("typed", ["chrun", "CHURN", "churn predictr"])
async def test_every_command_that_takes_a_model_name_finds_the_same_model(sessions, portfolio, typed):
    status = (await command(sessions, "lead", f"/mlstatus {typed}")).view
    assert status.title.startswith("❔ Churn predictor (churn)")
    for text in (f"/mlreport {typed}", f"/mlstory {typed}"):
        form = (await command(sessions, "ana", text)).view
        assert isinstance(form, Form) and {i.name: i for i in form.inputs}["model"].initial == "churn", text


async def test_an_unknown_model_name_gets_the_same_suggestions_everywhere(sessions, portfolio):
    status = (await command(sessions, "lead", "/mlstatus forecast fraud")).view
    assert {b.label for b in status.buttons} == {"Invoice fraud screen", "Demand forecast"}
    for text in ("/mlreport forecast fraud", "/mlstory forecast fraud"):
        form = (await command(sessions, "ana", text)).view
        assert form.intro.startswith("No model is called “forecast fraud”. Did you mean "), text
        assert "Demand forecast" in form.intro and "Invoice fraud screen" in form.intro
        assert {i.name: i for i in form.inputs}["model"].initial is None


async def test_a_model_typed_into_a_form_is_matched_like_a_command(sessions, portfolio):
    values = {"model": "chrun", "what_happened": "Scores are flat.", "impact": "minor"}
    filed = await submit(sessions, "ana", FormId.REPORT, "{}", values)
    assert filed.mode == ReplyMode.EPHEMERAL and "Your report about Churn predictor" in filed.view.text
    bad = await submit(sessions, "ana", FormId.REPORT, "{}", {**values, "model": "forecast fraud"})
    assert bad.view.errors["model"].startswith("No model is called “forecast fraud”. Did you mean ")


async def test_a_units_name_offers_the_unit(sessions, portfolio):
    view = (await command(sessions, "lead", "/mlstatus Sales")).view
    assert "Sales is a business unit: /mlstatus unit Sales shows its models." in view.text
    [offer, *_] = view.buttons
    assert (offer.action, offer.label) == (ActionId.STATUS_UNIT, "Unit Sales")
    assert [b.label for b in view.buttons if b.action != ActionId.SHARE] == ["Unit Sales"]
    typo = (await command(sessions, "lead", "/mlstatus sals")).view
    assert typo.buttons[0].label == "Unit Sales"


@pytest.mark.parametrize("typed", ["tomas", "Tomas Silva", "TOMÁS", "silva", "tom", "tom@example.com", "@tomás silva"])
async def test_people_are_found_without_case_or_accents(session, portfolio, typed):
    person, error = await picked_person(session, typed)
    assert error is None and person.key == "tom"


async def test_a_name_two_people_share_asks_which_and_a_near_miss_is_only_suggested(session, portfolio):
    person, error = await picked_person(session, "sam")
    assert person.key == "sam" and error is None  # a key wins over a first name
    person, error = await picked_person(session, "SAM LEE")
    assert person.key == "sam2"
    person, error = await picked_person(session, "carter")
    assert person.key == "sam"
    person, error = await picked_person(session, "tomass")
    assert person is None and error == "Nobody called “tomass” is known to mlpulse. Did you mean Tomás Silva (tom)? Try their key or email address."


async def test_a_first_name_two_people_share_is_refused_with_both(session):
    await f.sync(
        session,
        f.decl(people=["lead", {"key": "sc", "name": "Sam Carter", "email": "sc@example.com"}, {"key": "sl", "name": "Sam Lee", "email": "sl@example.com"}]),
    )
    person, error = await picked_person(session, "sam")
    assert person is None and error == "“sam” could be Sam Carter (sc) or Sam Lee (sl). Type their key or email address."


async def test_a_form_finds_a_person_without_accents(sessions, portfolio):
    form = (await command(sessions, "ana", "/mlstory churn")).view
    saved = await submit(
        sessions,
        "ana",
        FormId.STORY,
        form.state,
        {"model": "churn", "headline": "Churn down", "business_change": "Calls first.", "contributors": "tomas, rosa diaz"},
    )
    assert saved.mode == ReplyMode.EPHEMERAL, getattr(saved.view, "errors", None)
    async with sessions() as session:
        credited = (await session.exec(select(Person.key).join(StoryContributor, StoryContributor.person_id == Person.id))).all()
    assert sorted(credited) == ["rosa", "tom"]
