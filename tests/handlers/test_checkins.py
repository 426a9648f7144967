"""Check-ins from the recipient's side: answers, history, follow-ups, snooze, reassign, away."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from handlers import router
from handlers.actions import ActionId, FormId
from handlers.checkins import CHANGING
from handlers.views import Form, Message, ReplyMode
from storage.models import CheckIn, CheckInAnswer, Stakeholder
from tests import factories as f
from tests import helpers
from tests.conftest import TUESDAY
from tests.helpers import outbox, run_tick

LATER = TUESDAY + timedelta(hours=2)


@pytest.fixture
async def asked(sessions):
    """Ana's check-in about the churn model, asked on Tuesday."""
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
    await run_tick(sessions, TUESDAY)
    async with sessions() as session:
        ana, churn = await f.person(session, "ana"), await f.model(session, "churn")
        checkin = (await session.exec(select(CheckIn).where(CheckIn.person_id == ana.id, CheckIn.model_id == churn.id))).one()
    return checkin.id


async def act(sessions, who: str, action: ActionId | str, value, now=LATER, request_id=None):
    return await helpers.act(sessions, who, action, value, now, request_id)


async def submit(sessions, who: str, form: FormId, state, values: dict, now=LATER):
    return await helpers.submit(sessions, who, form, state, values, now)


async def load(sessions, checkin_id: int) -> tuple[CheckIn, list[CheckInAnswer]]:
    async with sessions() as session:
        checkin = await session.get(CheckIn, checkin_id)
        answers = (await session.exec(select(CheckInAnswer).where(CheckInAnswer.checkin_id == checkin_id).order_by(CheckInAnswer.id))).all()
    return checkin, list(answers)


async def test_the_question_names_the_model_and_offers_the_four_answers(sessions, asked):
    async with sessions() as session:
        message = (await outbox(sessions, "checkin.ask"))[0]
        from handlers.outbound import handle_outbound

        view = await handle_outbound(session, message, f.POLICY, TUESDAY)
    assert "still using" in view.text
    labels = [b.label for b in view.all_buttons()]
    assert labels[:4] == ["Yes, works well", "Yes, but with problems", "No, we stopped", "Not me / not sure"]
    assert "Remind me tomorrow" in labels


async def test_answer_is_recorded_and_the_message_updated_in_place(sessions, asked):
    reply = await act(sessions, "ana", ActionId.CHECKIN_WORKS, asked)
    assert reply.mode == ReplyMode.REPLACE
    assert "Recorded: Yes, works well" in reply.view.text
    checkin, answers = await load(sessions, asked)
    # No more reminders; the one thing left is to take *Change answer* away when the period ends.
    assert (checkin.status, checkin.answer, checkin.next_action_at) == ("answered", "works", checkin.period_ends_at)
    assert [a.answer for a in answers] == ["works"]
    async with sessions() as session:
        assert (await f.model(session, "churn")).last_answer == "works"


async def test_a_double_click_records_once(sessions, asked):
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, asked)
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, asked)
    _, answers = await load(sessions, asked)
    assert len(answers) == 1


def changing(checkin_id) -> str:
    """Return the value the answer buttons of *Change answer* carry."""
    return f"{checkin_id}{CHANGING}"


async def test_a_platform_retry_of_an_old_click_does_not_undo_a_change(sessions, asked):
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, asked, request_id="click-1")
    await act(sessions, "ana", ActionId.CHECKIN_PROBLEMS, changing(asked), request_id="click-2")
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, asked, request_id="click-1")  # delivered again
    checkin, answers = await load(sessions, asked)
    assert checkin.answer == "problems"
    assert [a.answer for a in answers] == ["works", "problems"]


