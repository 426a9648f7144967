"""Live messages: every copy of a message about a subject is rewritten in place when the subject changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.delivery import MessageRef, deliver_due
from handlers import router
from handlers.actions import ActionId, FormId
from storage import delivery as delivery_store
from storage.models import CheckIn, Delivery, MessageKind, OutboundMessage, Subject
from tests import factories as f
from tests.bot.fakes import RecordingMessenger
from tests.conftest import POLICY, TUESDAY
from tests.handlers.test_forums import ANNOUNCED, APRIL, SYNCED, forum_portfolio
from tests.handlers.test_reports import GOOD, text_of
from tests.handlers.test_stories import GOOD as STORY
from tests.helpers import act, outbox, run_tick, submit


def buttons(view) -> set[str]:
    return {b.action for b in view.all_buttons()}


def ref_of(message: OutboundMessage) -> MessageRef:
    return MessageRef(message.platform, message.conversation_id, message.message_id)


async def updates_of(messenger: RecordingMessenger, message: OutboundMessage) -> list:
    return [view for ref, view in messenger.updated if ref == ref_of(message)]


async def churn_checkin(sessions, who: str = "ana") -> CheckIn:
    async with sessions() as session:
        person, churn = await f.person(session, who), await f.model(session, "churn")
        return (await session.exec(select(CheckIn).where(CheckIn.person_id == person.id, CheckIn.model_id == churn.id))).one()


async def copies(sessions, checkin_id: int) -> list[OutboundMessage]:
    return [m for m in await outbox(sessions) if m.kind.subject == "checkin" and m.kind.live and m.subject_id == checkin_id]


@pytest.fixture
async def asked(sessions):
    """Ana's check-in about churn, asked on Tuesday and reminded on Thursday, both delivered."""
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
    messenger = RecordingMessenger()
    for at in (TUESDAY, TUESDAY + POLICY.reminder_after):
        await run_tick(sessions, at)
        await deliver_due(sessions, messenger, POLICY, at)
    checkin = await churn_checkin(sessions)
    ask, reminder = await copies(sessions, checkin.id)
    assert (ask.kind, reminder.kind, reminder.status) == (MessageKind.CHECKIN_ASK, MessageKind.CHECKIN_REMINDER, Delivery.SENT)
    return messenger, checkin, ask, reminder


async def press(sessions, who: str, action: ActionId, value, now, origin: MessageRef | None = None):
    """Press a button as a person, on the message at `origin` (as the platforms tell)."""
    async with sessions() as session:
        ctx = replace(f.ctx(await f.person(session, who), now), origin=origin)
        reply = await router.handle_action(session, ctx, action, str(value))
        await session.commit()
    return reply


async def test_a_checkin_answered_from_its_reminder_shows_the_answer_on_the_first_question(sessions, asked):
    messenger, checkin, ask, reminder = asked
    later = TUESDAY + POLICY.reminder_after + timedelta(hours=1)
    reply = await press(sessions, "ana", ActionId.CHECKIN_WORKS, checkin.id, later, origin=ref_of(reminder))
    assert "Recorded: Yes, works well" in reply.view.text  # the reminder itself, rewritten by the reply
    report = await deliver_due(sessions, messenger, POLICY, later)
    # The first question is rewritten to match; the reminder the reply rewrote is not rewritten again.
    assert report.updated == 1
    [view] = await updates_of(messenger, ask)
    assert await updates_of(messenger, reminder) == []
    assert "Recorded: Yes, works well" in view.text
    assert ActionId.CHECKIN_CHANGE in buttons(view) and ActionId.CHECKIN_WORKS not in buttons(view) and ActionId.CHECKIN_SNOOZE not in buttons(view)
    assert {m.status for m in await copies(sessions, checkin.id)} == {Delivery.SENT}
    # A stale button on the first copy (a client that missed the update) does not change the answer.
    stale = await act(sessions, "ana", ActionId.CHECKIN_STOPPED, checkin.id, later)
    assert "was not recorded" in stale.view.text
    assert (await churn_checkin(sessions)).answer == "works"


