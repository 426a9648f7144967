"""The digest's content: this week against last, models needing attention, stories, and the health chart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from handlers.actions import ActionId, FormId
from handlers.digest import build_digest, digest_moment, health_by_week, week_key
from storage.models import CheckIn, ModelHealthEvent, Person, SuccessStory
from tests import factories as f
from tests.conftest import POLICY, TUESDAY
from tests.helpers import act, command, run_tick, submit

DIGEST = replace(POLICY, digest_channel="#ml-digest", digest_cron="0 9 * * mon", timezone="Europe/Berlin", stories_channel="#wins")


def fields(view) -> dict[str, str]:
    return {x.label: x.value for s in view.sections for x in s.fields}


def test_the_digest_moment_is_the_latest_cron_time_of_the_past_week_in_the_workspace_zone():
    monday = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    assert digest_moment(DIGEST, monday - timedelta(seconds=1)) == monday - timedelta(days=7)
    assert digest_moment(DIGEST, monday) == monday
    assert week_key(monday, DIGEST) == "2026-W11"
    assert digest_moment(replace(DIGEST, digest_cron="0 9 1 1 *"), monday) is None  # yearly, long past


async def test_the_digest_compares_this_week_with_last_and_lists_what_needs_attention(sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
    await run_tick(sessions, TUESDAY)
    async with sessions() as session:
        checkins = {(await session.get(Person, c.person_id)).key: c for c in (await session.exec(select(CheckIn))).all()}
    later = TUESDAY + timedelta(hours=1)
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, checkins["ana"].id, later)
    await act(sessions, "bo", ActionId.CHECKIN_STOPPED, checkins["bo"].id, later)
    await submit(sessions, "bo", FormId.REPORT, "{}", {"model": "churn", "what_happened": "Useless now.", "impact": "major"}, later)
    await submit(sessions, "ana", FormId.STORY, "", {"model": "demand", "headline": "Fewer stock-outs", "business_change": "Orders on time."}, later)
    async with sessions() as session:
        story_id = (await session.exec(select(SuccessStory))).one().id
    await act(sessions, "lead", ActionId.STORY_APPROVE, story_id, later, policy=DIGEST)
    for days in (1, 2, 3):  # two reminders, then the other two expire unanswered
        await run_tick(sessions, TUESDAY + timedelta(days=days))

    until = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    async with sessions() as session:
        view = await build_digest(session, DIGEST, until)
        weekly = await health_by_week(session, until)
    numbers = fields(view)
    assert numbers["New reports"] == "1 (▲ 1 from 0)"
    assert numbers["Resolved reports"] == "0 (same as last week)"
    assert numbers["Response rate"] == "50% (no figure last week)"  # Ana's and Bo's churn answered; Ana's demand and Cy's fraud expired
    text = "\n".join(s.text for s in view.sections)
    assert "Needs attention (" in text and "Churn predictor" in text
    assert "🎉 Fewer stock-outs (Demand forecast)" in text
    assert view.attachments[0].content.startswith(b"\x89PNG")
    assert len(weekly) == 12 and sum(weekly[-1][1].values()) == 3 and sum(weekly[0][1].values()) == 0


async def test_health_by_week_follows_each_models_changes(sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
        churn = await f.model(session, "churn")
        start = datetime(2026, 3, 30, tzinfo=UTC)
        for weeks, health in ((1, "healthy"), (3, "degraded"), (5, "abandoned")):
            session.add(ModelHealthEvent(model_id=churn.id, health=health, at=start + timedelta(weeks=weeks, hours=1)))
        await session.commit()
        weekly = await health_by_week(session, start + timedelta(weeks=6), weeks=6)
    # The instants are the ends of weeks 1 to 6; each change lands an hour after a week's end.
    assert [counts["healthy"] for _, counts in weekly] == [0, 1, 1, 0, 0, 0]
    assert [counts["degraded"] for _, counts in weekly] == [0, 0, 0, 1, 1, 0]
    assert [counts["abandoned"] for _, counts in weekly] == [0, 0, 0, 0, 0, 1]
    assert [counts["unknown"] for _, counts in weekly] == [3, 2, 2, 2, 2, 2]


async def test_the_digest_counts_the_portfolio_as_mlstatus_does_and_its_chart_adds_up(sessions, monkeypatch):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
    await run_tick(sessions, TUESDAY)
    async with sessions() as session:
        checkins = {(await session.get(Person, c.person_id)).key: c for c in (await session.exec(select(CheckIn))).all()}
    await act(sessions, "cy", ActionId.CHECKIN_WORKS, checkins["cy"].id, TUESDAY + timedelta(hours=1))
    until = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    # A model registered after the digest's moment and before its post: its health is unknown.
    spec = f.small_portfolio().model_dump()
    spec["models"].append({"key": "staffing", "name": "Staffing planner", "unit": "Finance", "owner": "owner", "stakeholders": ["cy"]})
    async with sessions() as session:
        await f.sync(session, f.decl(**spec), until + timedelta(hours=1))
    drawn = []
    monkeypatch.setattr("handlers.digest.health_chart", lambda weeks, counts, title: drawn.append(counts) or b"\x89PNG")
    async with sessions() as session:
        view = await build_digest(session, DIGEST, until)
    status = (await command(sessions, "lead", "/mlstatus", until + timedelta(hours=2))).view
    assert status.title == "ML portfolio: 4 active models"
    assert view.text == status.text.splitlines()[0] == "🟢 1 healthy · 🟠 0 degraded · 🔴 0 abandoned · ⚪ 0 silent · ❔ 3 unknown"
    assert dict(drawn[0][-1]) == {"healthy": 1, "degraded": 0, "abandoned": 0, "silent": 0, "unknown": 3}
    assert fields(view)["Models in use"] == "1 (▲ 1 from 0)"