async def test_changed_answer_keeps_history_and_alerts_the_owner_once(sessions, asked):
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, asked)
    await act(sessions, "ana", ActionId.CHECKIN_PROBLEMS, changing(asked))
    await act(sessions, "ana", ActionId.CHECKIN_STOPPED, changing(asked))
    checkin, answers = await load(sessions, asked)
    assert [a.answer for a in answers] == ["works", "problems", "stopped"]
    alerts = await outbox(sessions, "checkin.owner_alert")
    async with sessions() as session:
        owner = await f.person(session, "owner")
    # Problems alerted the owner; moving on to "stopped" from "problems" is not news.
    assert [(a.person_id, a.key.rsplit(":", 1)[1]) for a in alerts] == [(owner.id, "problems")]


async def test_change_answer_shows_the_buttons_again(sessions, asked):
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, asked)
    reply = await act(sessions, "ana", ActionId.CHECKIN_CHANGE, asked)
    assert "You answered: Yes, works well" in reply.view.text
    assert {b.action for b in reply.view.buttons} >= {ActionId.CHECKIN_WORKS, ActionId.CHECKIN_PROBLEMS}
    # Those buttons change the answer; the question's own buttons, on an older copy, do not.
    stopped = next(b for b in reply.view.buttons if b.action == ActionId.CHECKIN_STOPPED)
    assert stopped.value == changing(asked)


async def test_a_stale_answer_button_never_overwrites_the_recorded_answer(sessions, asked):
    await act(sessions, "ana", ActionId.CHECKIN_PROBLEMS, asked)
    # Pressed on the first copy of the question, still showing its buttons somewhere.
    reply = await act(sessions, "ana", ActionId.CHECKIN_WORKS, asked)
    assert reply.mode == ReplyMode.REPLACE
    assert "You already answered “Yes, but with problems”" in reply.view.text and "Change answer" in reply.view.text
    assert ActionId.CHECKIN_CHANGE in {b.action for b in reply.view.buttons}
    checkin, answers = await load(sessions, asked)
    assert checkin.answer == "problems" and [a.answer for a in answers] == ["problems"]


async def test_answer_cannot_change_after_the_period_ends(sessions, asked):
    await act(sessions, "ana", ActionId.CHECKIN_WORKS, asked)
    next_week = TUESDAY + timedelta(weeks=1, minutes=1)
    reply = await act(sessions, "ana", ActionId.CHECKIN_STOPPED, changing(asked), now=next_week)
    assert "can no longer be changed" in reply.view.text
    checkin, answers = await load(sessions, asked)
    assert checkin.answer == "works" and len(answers) == 1


async def test_late_answer_to_an_expired_checkin_is_accepted(sessions, asked):
    for days in (1, 2, 3):
        await run_tick(sessions, TUESDAY + timedelta(days=days))
    checkin, _ = await load(sessions, asked)
    assert checkin.status == "expired"
    reply = await act(sessions, "ana", ActionId.CHECKIN_WORKS, asked, now=TUESDAY + timedelta(days=10))
    assert "Recorded" in reply.view.text
    checkin, answers = await load(sessions, asked)
    assert checkin.status == "answered" and answers[0].late


async def test_only_the_recipient_may_answer(sessions, asked):
    reply = await act(sessions, "bo", ActionId.CHECKIN_STOPPED, asked)
    assert reply.mode == ReplyMode.EPHEMERAL and "only they can answer" in reply.view.text
    checkin, answers = await load(sessions, asked)
    assert checkin.status == "open" and answers == []