async def test_an_expired_checkin_says_so_on_every_copy(sessions, asked):
    messenger, checkin, ask, reminder = asked
    expired_at = TUESDAY + timedelta(days=7)
    await run_tick(sessions, expired_at)
    async with sessions() as session:
        assert (await session.get(CheckIn, checkin.id)).status == "expired"
    await deliver_due(sessions, messenger, POLICY, expired_at)
    for copy in (ask, reminder):
        [view] = await updates_of(messenger, copy)
        assert "expired without an answer" in view.text and "answers can change until" not in view.footer
        assert "closed" in view.footer and ActionId.CHECKIN_SNOOZE not in buttons(view)
        assert ActionId.CHECKIN_WORKS in buttons(view)  # a late answer is still welcome


async def test_a_burst_of_changes_makes_one_update_per_copy_and_a_late_one_makes_one_more(sessions, asked):
    messenger, checkin, ask, reminder = asked
    later = TUESDAY + POLICY.reminder_after + timedelta(hours=1)
    await act(sessions, "ana", ActionId.CHECKIN_PROBLEMS, checkin.id, later)
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, f"{checkin.id}:change", later)
    await act(sessions, "ana", ActionId.CHECKIN_STOPPED, f"{checkin.id}:change", later)

    class ChangingMidUpdate(RecordingMessenger):
        """A platform slow enough that the answer changes again while the first update is on its way."""

        async def update(self, ref, view) -> None:
            if not self.updated:
                await act(sessions, "ana", ActionId.CHECKIN_WORKS, f"{checkin.id}:change", later)
            await super().update(ref, view)

    platform = ChangingMidUpdate(sent=messenger.sent)
    report = await deliver_due(sessions, platform, POLICY, later, limit=1)
    # Three changes, two copies: one update each, and one more of the copy whose update the fourth change overtook.
    assert report.updated == 3
    assert [ref_of(ask)] * 2 + [ref_of(reminder)] == [ref for ref, _ in platform.updated]
    for copy in (ask, reminder):
        assert "Recorded: Yes, works well" in (await updates_of(platform, copy))[-1].text
    assert {m.status for m in await copies(sessions, checkin.id)} == {Delivery.SENT}


async def test_a_resolved_report_shows_its_outcome_on_the_owners_dm_and_the_units_alert(sessions):
    spec = f.small_portfolio().model_dump()
    spec["units"][0]["channel"] = "#sales-ml"
    async with sessions() as session:
        await f.sync(session, f.decl(**spec))
    messenger = RecordingMessenger()
    await submit(sessions, "ana", FormId.REPORT, "{}", {**GOOD, "impact": "critical"})
    await deliver_due(sessions, messenger, POLICY, TUESDAY)
    [owner_dm] = await outbox(sessions, MessageKind.REPORT_NEW)
    [alert] = await outbox(sessions, MessageKind.REPORT_CRITICAL)
    assert ActionId.REPORT_MOVE in buttons(messenger.sent[0][1])

    report_id = owner_dm.subject_id
    triage = {"status": "triaged", "assignee": "owner"}
    await submit(sessions, "owner", FormId.REPORT_UPDATE, report_id, triage, TUESDAY)
    done = {**triage, "status": "resolved", "root_cause": "data_drift", "resolution": "Retrained on March data."}
    reply = await submit(sessions, "owner", FormId.REPORT_UPDATE, report_id, done, TUESDAY)
    assert reply.view.title == "Report updated" and ": Resolved." in reply.view.text
    await deliver_due(sessions, messenger, POLICY, TUESDAY)

    # Two changes before delivery: one update of each copy, showing where the report ended.
    [dm] = await updates_of(messenger, owner_dm)
    assert "Status: Resolved" in text_of(dm) and "Resolution: Retrained on March data." in text_of(dm)
    assert [b.label for b in dm.all_buttons()] == ["Reopen"]
    [post] = await updates_of(messenger, alert)
    assert "Status: Resolved" in text_of(post) and "Outcome: Retrained on March data." in text_of(post)
    assert post.title.startswith("✅ Resolved") and ActionId.REPORT_MOVE not in buttons(post)


