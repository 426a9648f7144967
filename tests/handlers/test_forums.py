"""Review forums: schedules, announcements with a data-built agenda, RSVPs, the .ics, reminders, notes and action items."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlmodel import select

from bot.delivery import deliver_due
from handlers.actions import ActionId, FormId
from handlers.digest import build_digest
from handlers.views import ReplyMode
from storage.db import session_factory
from storage.models import ActionItem, FailureReport, ForumRSVP, ForumSession, ForumTopic, ReviewForum
from tests import factories as f
from tests.bot.fakes import RecordingMessenger
from tests.conftest import POLICY
from tests.helpers import act, command, outbox, run_tick, submit

UTC = UTC
SYNCED = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday, after March's first Tuesday
APRIL = datetime(2026, 4, 7, 19, 0, tzinfo=UTC)  # first Tuesday of April, 15:00 in New York (EDT)
ANNOUNCED = APRIL - timedelta(days=7)
MONTHLY = {"every": "1 month", "on": "first tue", "at": "15:00", "duration": "60m", "announce": "7d"}


def forum_portfolio(channel: str | None = "#sales", forum: dict | None = None, tz: str = "America/New_York"):
    """The small portfolio with a monthly forum for Sales in New York."""
    data = f.small_portfolio().model_dump()
    data["units"][0].update(channel=channel, timezone=tz, forum=forum or MONTHLY)
    return f.PortfolioDecl.model_validate(data)


@pytest.fixture
async def portfolio(sessions):
    async with sessions() as session:
        await f.sync(session, forum_portfolio(), SYNCED)


async def forum_sessions(sessions) -> list[ForumSession]:
    async with sessions() as session:
        return list((await session.exec(select(ForumSession).order_by(ForumSession.starts_at))).all())


async def announce(sessions, messenger=None, at: datetime = ANNOUNCED):
    """Tick at `at` and deliver; return the messenger and the announced session."""
    messenger = messenger or RecordingMessenger()
    await run_tick(sessions, at)
    await deliver_due(sessions, messenger, POLICY, at)
    [fs] = [s for s in await forum_sessions(sessions) if s.announced_at]
    return messenger, fs


def announcement_id(messenger) -> str:
    """Return the platform id the recording messenger gave the announcement."""
    return str(next(i for i, (_, view, _) in enumerate(messenger.sent, 1) if view.title.startswith("📅")))


def titles(view) -> str:
    return "\n".join(s.text for s in view.sections)


async def test_a_declared_forum_gets_its_next_session_in_the_units_time_zone(sessions, portfolio):
    [fs] = await forum_sessions(sessions)
    assert (fs.starts_at, fs.ends_at, fs.timezone, fs.status) == (APRIL, APRIL + timedelta(hours=1), "America/New_York", "scheduled")
    # Ticks keep exactly one upcoming session, however often they run.
    await run_tick(sessions, SYNCED + timedelta(minutes=1))
    await run_tick(sessions, SYNCED + timedelta(minutes=2))
    assert [s.starts_at for s in await forum_sessions(sessions)] == [APRIL]


async def test_the_announcement_goes_to_the_channel_n_days_ahead_once(sessions, portfolio):
    await run_tick(sessions, ANNOUNCED - timedelta(minutes=1))
    assert await outbox(sessions, "forum.announce") == []
    messenger, fs = await announce(sessions)
    await run_tick(sessions, ANNOUNCED + timedelta(minutes=5))
    await deliver_due(sessions, messenger, POLICY, ANNOUNCED + timedelta(minutes=5))
    [(target, view, _)] = [s for s in messenger.sent if s[1].title.startswith("📅")]
    assert target.channel == "#sales"
    assert view.title == "📅 Sales × ML review forum · Tue 7 Apr 2026, 15:00 (America/New_York)"
    assert [b.label for b in view.buttons] == ["Going", "Can't make it", "Propose a topic"]
    assert view.attachments[0].filename == "forum-sales-2026-04-07.ics"
    assert fs.announced_at == ANNOUNCED


async def test_without_a_channel_each_unit_contact_gets_the_announcement_by_dm(sessions):
    async with sessions() as session:
        await f.sync(session, forum_portfolio(channel=None), SYNCED)
    messenger, _ = await announce(sessions)
    assert [t.person.key for t, v, _ in messenger.sent if v.title.startswith("📅")] == ["ana"]


async def test_the_invite_parses_back_with_the_start_in_the_units_time_zone(sessions):
    async with sessions() as session:
        await f.sync(session, forum_portfolio(tz="America/New_York"), SYNCED)
        data = f.decl(
            **{
                **forum_portfolio().model_dump(),
                "units": [
                    {**forum_portfolio().model_dump()["units"][0]},
                    {"name": "Finance", "contacts": ["cy"], "channel": "#finance", "timezone": "Asia/Tokyo", "forum": MONTHLY},
                ],
            }
        )
        await f.sync(session, data, SYNCED)
    messenger = RecordingMessenger()
    await run_tick(sessions, ANNOUNCED)
    await deliver_due(sessions, messenger, POLICY, ANNOUNCED)
    invites = {t.channel: Calendar.from_ical(v.attachments[0].content) for t, v, _ in messenger.sent if v.attachments}
    assert set(invites) == {"#sales", "#finance"}
    expected = {"#sales": ("America/New_York", datetime(2026, 4, 7, 19, 0, tzinfo=UTC)), "#finance": ("Asia/Tokyo", datetime(2026, 4, 7, 6, 0, tzinfo=UTC))}
    for channel, calendar in invites.items():
        [event] = calendar.walk("VEVENT")
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        zone_name, utc_start = expected[channel]
        assert str(event["dtstart"].params["TZID"]) == zone_name
        assert (start.hour, start.minute) == (15, 0) and str(start.tzinfo) == zone_name
        assert start.astimezone(UTC) == utc_start and end - start == timedelta(hours=1)
        assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == [zone_name]
        assert calendar["method"] == "PUBLISH" and "forum-session-" in str(event["uid"])


async def test_every_time_of_a_forum_says_its_zone_or_your_time(sessions, portfolio):
    # A lead in Tokyo, the workspace in Berlin, the forum in New York: 15:00 there.
    async with sessions() as session:
        (await f.person(session, "lead")).timezone = "Asia/Tokyo"
        await session.commit()
    status = (await command(sessions, "lead", "/mlstatus", SYNCED)).view
    assert status.sections[-1].text == "Upcoming forums:\n• Sales: Wed 8 Apr 2026, 04:00 (your time)"
    async with sessions() as session:
        digest = await build_digest(session, replace(POLICY, timezone="Europe/Berlin"), SYNCED)
    assert "Upcoming forums:\n• Sales: Tue 7 Apr 2026, 21:00 (Europe/Berlin)" in [s.text for s in digest.sections]
    listing = (await command(sessions, "lead", "/mlforum", SYNCED)).view
    assert {x.label: x.value for s in listing.sections for x in s.fields}["Next"] == "Wed 8 Apr 2026, 04:00 (your time)"


async def test_the_invite_counts_its_agenda_in_words(sessions, portfolio):
    await command(sessions, "ana", "/mlforum propose Seasonal demand", SYNCED)
    messenger, _ = await announce(sessions)
    [invite] = [v.attachments[0] for _, v, _ in messenger.sent if v.attachments]
    [event] = Calendar.from_ical(invite.content).walk("VEVENT")
    assert str(event["description"]).startswith("Agenda (1 item):\n- “Seasonal demand”")


async def test_the_agenda_ranks_reports_by_impact_then_age_and_lists_the_rest_of_the_data(sessions, portfolio):
    async with sessions() as session:
        churn, demand = await f.model(session, "churn"), await f.model(session, "demand")
        for model_id, impact, text, days_ago in (
            (churn.id, "minor", "Minor old", 30),
            (demand.id, "critical", "Critical new", 1),
            (churn.id, "major", "Major newer", 2),
            (churn.id, "major", "Major older", 10),
            (churn.id, "none", "Resolved one", 40),
        ):
            status = "resolved" if text.startswith("Resolved") else "open"
            session.add(
                FailureReport(
                    model_id=model_id,
                    receipt_code=f"R-{text[:4]}{days_ago}",
                    what_happened=text,
                    impact=impact,
                    status=status,
                    created_at=ANNOUNCED - timedelta(days=days_ago),
                    updated_at=ANNOUNCED,
                )
            )
        churn.health, churn.health_reason = "degraded", "1 of 2 stakeholders reports problems"
        session.add(churn)
        await session.commit()
    await command(sessions, "ana", "/mlforum propose The January price change", ANNOUNCED - timedelta(days=1))
    _, fs = await announce(sessions)
    async with sessions() as session:
        from storage import forums as forum_store

        items = await forum_store.list_agenda(session=session, session_id=fs.id)
    reports = [i.title.split(": ", 1)[1].split(" (")[0] for i in items if i.kind == "report"]
    assert reports == ["Critical new", "Major older", "Major newer", "Minor old"]
    # Both Sales models are degraded by their open major and critical reports (health is refreshed by the tick).
    assert [i.kind for i in items] == ["report"] * 4 + ["model"] * 2 + ["topic"]
    assert {i.title.split(" (")[0][2:] for i in items if i.kind == "model"} == {"Churn predictor", "Demand forecast"}
    assert items[6].title == "“The January price change”"


async def test_rsvps_update_the_announcement_in_place_and_a_second_press_changes_nothing(sessions, portfolio):
    messenger, fs = await announce(sessions)
    reply = await act(sessions, "ana", ActionId.FORUM_RSVP_GOING, fs.id, ANNOUNCED, request_id="press-1")
    assert reply.mode == ReplyMode.EPHEMERAL and reply.view.title == "You're going ✅"
    await act(sessions, "ana", ActionId.FORUM_RSVP_GOING, fs.id, ANNOUNCED, request_id="press-1")  # the same press again
    await act(sessions, "bo", ActionId.FORUM_RSVP_NOT_GOING, fs.id, ANNOUNCED, request_id="press-2")
    await deliver_due(sessions, messenger, POLICY, ANNOUNCED)
    assert len(messenger.updated) == 1  # two answers in a burst, one update that shows both
    ref, view = messenger.updated[-1]
    assert ref.message_id == announcement_id(messenger) and view.sections[0].fields[2].value == "1 going · 1 can't make it"
    assert view.attachments == ()  # the invite is not uploaded again
    await act(sessions, "bo", ActionId.FORUM_RSVP_GOING, fs.id, ANNOUNCED, request_id="press-3")  # a change of mind
    await deliver_due(sessions, messenger, POLICY, ANNOUNCED)
    assert messenger.updated[-1][1].sections[0].fields[2].value == "2 going · 0 can't make it"
    async with sessions() as session:
        assert len((await session.exec(select(ForumRSVP))).all()) == 2
    late = await act(sessions, "cy", ActionId.FORUM_RSVP_GOING, fs.id, APRIL + timedelta(minutes=1))
    assert late.view.text == "That forum has already started, so RSVPs are closed."


class SlowMessenger(RecordingMessenger):
    """A platform where the first update is slow, so an update rendered early would land after later ones."""

    slowed = False

    async def update(self, ref, view) -> None:
        first, self.slowed = not self.slowed, True
        await asyncio.sleep(1.5 if first else 0)
        await super().update(ref, view)


async def test_concurrent_rsvps_end_with_the_announcement_showing_every_answer(shared_engines):
    first, second = shared_engines
    one, two = session_factory(first), session_factory(second)
    async with one() as session:
        people = [{"key": f"p{i}", "name": f"P{i}", "email": f"p{i}@example.com"} for i in range(12)]
        data = forum_portfolio().model_dump()
        data["people"] += people
        data["units"][0]["contacts"] += [p["key"] for p in people]
        await f.sync(session, f.PortfolioDecl.model_validate(data), SYNCED)
    messenger, fs = await announce(one, SlowMessenger())

    async def press(i: int):
        sessions = one if i % 2 else two
        action = ActionId.FORUM_RSVP_GOING if i % 3 else ActionId.FORUM_RSVP_NOT_GOING
        await act(sessions, f"p{i}", action, fs.id, ANNOUNCED, request_id=f"press-{i}")
        # Each press sends what it queued, as the Slack wiring does, one message per claim so deliverers interleave.
        await deliver_due(sessions, messenger, POLICY, ANNOUNCED, limit=1)

    await asyncio.gather(*(press(i) for i in range(12)))
    await deliver_due(one, messenger, POLICY, ANNOUNCED)
    assert messenger.updated, "no update was sent"
    assert messenger.updated[-1][1].sections[0].fields[2].value == "8 going · 4 can't make it"
    async with one() as session:
        assert len((await session.exec(select(ForumRSVP))).all()) == 12


async def test_a_proposed_topic_refreshes_the_announced_agenda_at_once(sessions, portfolio):
    messenger, fs = await announce(sessions)
    reply = await command(sessions, "ana", "/mlforum propose Seasonal demand in Q2", ANNOUNCED + timedelta(hours=1))
    assert reply.view.title == "Topic proposed" and "Tue 7 Apr 2026" in reply.view.text
    await deliver_due(sessions, messenger, POLICY, ANNOUNCED + timedelta(hours=1))
    assert "Proposed topics:\n• “Seasonal demand in Q2”" in titles(messenger.updated[-1][1])
    again = await command(sessions, "ana", "/mlforum propose seasonal demand in q2", ANNOUNCED + timedelta(hours=1))
    assert again.mode == ReplyMode.FORM and again.view.errors["topic"] == "That topic is already on the agenda."
    # An hourly refresh with nothing new sends no update.
    sent = len(messenger.updated)
    await run_tick(sessions, ANNOUNCED + timedelta(hours=3))
    await deliver_due(sessions, messenger, POLICY, ANNOUNCED + timedelta(hours=3))
    assert len(messenger.updated) == sent


async def test_topic_proposals_are_checked_and_kept_to_your_own_units(sessions, portfolio):
    assert (await command(sessions, "cy", "/mlforum propose Something")).view.text.startswith("None of your units has a review forum yet")
    empty = await submit(sessions, "ana", FormId.FORUM_TOPIC, "", {"unit": "", "topic": " "})
    assert set(empty.view.errors) == {"unit", "topic"}
    long = await submit(sessions, "ana", FormId.FORUM_TOPIC, "", {"unit": "1", "topic": "x" * 301})
    assert long.view.errors["topic"].startswith("Please keep this under 300 characters")
    async with sessions() as session:
        assert (await session.exec(select(ForumTopic))).all() == []


async def test_a_reminder_goes_into_the_announcements_thread_the_day_before(sessions, portfolio):
    messenger, _ = await announce(sessions)
    day_before = APRIL - timedelta(days=1)
    await run_tick(sessions, day_before - timedelta(minutes=1))
    await deliver_due(sessions, messenger, POLICY, day_before - timedelta(minutes=1))
    assert not any(v.title.startswith("⏰") for _, v, _ in messenger.sent)
    for at in (day_before, day_before + timedelta(hours=1)):
        await run_tick(sessions, at)
        await deliver_due(sessions, messenger, POLICY, at)
    [(target, view, thread)] = [s for s in messenger.sent if s[1].title.startswith("⏰")]
    assert view.title == "⏰ Sales × ML review forum is tomorrow" and thread.message_id == announcement_id(messenger) and target.channel == "#sales"
    assert [b.label for b in view.buttons] == ["Going", "Can't make it", "Propose a topic"]


async def test_a_reminder_that_catches_up_on_the_forums_own_day_says_today(sessions, portfolio):
    messenger, _ = await announce(sessions)
    morning = APRIL - timedelta(hours=5)  # the bot was down when the reminder was due, the day before
    await run_tick(sessions, morning)
    await deliver_due(sessions, messenger, POLICY, morning)
    [(_, view, _)] = [s for s in messenger.sent if s[1].title.startswith("⏰")]
    assert view.title == "⏰ Sales × ML review forum is today"
    assert view.text.startswith("Today: Sales × ML review forum, Tue 7 Apr 2026, 15:00 (America/New_York).")


async def test_announced_at_short_notice_one_message_says_when_the_forum_is(sessions):
    first_start = APRIL - timedelta(hours=20)  # Monday evening: announcement and reminder are both due
    async with sessions() as session:
        await f.sync(session, forum_portfolio(), first_start)
    messenger = RecordingMessenger()
    for at in (first_start, first_start + timedelta(hours=1), APRIL - timedelta(minutes=5)):
        await run_tick(sessions, at)
        await deliver_due(sessions, messenger, POLICY, at)
    [view] = [v for t, v, _ in messenger.sent if t.channel == "#sales"]
    assert view.title.startswith("📅")
    assert view.text.startswith("⏰ It is tomorrow: Tue 7 Apr 2026, 15:00 (America/New_York).\n")
    assert await outbox(sessions, "forum.reminder") == []


async def test_a_forums_reminder_goes_out_on_the_workday_before_it(sessions):
    async with sessions() as session:
        await f.sync(session, forum_portfolio(forum={**MONTHLY, "on": "first mon"}), SYNCED)
    monday = datetime(2026, 4, 6, 19, 0, tzinfo=UTC)  # 15:00 in New York
    messenger, _ = await announce(sessions, at=monday - timedelta(days=7))
    friday = monday - timedelta(days=3)
    for at in (friday - timedelta(minutes=1), friday):
        await run_tick(sessions, at)
        await deliver_due(sessions, messenger, POLICY, at)
        if at < friday:
            assert not any(v.title.startswith("⏰") for _, v, _ in messenger.sent)
    [(_, view, _)] = [s for s in messenger.sent if s[1].title.startswith("⏰")]
    assert view.title == "⏰ Sales × ML review forum is on Mon 6 Apr 2026"


async def test_an_announce_lead_time_longer_than_the_cadence_is_refused_on_the_form(sessions, portfolio):
    weekly = {"unit": "2", "every": "1 week", "on": "tue", "at": "10:00", "duration": "60m", "announce": "8d"}
    reply = await submit(sessions, "lead", FormId.FORUM_SCHEDULE, "", weekly, SYNCED)
    assert reply.view.errors == {
        "announce": "announcing 8 days ahead is longer than the time between two forums (every week on Tuesday at 10:00, as little as 7 days apart): use at most 7d"
    }
    reply = await submit(sessions, "lead", FormId.FORUM_SCHEDULE, "", {**weekly, "announce": "7d"}, SYNCED)
    assert reply.view.title == "Forum scheduled"


async def test_only_leads_schedule_cancel_or_write_up_forums(sessions, portfolio):
    for text in ("/mlforum schedule Sales", "/mlforum cancel Sales", "/mlforum notes Sales"):
        reply = await command(sessions, "ana", text)
        assert reply.view.text.startswith("Only ML leads can"), text
    [fs] = await forum_sessions(sessions)
    assert (await act(sessions, "ana", ActionId.FORUM_CANCEL, fs.id)).view.text.startswith("Only ML leads can")
    assert (await submit(sessions, "ana", FormId.FORUM_SCHEDULE, "", {"unit": "1"})).view.text.startswith("Only ML leads can")
    assert [s.status for s in await forum_sessions(sessions)] == ["scheduled"]


async def test_a_lead_schedules_a_forum_with_errors_shown_inline_and_it_sticks_through_a_sync(sessions, portfolio):
    form = await command(sessions, "lead", "/mlforum schedule finance", SYNCED)
    assert form.mode == ReplyMode.FORM and form.view.inputs[0].initial == "2"
    bad = {"unit": "2", "every": "fortnightly", "on": "first tue", "at": "25:00", "duration": "9h", "announce": "12h"}
    reply = await submit(sessions, "lead", FormId.FORUM_SCHEDULE, "", bad, SYNCED)
    assert set(reply.view.errors) == {"every", "at", "duration", "announce"} and reply.view.values["every"] == "fortnightly"
    good = {"unit": "2", "every": "2 weeks", "on": "thu", "at": "09:30", "duration": "45m", "announce": "3d"}
    reply = await submit(sessions, "lead", FormId.FORUM_SCHEDULE, "", good, SYNCED)
    assert reply.view.title == "Forum scheduled" and "every 2 weeks on Thursday at 09:30" in reply.view.text
    async with sessions() as session:
        finance = (await session.exec(select(ReviewForum).where(ReviewForum.unit_id == 2))).one()
        await f.sync(session, forum_portfolio(), SYNCED + timedelta(hours=1))  # app.yaml declares no Finance forum
        await session.refresh(finance)
    assert (finance.active, finance.from_config, finance.duration_minutes, finance.announce_days_ahead) == (True, False, 45, 3)


async def test_a_changed_declaration_moves_the_unannounced_session_only(sessions, portfolio):
    async with sessions() as session:
        await f.sync(session, forum_portfolio(forum={**MONTHLY, "at": "11:00"}), SYNCED + timedelta(hours=1))
    assert [s.starts_at for s in await forum_sessions(sessions)] == [APRIL - timedelta(hours=4)]


async def test_cancelling_an_announced_forum_tells_the_channel_and_the_series_goes_on(sessions, portfolio):
    messenger, fs = await announce(sessions)
    prompt = await command(sessions, "lead", "/mlforum cancel sales", ANNOUNCED)
    assert [b.label for b in prompt.view.buttons] == ["Cancel Tue 7 Apr 2026", "Stop the series"]
    assert prompt.view.buttons[0].action == ActionId.FORUM_CANCEL_CONFIRM  # the command's answer is the confirmation
    reply = await act(sessions, "lead", ActionId.FORUM_CANCEL_CONFIRM, fs.id, ANNOUNCED)
    assert reply.mode == ReplyMode.REPLACE and reply.view.title == "Forum cancelled"
    await deliver_due(sessions, messenger, POLICY, ANNOUNCED)
    assert messenger.updated[-1][1].title.startswith("❌ Cancelled:") and messenger.updated[-1][1].buttons == ()
    [(_, notice, thread)] = [s for s in messenger.sent if s[1].title.startswith("❌")]
    cancel = Calendar.from_ical(notice.attachments[0].content)
    assert thread.message_id == announcement_id(messenger) and cancel["method"] == "CANCEL" and cancel.walk("VEVENT")[0]["status"] == "CANCELLED"
    assert "The series goes on: the next one is on Tue 5 May 2026, 15:00 (America/New_York)." in reply.view.text
    assert [s.status for s in await forum_sessions(sessions)] == ["cancelled", "scheduled"]  # May's is laid out at once
    listed = await command(sessions, "lead", "/mlforum", ANNOUNCED)
    assert listed.view.sections[0].fields[0].value == "Tue 5 May 2026, 19:00 (your time)"
    await run_tick(sessions, ANNOUNCED + timedelta(minutes=1))
    await run_tick(sessions, APRIL + timedelta(hours=2))
    assert [s.status for s in await forum_sessions(sessions)] == ["cancelled", "scheduled"]
    assert (await act(sessions, "ana", ActionId.FORUM_RSVP_GOING, fs.id, ANNOUNCED)).view.text.startswith("That forum was cancelled")


async def test_cancel_this_one_in_the_forum_list_asks_first(sessions, portfolio):
    _, fs = await announce(sessions)
    listing = await command(sessions, "lead", "/mlforum", ANNOUNCED)
    cancel = next(b for b in listing.view.all_buttons() if b.label == "Cancel this one")
    ask = await act(sessions, "lead", cancel.action, cancel.value, ANNOUNCED)
    assert ask.view.title == "Cancel the Sales × ML review forum?" and "cannot be undone" in ask.view.text
    assert [(b.action, b.label) for b in ask.view.buttons] == [(ActionId.FORUM_CANCEL_CONFIRM, "Yes, cancel it")]
    assert [s.status for s in await forum_sessions(sessions)] == ["scheduled"]  # nothing happened yet
    done = await act(sessions, "lead", ask.view.buttons[0].action, ask.view.buttons[0].value, ANNOUNCED)
    assert done.view.title == "Forum cancelled"
    assert (await forum_sessions(sessions))[0].status == "cancelled"


async def test_after_a_forum_the_leads_record_notes_and_owners_are_followed_up_until_done(sessions, portfolio):
    messenger, fs = await announce(sessions)
    ended = APRIL + timedelta(hours=1)
    await run_tick(sessions, ended)
    await deliver_due(sessions, messenger, POLICY, ended)
    [(target, prompt, _)] = [s for s in messenger.sent if s[1].title.startswith("How did")]
    assert target.person.key == "lead" and prompt.buttons[0].action == ActionId.FORUM_NOTES

    form = (await act(sessions, "lead", ActionId.FORUM_NOTES, fs.id, ended)).view
    bad = {
        "notes": "",
        "item_1": "Retrain on Q1 data",
        "owner_1": "nobody",
        "item_2": "",
        "owner_2": "bo",
        "item_3": "Check CRM feed",
        "owner_3": "owner",
        "due_3": "2026-04-01",
    }
    reply = await submit(sessions, "lead", FormId.FORUM_NOTES, form.state, bad, ended)
    assert set(reply.view.errors) == {"notes", "owner_1", "item_2", "due_3"}
    assert reply.view.errors["due_3"] == "The due date is before the forum itself."
    good = {
        "notes": "Drift in the CRM feed since March.",
        "item_1": "Retrain on Q1 data",
        "owner_1": "owner",
        "due_1": "2026-04-14",
        "item_2": "Share the CRM change log",
        "owner_2": "ana",
    }
    for request in ("view-1", "view-1"):  # a double submit records once
        reply = await submit(sessions, "lead", FormId.FORUM_NOTES, form.state, good, ended, request_id=request)
    assert reply.view.title == "Forum notes saved"
    await deliver_due(sessions, messenger, POLICY, ended)
    assigned = [(t.person.key, v.title) for t, v, _ in messenger.sent if v.title.startswith("Action item:")]
    assert assigned == [("owner", "Action item: Retrain on Q1 data"), ("ana", "Action item: Share the CRM change log")]
    [(target, notes, thread)] = [s for s in messenger.sent if s[1].title.startswith("📝")]
    assert target.channel == "#sales" and thread.message_id == announcement_id(messenger) and "Drift in the CRM feed" in titles(notes)
    assert [m.name for m in notes.all_mentions()] == ["Owner", "Ana"]

    # Reminded on the due date at 10:00 in the owner's zone, then weekly, until marked done.
    due = datetime(2026, 4, 14, 10, 0, tzinfo=UTC)
    for at in (due - timedelta(minutes=1), due, due + timedelta(days=1), due + timedelta(days=7)):
        await run_tick(sessions, at)
        await deliver_due(sessions, messenger, POLICY, at)
    followups = [v for t, v, _ in messenger.sent if t.person and t.person.key == "owner" and "A reminder: is this done?" in v.text]
    assert len(followups) == 2
    async with sessions() as session:
        item = (await session.exec(select(ActionItem).where(ActionItem.text == "Retrain on Q1 data"))).one()
    refused = await act(sessions, "bo", ActionId.ACTION_ITEM_DONE, item.id, due)
    assert refused.view.text.startswith("Only Owner (its owner) or an ML lead")
    done = await act(sessions, "owner", ActionId.ACTION_ITEM_DONE, item.id, due + timedelta(days=8))
    assert done.mode == ReplyMode.REPLACE and done.view.title == "✅ Done: Retrain on Q1 data" and done.view.buttons == ()
    await run_tick(sessions, due + timedelta(days=14))
    assert len(await outbox(sessions, "action_item.followup")) == 2
    async with sessions() as session:
        assert len((await session.exec(select(ActionItem))).all()) == 2

    # The item still open rolls into May's agenda.
    may = datetime(2026, 5, 5, 19, 0, tzinfo=UTC)
    await run_tick(sessions, may - timedelta(days=7))
    async with sessions() as session:
        from storage import forums as forum_store

        upcoming = [s for s in await forum_sessions(sessions) if s.starts_at == may][0]
        items = await forum_store.list_agenda(session=session, session_id=upcoming.id)
    assert [i.title for i in items if i.kind == "action_item"] == ["Ana: Share the CRM change log"]


async def test_action_item_follow_ups_go_out_at_ten_in_the_morning_on_workdays_whenever_the_notes_were_entered(sessions, portfolio):
    messenger, fs = await announce(sessions)
    await run_tick(sessions, APRIL + timedelta(hours=1))
    entered = datetime(2026, 4, 8, 16, 30, tzinfo=UTC)  # the day after, in the afternoon; Owner's item is due that very day
    values = {
        "notes": "Drift.",
        "item_1": "Retrain",
        "owner_1": "owner",
        "due_1": "2026-04-08",
        "item_2": "Share the log",
        "owner_2": "ana",
        "due_2": "2026-04-11",
    }
    assert (await submit(sessions, "lead", FormId.FORUM_NOTES, fs.id, values, entered)).view.title == "Forum notes saved"

    async def next_followups():
        async with sessions() as session:
            return {i.text: i.next_followup_at for i in (await session.exec(select(ActionItem))).all()}

    # Owner was told at once, so the next word is a week on at 10:00; Ana's item is due on a Saturday, so Monday at 10:00.
    assert await next_followups() == {"Retrain": datetime(2026, 4, 15, 10, 0, tzinfo=UTC), "Share the log": datetime(2026, 4, 13, 10, 0, tzinfo=UTC)}
    assert (await run_tick(sessions, entered + timedelta(minutes=1))).followups == 0
    assert (await run_tick(sessions, datetime(2026, 4, 13, 10, 0, tzinfo=UTC))).followups == 1
    assert (await run_tick(sessions, datetime(2026, 4, 15, 10, 7, tzinfo=UTC))).followups == 1  # a tick a few minutes late
    assert await next_followups() == {"Retrain": datetime(2026, 4, 22, 10, 0, tzinfo=UTC), "Share the log": datetime(2026, 4, 20, 10, 0, tzinfo=UTC)}
    # An owner who is away is followed up the morning they are back, not before.
    async with sessions() as session:
        ana = await f.person(session, "ana")
        ana.away_until = date(2026, 4, 21)
        session.add(ana)
        await session.commit()
    assert (await run_tick(sessions, datetime(2026, 4, 20, 10, 0, tzinfo=UTC))).followups == 0
    assert (await next_followups())["Share the log"] == datetime(2026, 4, 22, 10, 0, tzinfo=UTC)


async def test_the_forum_list_shows_each_visible_forum_and_hides_the_others(sessions, portfolio):
    lead = await command(sessions, "lead", "/mlforum", SYNCED)
    assert lead.view.title == "Review forums (1)"
    [section] = lead.view.sections
    assert section.text.startswith("Sales × ML review forum: every month on the first Tuesday at 15:00 (America/New_York), 60 minutes")
    assert [b.label for b in section.buttons] == ["Propose a topic", "Cancel this one"]
    assert (await command(sessions, "cy", "/mlforum list", SYNCED)).view.text.startswith("No review forums are scheduled for your units yet.")
    typo = await command(sessions, "lead", "/mlforum cancel Salse", SYNCED)
    assert typo.view.title == "Cancel the Sales × ML review forum?"  # a clear typo is taken
    unknown = await command(sessions, "lead", "/mlforum cancel Sales team", SYNCED)
    assert "Did you mean: Sales?" in unknown.view.text
    assert (await command(sessions, "lead", "/mlforum frobnicate")).view.title == "I don't know that forum command"


async def test_a_stopped_series_stays_stopped_through_a_sync(sessions, portfolio):
    async with sessions() as session:
        forum = (await session.exec(select(ReviewForum))).one()
    reply = await act(sessions, "lead", ActionId.FORUM_STOP, forum.id, SYNCED)
    assert reply.view.title == "Forum series stopped"
    async with sessions() as session:
        await f.sync(session, forum_portfolio(), SYNCED + timedelta(hours=1))
    await run_tick(sessions, SYNCED + timedelta(days=60))
    assert [s.status for s in await forum_sessions(sessions)] == ["cancelled"]


def test_notice_and_length_must_be_sensible_in_app_yaml():
    with pytest.raises(ValueError, match="whole days"):
        forum_portfolio(forum={**MONTHLY, "announce": "36h"})
    with pytest.raises(ValueError, match="from 5m to 8h"):
        forum_portfolio(forum={**MONTHLY, "duration": "2m"})
    assert date(2026, 4, 7) == APRIL.date()


async def test_a_forum_that_ended_unannounced_is_missed_and_nobody_is_asked_for_notes(sessions, portfolio):
    await run_tick(sessions, APRIL + timedelta(days=1))  # the bot was down through April's notice period and forum
    statuses = [(s.starts_at, s.status) for s in await forum_sessions(sessions)]
    assert statuses[0] == (APRIL, "missed") and statuses[1][1] == "scheduled"
    assert await outbox(sessions, "forum.notes_prompt") == [] and await outbox(sessions, "forum.announce") == []