async def test_follow_up_form_validates_inline_and_then_saves(sessions, asked):
    await act(sessions, "ana", ActionId.CHECKIN_PROBLEMS, asked)
    reply = await act(sessions, "ana", ActionId.CHECKIN_DETAILS, asked)
    assert reply.mode == ReplyMode.FORM and isinstance(reply.view, Form)
    assert [i.name for i in reply.view.inputs] == ["business_change", "satisfaction", "comment"]

    bad = await submit(sessions, "ana", FormId.CHECKIN_FOLLOWUP, asked, {"satisfaction": "7", "business_change": "x" * 3001})
    assert bad.mode == ReplyMode.FORM
    assert bad.view.errors == {"satisfaction": "Choose a number from 1 to 5.", "business_change": "Please keep this under 3000 characters (it has 3001)."}
    assert bad.view.values["satisfaction"] == "7"  # nothing typed is lost
    checkin, answers = await load(sessions, asked)
    assert checkin.satisfaction is None and len(answers) == 1

    good = await submit(sessions, "ana", FormId.CHECKIN_FOLLOWUP, asked, {"satisfaction": "2", "business_change": "New pricing tiers launched."})
    assert good.mode == ReplyMode.REPLACE and "Thanks, noted." in good.view.text
    checkin, answers = await load(sessions, asked)
    assert (checkin.satisfaction, checkin.business_change) == (2, "New pricing tiers launched.")
    assert [a.satisfaction for a in answers] == [None, 2]


async def test_snooze_until_tomorrow_then_ask_again(sessions, asked):
    reply = await act(sessions, "ana", ActionId.CHECKIN_SNOOZE, asked)
    assert "I'll ask again Wed 4 Mar 2026, 10:00" in reply.view.text
    assert ActionId.CHECKIN_SNOOZE not in {b.action for b in reply.view.buttons}
    report = await run_tick(sessions, datetime(2026, 3, 4, 10, 0, tzinfo=UTC))
    snoozed = await outbox(sessions, "checkin.snoozed")
    assert [m.subject_id for m in snoozed] == [asked]
    assert report.reminded >= 1
    checkin, _ = await load(sessions, asked)
    assert checkin.snoozed_until is None and checkin.status == "open"


async def test_remind_me_tomorrow_on_a_friday_means_monday(sessions, asked):
    reply = await act(sessions, "ana", ActionId.CHECKIN_SNOOZE, asked, now=datetime(2026, 3, 6, 16, 0, tzinfo=UTC))
    assert "I'll ask again Mon 9 Mar 2026, 10:00" in reply.view.text
    checkin, _ = await load(sessions, asked)
    assert checkin.snoozed_until == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)


async def test_snooze_refused_when_the_period_ends_first(sessions, asked):
    reply = await act(sessions, "ana", ActionId.CHECKIN_SNOOZE, asked, now=TUESDAY + timedelta(days=6, hours=1))
    assert "period ends" in reply.view.text
    checkin, _ = await load(sessions, asked)
    assert checkin.snoozed_until is None


async def test_reassign_to_someone_else(sessions, asked):
    reply = await act(sessions, "ana", ActionId.CHECKIN_NOT_ME, asked)
    assert reply.mode == ReplyMode.FORM
    for values, error in (
        ({"person": "zed"}, "Nobody called “zed” is known to mlpulse. Try their key or email address."),
        ({"person": "ana@example.com"}, "That is you. Name someone else, or leave this empty."),
        ({}, "Name who should answer, or tick 'Stop asking me'."),
    ):
        bad = await submit(sessions, "ana", FormId.CHECKIN_REASSIGN, asked, values)
        assert bad.mode == ReplyMode.FORM and bad.view.errors == {"person": error}
    done = await submit(sessions, "ana", FormId.CHECKIN_REASSIGN, asked, {"person": "Cy Tokyo", "reason": "Cy runs churn now"})
    assert "Handed over to Cy Tokyo" in done.view.text
    async with sessions() as session:
        cy = await f.person(session, "cy")
        moved = (await session.exec(select(CheckIn).where(CheckIn.person_id == cy.id, CheckIn.reassigned_from_id == asked))).one()
    mine, answers = await load(sessions, asked)
    assert mine.status == "reassigned" and mine.reassigned_to_id == cy.id
    assert [a.answer for a in answers] == ["not_me"]
    assert moved.period_key == mine.period_key and moved.status == "open"
    assert [m.person_id for m in await outbox(sessions, "checkin.ask") if m.subject_id == moved.id] == [cy.id]
    assert len(await outbox(sessions, "checkin.reassigned")) == 1