async def test_a_forum_that_has_passed_keeps_no_rsvp_buttons(sessions):
    async with sessions() as session:
        await f.sync(session, forum_portfolio(), SYNCED)
    messenger = RecordingMessenger()
    reminded = APRIL - timedelta(hours=20)
    for at in (ANNOUNCED, reminded):
        await run_tick(sessions, at)
        await deliver_due(sessions, messenger, POLICY, at)
    [announcement] = await outbox(sessions, MessageKind.FORUM_ANNOUNCE)
    [reminder] = await outbox(sessions, MessageKind.FORUM_REMINDER)
    assert reminder.status == Delivery.SENT and ActionId.FORUM_RSVP_GOING in buttons(messenger.sent[-1][1])

    after = APRIL + timedelta(hours=2)
    await run_tick(sessions, after)
    await deliver_due(sessions, messenger, POLICY, after)
    [shown] = await updates_of(messenger, announcement)
    [over] = await updates_of(messenger, reminder)
    for view in (shown, over):
        assert not {ActionId.FORUM_RSVP_GOING, ActionId.FORUM_RSVP_NOT_GOING} & buttons(view)
    assert "This forum has taken place." in shown.footer
    assert "has taken place" in over.title and "RSVPs are closed" in over.text


async def test_a_message_on_a_platform_not_running_here_is_left_as_it_is(sessions, asked):
    messenger, checkin, ask, reminder = asked
    later = TUESDAY + POLICY.reminder_after + timedelta(hours=1)
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, checkin.id, later)
    elsewhere = RecordingMessenger(platform="other")
    report = await deliver_due(sessions, elsewhere, POLICY, later)
    assert report.updated == 0 and elsewhere.updated == []
    assert {m.status for m in await copies(sessions, checkin.id)} == {Delivery.SENT}


async def test_a_story_approved_by_one_lead_shows_the_decision_on_the_other_leads_copy(sessions):
    spec = f.small_portfolio().model_dump()
    spec["people"].append({"key": "lead2", "name": "Lee Two", "email": "lead2@example.com"})
    spec["leads"] = ["lead", "lead2"]
    async with sessions() as session:
        await f.sync(session, f.decl(**spec))
    messenger = RecordingMessenger()
    await submit(sessions, "owner", FormId.STORY, "", STORY, TUESDAY)  # the owner's own story goes to both leads
    await deliver_due(sessions, messenger, POLICY, TUESDAY)
    mine, theirs = await outbox(sessions, MessageKind.STORY_REVIEW)
    approved = await press(sessions, "lead", ActionId.STORY_APPROVE, mine.subject_id, TUESDAY, origin=ref_of(mine))
    assert "Approved by Lead" in approved.view.text
    await deliver_due(sessions, messenger, POLICY, TUESDAY)
    assert await updates_of(messenger, mine) == []  # the lead's own copy was rewritten by the press
    [view] = await updates_of(messenger, theirs)
    assert view.footer == "✅ Approved and posted." and view.all_buttons() == ()


async def test_an_action_item_marked_done_loses_its_button_where_it_was_sent(sessions):
    async with sessions() as session:
        await f.sync(session, forum_portfolio(), SYNCED)
    messenger = RecordingMessenger()
    ended = APRIL + timedelta(hours=2)
    for at in (ANNOUNCED, ended):
        await run_tick(sessions, at)
        await deliver_due(sessions, messenger, POLICY, at)
    [prompt] = await outbox(sessions, MessageKind.FORUM_NOTES_PROMPT)
    notes = {"notes": "Drift in the CRM feed.", "item_1": "Retrain on Q1 data", "owner_1": "ana", "due_1": "2026-04-14"}
    await submit(sessions, "lead", FormId.FORUM_NOTES, prompt.subject_id, notes, ended)
    await deliver_due(sessions, messenger, POLICY, ended)
    [assigned] = await outbox(sessions, MessageKind.ACTION_ITEM_ASSIGNED)
    assert ActionId.ACTION_ITEM_DONE in buttons(next(v for t, v, _ in messenger.sent if v.title == "Action item: Retrain on Q1 data"))
    await act(sessions, "lead", ActionId.ACTION_ITEM_DONE, assigned.subject_id, ended)  # a lead marks it done, elsewhere
    await deliver_due(sessions, messenger, POLICY, ended)
    [view] = await updates_of(messenger, assigned)
    assert view.title == "✅ Done: Retrain on Q1 data" and view.all_buttons() == ()
    # The leads' prompt to write the notes up says it is done, too.
    [done] = await updates_of(messenger, prompt)
    assert "Notes recorded by Lead" in done.text and done.all_buttons() == ()


