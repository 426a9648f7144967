"""Success stories: the form and its errors, review by the owner or a lead, posting and credits."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import select

from handlers.actions import ActionId, FormId
from handlers.outbound import handle_outbound
from handlers.views import Form, ReplyMode
from storage.models import CheckIn, Person, StoryContributor, SuccessStory
from tests import factories as f
from tests.conftest import NOW, POLICY, TUESDAY
from tests.helpers import act, command, outbox, run_tick, submit

STORIES = replace(POLICY, stories_channel="#ml-wins")
GOOD = {
    "model": "churn",
    "headline": "Churn down 3 points",
    "business_change": "Account managers call the top-decile accounts first.",
    "impact_metric": "Monthly churn",
    "impact_value": "-3 points",
    "contributors": "ana, bo@example.com",
}


@pytest.fixture
async def portfolio(sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())


async def stories(sessions) -> list[SuccessStory]:
    async with sessions() as session:
        return list((await session.exec(select(SuccessStory).order_by(SuccessStory.id))).all())


async def contributor_keys(sessions, story_id: int) -> set[str]:
    async with sessions() as session:
        rows = (await session.exec(select(StoryContributor).where(StoryContributor.story_id == story_id))).all()
        return {(await session.get(Person, r.person_id)).key for r in rows}


async def person_id(sessions, key: str) -> int:
    async with sessions() as session:
        return (await f.person(session, key)).id


async def rendered(sessions, kind: str):
    message = (await outbox(sessions, kind))[-1]
    async with sessions() as session:
        return await handle_outbound(session, message, STORIES, NOW)


async def test_mlstory_opens_the_form_with_the_model_and_me_as_contributor(sessions, portfolio):
    reply = await command(sessions, "ana", "/mlstory churn")
    inputs = {i.name: i for i in reply.view.inputs}
    assert reply.mode == ReplyMode.FORM and inputs["model"].initial == "churn" and inputs["contributors"].initial == "ana"
    assert set(inputs) == {"model", "headline", "business_change", "impact_metric", "impact_value", "contributors"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"model": ""}, "model", "Choose the model"),
        ({"headline": ""}, "headline", "Give the story a headline"),
        ({"headline": "h" * 151}, "headline", "under 150 characters (it has 151)"),
        ({"business_change": " "}, "business_change", "what changed for the business"),
        ({"impact_value": ""}, {"impact_value", "impact_metric"}, "both the metric and its value"),
        ({"impact_metric": ""}, {"impact_metric", "impact_value"}, "both the metric and its value"),
        ({"contributors": "ana, zed"}, "contributors", "Nobody called “zed” is known to mlpulse. Try their key or email address."),
    ],
)
async def test_bad_input_comes_back_on_its_field_and_saves_nothing(sessions, portfolio, changes, field, message):
    reply = await submit(sessions, "ana", FormId.STORY, "", {**GOOD, **changes})
    fields = field if isinstance(field, set) else {field}
    assert isinstance(reply.view, Form) and set(reply.view.errors) == fields and all(message in reply.view.errors[name] for name in fields)
    assert await stories(sessions) == []


async def test_every_mistake_comes_back_in_one_round(sessions, portfolio):
    values = {**GOOD, "model": "", "headline": "h" * 151, "impact_metric": "m" * 201, "impact_value": "", "contributors": "zed, ana, 🧑\u200d🔬 yves"}
    reply = await submit(sessions, "ana", FormId.STORY, "", values)
    errors = reply.view.errors
    assert set(errors) == {"model", "headline", "impact_metric", "impact_value", "contributors"}
    assert "“zed”" in errors["contributors"] and "“🧑\u200d🔬 yves”" in errors["contributors"]  # as typed, not as a repr
    fixed = {**values, "model": "churn", "headline": "Churn down", "impact_metric": "Monthly churn", "impact_value": "-3 points", "contributors": "ana"}
    assert "waiting for approval" in (await submit(sessions, "ana", FormId.STORY, "", fixed)).view.text


async def test_a_story_waits_for_the_owner_and_credits_its_contributors(sessions, portfolio):
    reply = await submit(sessions, "ana", FormId.STORY, "", GOOD)
    assert "waiting for approval" in reply.view.text
    [story] = await stories(sessions)
    assert (story.status, story.headline, story.impact_value) == ("pending", "Churn down 3 points", "-3 points")
    assert await contributor_keys(sessions, story.id) == {"ana", "bo"}
    [review] = await outbox(sessions, "story.review")
    assert review.person_id == await person_id(sessions, "owner")
    view = await rendered(sessions, "story.review")
    assert [b.label for b in view.all_buttons()] == ["Approve", "Edit", "Decline"]
    assert [m.name for m in view.all_mentions()] == ["Ana", "Bo"]


async def test_a_story_the_owner_wrote_goes_to_the_leads(sessions, portfolio):
    await submit(sessions, "owner", FormId.STORY, "", GOOD)
    assert [m.person_id for m in await outbox(sessions, "story.review")] == [await person_id(sessions, "lead")]


async def test_approval_posts_to_the_stories_channel_and_tells_each_contributor_once(sessions, portfolio):
    await submit(sessions, "cy", FormId.STORY, "", GOOD)
    [story] = await stories(sessions)
    for _ in range(2):  # a double click
        reply = await act(sessions, "owner", ActionId.STORY_APPROVE, story.id, policy=STORIES)
    assert reply.mode == ReplyMode.REPLACE and reply.view.all_buttons() == () and "Approved and posted" in reply.view.footer
    [story] = await stories(sessions)
    assert (story.status, story.decided_by_id, story.posted_at) == ("approved", await person_id(sessions, "owner"), NOW)
    [post] = await outbox(sessions, "story.post")
    assert post.channel == "#ml-wins"
    featured = await outbox(sessions, "story.featured")
    assert sorted(m.person_id for m in featured) == sorted([await person_id(sessions, "ana"), await person_id(sessions, "bo")])
    [decided] = await outbox(sessions, "story.decided")  # Cy submitted it but is not credited
    assert decided.person_id == await person_id(sessions, "cy")
    posted = await rendered(sessions, "story.post")
    assert posted.title == "🎉 Churn down 3 points" and [m.name for m in posted.all_mentions()] == ["Ana", "Bo"]
    assert ("Monthly churn", "-3 points") in [(x.label, x.value) for s in posted.sections for x in s.fields]
    assert "Your work was featured" in (await rendered(sessions, "story.featured")).title


@pytest.mark.parametrize("who", ["ana", "cy"])
async def test_only_the_owner_or_a_lead_reviews(sessions, portfolio, who):
    await submit(sessions, "ana", FormId.STORY, "", GOOD)
    [story] = await stories(sessions)
    for action in (ActionId.STORY_APPROVE, ActionId.STORY_EDIT, ActionId.STORY_DECLINE):
        reply = await act(sessions, who, action, story.id)
        assert "Only ML leads and the model's owner (Owner)" in reply.view.text
    assert (await stories(sessions))[0].status == "pending" and await outbox(sessions, "story.post") == []


async def test_the_owner_edits_before_approving(sessions, portfolio):
    await submit(sessions, "ana", FormId.STORY, "", GOOD)
    [story] = await stories(sessions)
    form = (await act(sessions, "owner", ActionId.STORY_EDIT, story.id)).view
    assert {i.name: i.initial for i in form.inputs}["headline"] == "Churn down 3 points" and form.state == f"story:{story.id}"
    reply = await submit(sessions, "owner", FormId.STORY, form.state, {**GOOD, "headline": "Churn down 3.2 points", "contributors": "ana"})
    assert reply.mode == ReplyMode.REPLACE and "Edited by Owner." in reply.view.text
    [story] = await stories(sessions)
    assert (story.headline, story.status) == ("Churn down 3.2 points", "pending")
    assert await contributor_keys(sessions, story.id) == {"ana"}


async def test_a_declined_story_tells_the_submitter_why(sessions, portfolio):
    await submit(sessions, "ana", FormId.STORY, "", GOOD)
    [story] = await stories(sessions)
    assert (await act(sessions, "lead", ActionId.STORY_DECLINE, story.id)).view.form == FormId.STORY_DECLINE
    await submit(sessions, "lead", FormId.STORY_DECLINE, story.id, {"reason": "Needs numbers from finance first."})
    assert (await stories(sessions))[0].status == "declined"
    told = await rendered(sessions, "story.decided")
    assert told.title == "Your story was not approved" and "Needs numbers from finance first." in told.text
    assert await outbox(sessions, "story.post") == []


async def test_the_same_submission_twice_creates_one_story(sessions, portfolio):
    for _ in range(2):
        await submit(sessions, "ana", FormId.STORY, "", GOOD, request_id="view:S1")
    assert len(await stories(sessions)) == 1 and len(await outbox(sessions, "story.review")) == 1


async def test_a_lead_turns_a_glowing_check_in_into_a_story_draft(sessions, portfolio):
    await run_tick(sessions, TUESDAY)
    async with sessions() as session:
        ana = await f.person(session, "ana")
        churn = await f.model(session, "churn")
        checkin = (await session.exec(select(CheckIn).where(CheckIn.person_id == ana.id, CheckIn.model_id == churn.id))).one()
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, checkin.id, TUESDAY)
    await submit(sessions, "ana", FormId.CHECKIN_FOLLOWUP, checkin.id, {"comment": "Saved us two renewals this month!"}, TUESDAY)

    detail = (await command(sessions, "lead", "/mlstatus churn", TUESDAY)).view
    promote = next(b for b in detail.all_buttons() if b.action == ActionId.STORY_FROM_CHECKIN)
    assert promote.value == str(checkin.id)
    assert all(b.action != ActionId.STORY_FROM_CHECKIN for b in (await command(sessions, "ana", "/mlstatus churn", TUESDAY)).view.all_buttons())
    assert "Only ML leads" in (await act(sessions, "ana", ActionId.STORY_FROM_CHECKIN, checkin.id, TUESDAY)).view.text

    form = (await act(sessions, "lead", ActionId.STORY_FROM_CHECKIN, checkin.id, TUESDAY)).view
    initial = {i.name: i.initial for i in form.inputs}
    assert (initial["model"], initial["business_change"], initial["contributors"]) == ("churn", "Saved us two renewals this month!", "ana")
    await submit(sessions, "lead", FormId.STORY, form.state, {**GOOD, "contributors": "ana"}, TUESDAY)
    [story] = await stories(sessions)
    assert story.source_checkin_id == checkin.id


async def test_an_edit_saved_after_someone_else_decided_the_story_changes_nothing(sessions, portfolio):
    await submit(sessions, "cy", FormId.STORY, "", GOOD)
    [story] = await stories(sessions)
    form = (await act(sessions, "owner", ActionId.STORY_EDIT, story.id)).view  # the owner opens the edit form...
    await act(sessions, "lead", ActionId.STORY_APPROVE, story.id, policy=STORIES)  # ...while a lead approves it
    reply = await submit(sessions, "owner", FormId.STORY, form.state, {**GOOD, "headline": "Churn down 30 points"})
    assert reply.mode == ReplyMode.REPLACE and "the edit was not saved" in reply.view.text
    assert reply.view.all_buttons() == () and "Approved and posted" in reply.view.footer
    [story] = await stories(sessions)
    assert (story.status, story.headline) == ("approved", "Churn down 3 points")