async def test_stop_asking_me_without_naming_anyone_says_so_and_not_that_it_was_handed_over(sessions, asked):
    reply = await submit(sessions, "ana", FormId.CHECKIN_REASSIGN, asked, {"person": "", "stop": "true"})
    assert "Noted: this one is not for you" in reply.view.text and "Handed over" not in reply.view.text
    assert "You won't be asked about this model again." in reply.view.text


async def test_stop_asking_me_removes_me_and_adds_the_new_person(sessions, asked):
    await submit(sessions, "ana", FormId.CHECKIN_REASSIGN, asked, {"person": "bo@example.com", "stop": "true"})
    async with sessions() as session:
        churn, ana, bo = await f.model(session, "churn"), await f.person(session, "ana"), await f.person(session, "bo")
        links = {s.person_id for s in (await session.exec(select(Stakeholder).where(Stakeholder.model_id == churn.id))).all()}
    assert ana.id not in links and bo.id in links
    # Bo already had this period's check-in: no second one.
    keys = [(c.person_id, c.period_key) for c in (await _all(sessions)) if c.model_id == churn.id]
    assert len(keys) == len(set(keys))


async def test_stop_asking_me_and_who_was_named_instead_survive_the_next_app_yaml_sync(sessions, asked):
    await submit(sessions, "ana", FormId.CHECKIN_REASSIGN, asked, {"person": "cy", "stop": "true"})
    async with sessions() as session:
        await f.sync(session, f.small_portfolio(), LATER + timedelta(hours=1))  # a restart: app.yaml still lists Ana, not Cy
        churn, ana, cy = await f.model(session, "churn"), await f.person(session, "ana"), await f.person(session, "cy")
        links = {s.person_id for s in (await session.exec(select(Stakeholder).where(Stakeholder.model_id == churn.id))).all()}
    assert ana.id not in links and cy.id in links
    await run_tick(sessions, TUESDAY + timedelta(weeks=1))
    asked_next = {(c.model_id, c.person_id) for c in await _all(sessions) if c.period_key == "2026-03-10"}
    assert (churn.id, ana.id) not in asked_next and (churn.id, cy.id) in asked_next


async def _all(sessions):
    async with sessions() as session:
        return (await session.exec(select(CheckIn))).all()


async def test_away_until_a_date_and_back(sessions, asked):
    async with sessions() as session:
        ana = await f.person(session, "ana")
        past = await router.handle_command(session, f.ctx(ana, LATER), "/mlpulse away until 2026-02-01")
        assert "in the past" in past.view.text
        bad = await router.handle_command(session, f.ctx(ana, LATER), "/mlpulse away until next week")
        assert "not a date I understand" in bad.view.text
        ok = await router.handle_command(session, f.ctx(ana, LATER), "/mlpulse away until 2026-03-20")
        assert "away until Fri 20 Mar 2026" in ok.view.text
        await session.commit()
    async with sessions() as session:
        assert (await f.person(session, "ana")).away_until == date(2026, 3, 20)
        back = await router.handle_command(session, f.ctx(await f.person(session, "ana"), LATER), "/mlpulse away off")
        assert "Welcome back" in back.view.text
        await session.commit()
    async with sessions() as session:
        assert (await f.person(session, "ana")).away_until is None


async def test_my_checkins_lists_open_ones_with_buttons(sessions, asked):
    async with sessions() as session:
        ana = await f.person(session, "ana")
        reply = await router.handle_command(session, f.ctx(ana, LATER), "/mlpulse checkins")
    assert isinstance(reply.view, Message)
    assert "2 check-ins waiting" in reply.view.text
    assert [s.text.split("?")[0] for s in reply.view.sections] == ["Is your team still using Churn predictor", "Is your team still using Demand forecast"]
    assert all(s.buttons[0].action == ActionId.CHECKIN_WORKS for s in reply.view.sections)