@pytest.fixture
async def deprecation(sessions):
    """Churn predictor looks unused, and the lead was asked whether to retire it: the messenger and that message."""
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
        churn, lead = await f.model(session, "churn"), await f.person(session, "lead")
        churn.deprecation_candidate_since, churn.deprecation_reason = TUESDAY, "its stakeholders stopped using it"
        session.add(churn)
        await delivery_store.create_message(
            session=session, key="deprecation", kind=MessageKind.MODEL_DEPRECATION, subject_id=churn.id, person_id=lead.id, not_before=TUESDAY
        )
        await session.commit()
    messenger = RecordingMessenger()
    await deliver_due(sessions, messenger, POLICY, TUESDAY)
    [message] = await outbox(sessions, MessageKind.MODEL_DEPRECATION)
    return messenger, message, churn


async def test_a_retired_model_says_so_on_the_leads_deprecation_message(sessions, deprecation):
    messenger, message, churn = deprecation
    await act(sessions, "lead", ActionId.MODEL_RETIRE_CONFIRM, churn.id, TUESDAY)
    await deliver_due(sessions, messenger, POLICY, TUESDAY)
    [view] = await updates_of(messenger, message)
    assert view.text.startswith("Churn predictor is retired.") and view.all_buttons() == ()


async def test_an_answer_offers_change_answer_only_until_its_period_ends(sessions, asked):
    messenger, checkin, ask, reminder = asked
    later = TUESDAY + POLICY.reminder_after + timedelta(hours=1)
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, checkin.id, later)
    await deliver_due(sessions, messenger, POLICY, later)
    assert ActionId.CHECKIN_CHANGE in buttons((await updates_of(messenger, ask))[-1])
    ended = checkin.period_ends_at + timedelta(minutes=1)
    await run_tick(sessions, ended)
    await deliver_due(sessions, messenger, POLICY, ended)
    for copy in (ask, reminder):
        view = (await updates_of(messenger, copy))[-1]
        assert "Recorded: Yes, works well" in view.text and ActionId.CHECKIN_CHANGE not in buttons(view)
        assert "answers can change until" not in view.footer and "closed" in view.footer
    async with sessions() as session:
        assert (await session.get(CheckIn, checkin.id)).next_action_at is None  # done with: later ticks leave it alone


async def test_a_press_on_a_copy_that_is_behind_still_brings_it_up_to_date(sessions, asked):
    messenger, checkin, ask, reminder = asked
    later = TUESDAY + POLICY.reminder_after + timedelta(hours=1)
    await press(sessions, "ana", ActionId.CHECKIN_SNOOZE, checkin.id, later, origin=ref_of(reminder))  # the first question goes stale
    # Before its update goes out, the first question itself is pressed: its reply is current, but an update
    # rendered before it may still land, so the copy stays due for one that shows the answer.
    await press(sessions, "ana", ActionId.CHECKIN_WORKS, checkin.id, later, origin=ref_of(ask))
    [first] = [m for m in await copies(sessions, checkin.id) if m.id == ask.id]
    assert (first.status, first.revision) == (Delivery.STALE, 2)
    await deliver_due(sessions, messenger, POLICY, later)
    assert "Recorded: Yes, works well" in (await updates_of(messenger, ask))[-1].text


async def test_every_update_of_a_long_lived_message_gets_the_full_retries(sessions, asked):
    messenger, checkin, ask, reminder = asked
    later = TUESDAY + POLICY.reminder_after + timedelta(hours=1)
    for _ in range(10):  # a message rewritten ten times over the weeks
        async with sessions() as session:
            await delivery_store.update_live_messages(session=session, subject=Subject.CHECKIN, subject_id=checkin.id, at=later)
            await session.commit()
        await deliver_due(sessions, messenger, POLICY, later)

    class Resetting(RecordingMessenger):
        async def update(self, ref, view) -> None:
            raise ConnectionResetError("the platform dropped the connection")

    async with sessions() as session:
        await delivery_store.update_live_messages(session=session, subject=Subject.CHECKIN, subject_id=checkin.id, at=later)
        await session.commit()
    report = await deliver_due(sessions, Resetting(), POLICY, later)
    assert report.failed == 2
    # Not given up on: each copy is still due for its update, after a short backoff.
    assert {(m.status, m.attempts) for m in await copies(sessions, checkin.id)} == {(Delivery.STALE, 1)}


async def test_a_model_the_sync_brings_back_clears_its_deprecation_message(sessions, deprecation):
    messenger, message, _ = deprecation
    fewer = f.small_portfolio().model_dump()
    fewer["models"] = [m for m in fewer["models"] if m["key"] != "churn"]
    async with sessions() as session:
        await f.sync(session, f.decl(**fewer), now=TUESDAY)  # retired by the sync...
    await deliver_due(sessions, messenger, POLICY, TUESDAY)
    assert (await updates_of(messenger, message))[-1].text.startswith("Churn predictor is retired.")
    async with sessions() as session:
        await f.sync(session, f.small_portfolio(), now=TUESDAY)  # ...and back
    await deliver_due(sessions, messenger, POLICY, TUESDAY)
    view = (await updates_of(messenger, message))[-1]
    assert view.text == "Churn predictor is active and no longer looks unused, so there is nothing to decide." and view.all_buttons() == ()


async def test_the_owners_alert_shows_the_answer_as_it_is_now(sessions, asked):
    messenger, checkin, ask, reminder = asked
    later = TUESDAY + POLICY.reminder_after + timedelta(hours=1)
    await act(sessions, "ana", ActionId.CHECKIN_PROBLEMS, checkin.id, later)
    await deliver_due(sessions, messenger, POLICY, later)
    [alert] = await outbox(sessions, MessageKind.CHECKIN_OWNER_ALERT)
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, f"{checkin.id}:change", later)  # it was a false alarm
    await deliver_due(sessions, messenger, POLICY, later)
    [view] = await updates_of(messenger, alert)
    assert view.title == "Churn predictor: Yes, works well" and "answered this period's check-in: Yes, works well" in view.text


async def test_an_open_checkin_of_someone_away_is_skipped_not_expired(sessions, asked):
    messenger, checkin, ask, reminder = asked
    async with sessions() as session:
        ana = await f.person(session, "ana")
        ana.away_until = (TUESDAY + timedelta(days=14)).date()
        session.add(ana)
        await session.commit()
    over = checkin.period_ends_at + timedelta(minutes=1)
    report = await run_tick(sessions, over)
    async with sessions() as session:
        assert (await session.get(CheckIn, checkin.id)).status == "skipped"
    assert report.skipped_away >= 1
    await deliver_due(sessions, messenger, POLICY, over)
    view = (await updates_of(messenger, ask))[-1]
    assert "You were away, so this check-in was skipped" in view.text and view.all_buttons() == ()


def test_every_kind_of_message_is_rendered_by_exactly_one_feature():
    from handlers import checkins, digest, forums, registry, reports, stories
    from handlers.outbound import RENDERERS

    claimed = [kind for feature in (checkins, reports, stories, forums, digest, registry) for kind in feature.OUTBOUND]
    assert sorted(claimed) == sorted(MessageKind) and set(RENDERERS) == set(MessageKind)
