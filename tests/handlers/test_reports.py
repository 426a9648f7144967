"""Failure reports: the form and its errors, filing (named and anonymous), triage, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from handlers.actions import ActionId, FormId
from handlers.outbound import handle_outbound
from handlers.views import Form, Message, ReplyMode
from storage.models import CheckIn, FailureReport, MLModel, Person, ReportEvent
from tests import factories as f
from tests.conftest import NOW, POLICY, TUESDAY
from tests.helpers import act, command, outbox, run_tick, submit

GOOD = {"model": "churn", "what_happened": "Scores are all 0.5 since Monday.", "since": "2026-02-27", "impact": "major", "frequency": "always"}


@pytest.fixture
async def portfolio(sessions):
    spec = f.small_portfolio().model_dump()
    spec["units"][0]["channel"] = "#sales-ml"
    async with sessions() as session:
        await f.sync(session, f.decl(**spec))


async def reports(sessions) -> list[FailureReport]:
    async with sessions() as session:
        return list((await session.exec(select(FailureReport).order_by(FailureReport.id))).all())


async def events(sessions, report_id: int) -> list[ReportEvent]:
    async with sessions() as session:
        return list((await session.exec(select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.id))).all())


async def file(sessions, who="ana", **changes) -> FailureReport:
    reply = await submit(sessions, who, FormId.REPORT, "{}", {**GOOD, **changes})
    assert reply.mode == ReplyMode.EPHEMERAL, getattr(reply.view, "errors", None)
    return (await reports(sessions))[-1]


async def rendered(sessions, kind: str) -> Message:
    message = (await outbox(sessions, kind))[-1]
    async with sessions() as session:
        view = await handle_outbound(session, message, POLICY, NOW)
    assert view is not None
    return view


def text_of(view: Message) -> str:
    parts = [view.title, view.text, view.footer]
    for section in view.sections:
        parts += [section.text, *(f"{x.label}: {x.value}" for x in section.fields)]
    return "\n".join(parts)


async def test_mlreport_with_a_fuzzy_name_opens_the_form_with_the_model_chosen(sessions, portfolio):
    reply = await command(sessions, "ana", "/mlreport churn")
    assert reply.mode == ReplyMode.FORM and reply.view.form == FormId.REPORT
    inputs = {i.name: i for i in reply.view.inputs}
    assert inputs["model"].initial == "churn"
    assert {"what_happened", "since", "impact", "frequency", "anonymous"} <= set(inputs)
    # Ana's own models come first in the list.
    assert [c.value for c in inputs["model"].choices][:2] == ["churn", "demand"]


async def test_an_unknown_model_name_still_opens_the_form_and_says_so(sessions, portfolio):
    reply = await command(sessions, "ana", "/mlreport quantum oracle")
    assert reply.mode == ReplyMode.FORM
    assert "No model is called “quantum oracle”" in reply.view.intro
    assert {i.name: i for i in reply.view.inputs}["model"].initial is None


async def test_every_check_in_offers_a_report_prefilled_with_its_model(sessions, portfolio):
    await run_tick(sessions, TUESDAY)
    ask = (await outbox(sessions, "checkin.ask"))[0]
    async with sessions() as session:
        view = await handle_outbound(session, ask, POLICY, TUESDAY)
        checkin = await session.get(CheckIn, ask.subject_id)
        model = await session.get(MLModel, checkin.model_id)
        person = await session.get(Person, checkin.person_id)
    report = next(b for b in view.all_buttons() if b.action == ActionId.REPORT_OPEN)
    reply = await act(sessions, person.key, report.action, report.value, TUESDAY)
    assert {i.name: i for i in reply.view.inputs}["model"].initial == model.key
    assert f'"checkin": {checkin.id}' in reply.view.state


async def test_a_problems_answer_offers_the_report_first(sessions, portfolio):
    await run_tick(sessions, TUESDAY)
    async with sessions() as session:
        ana = await f.person(session, "ana")
        checkin = (await session.exec(select(CheckIn).where(CheckIn.person_id == ana.id))).first()
    reply = await act(sessions, "ana", ActionId.CHECKIN_PROBLEMS, checkin.id, TUESDAY)
    first = reply.view.all_buttons()[0]
    assert (first.action, first.label, first.value) == (ActionId.REPORT_OPEN, "Report the problem", f"checkin:{checkin.id}")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"model": ""}, "model", "Choose the model"),
        ({"model": "no-such-model"}, "model", "No model is called “no-such-model”."),
        ({"what_happened": "   "}, "what_happened", "Tell us what happened"),
        ({"what_happened": "x" * 3001}, "what_happened", "under 3000 characters (it has 3001)"),
        ({"since": "2026-03-09"}, "since", "in the future"),
        ({"since": "last week"}, "since", "“last week” is not a date"),
        ({"impact": ""}, "impact", "Choose the business impact"),
        ({"anonymous": "maybe"}, "anonymous", "Answer yes or no"),
    ],
)
async def test_bad_input_comes_back_on_its_field_and_files_nothing(sessions, portfolio, changes, field, message):
    values = {**GOOD, **changes}
    reply = await submit(sessions, "ana", FormId.REPORT, "{}", values)
    assert reply.mode == ReplyMode.FORM and isinstance(reply.view, Form)
    assert set(reply.view.errors) == {field} and message in reply.view.errors[field]
    assert dict(reply.view.values) == values  # what was typed is kept
    assert await reports(sessions) == []


async def test_a_named_report_reaches_the_owner_at_once_and_counts_against_the_model(sessions, portfolio):
    report = await file(sessions)
    assert (report.reporter_id is not None, report.status, report.impact, str(report.since)) == (True, "open", "major", "2026-02-27")
    [opened] = await events(sessions, report.id)
    assert (opened.from_status, opened.to_status, opened.actor_id) == (None, "open", report.reporter_id)
    [owner_dm] = await outbox(sessions, "report.new")
    async with sessions() as session:
        assert owner_dm.person_id == (await f.person(session, "owner")).id
        assert (await f.model(session, "churn")).open_reports == 1
    view = await rendered(sessions, "report.new")
    assert "Ana" in text_of(view) and "Scores are all 0.5" in text_of(view)
    assert [b.label for b in view.all_buttons()] == ["Triage…", "Won't fix…"]
    assert await outbox(sessions, "report.critical") == []  # only critical reports go to the channel


async def test_a_critical_report_also_goes_to_the_units_channel_without_the_reporters_name(sessions, portfolio):
    await file(sessions, impact="critical")
    [alert] = await outbox(sessions, "report.critical")
    assert (alert.channel, alert.person_id) == ("#sales-ml", None)
    text = text_of(await rendered(sessions, "report.critical"))
    assert "Churn predictor" in text and "Ana" not in text and "ana@" not in text


async def test_the_channel_post_of_a_critical_anonymous_report_does_not_show_its_receipt_code(sessions, portfolio):
    report = await file(sessions, impact="critical", anonymous="true")
    post = text_of(await rendered(sessions, "report.critical"))
    # The code is the reporter's only key to the report: whoever reads the channel must not learn it.
    assert "Churn predictor" in post and report.receipt_code not in post
    assert "The model's owner has been told." in post


async def test_a_critical_report_in_a_unit_without_a_channel_goes_to_the_leads(sessions, portfolio):
    await file(sessions, "cy", model="fraud", impact="critical")
    [alert] = await outbox(sessions, "report.critical")
    async with sessions() as session:
        assert (alert.channel, alert.person_id) == (None, (await f.person(session, "lead")).id)


async def test_an_anonymous_report_stores_no_reporter_not_even_through_its_check_in(sessions, portfolio):
    await run_tick(sessions, TUESDAY)
    async with sessions() as session:
        ana = await f.person(session, "ana")
        checkin = (await session.exec(select(CheckIn).where(CheckIn.person_id == ana.id))).first()
    reply = await submit(sessions, "ana", FormId.REPORT, f'{{"checkin": {checkin.id}}}', {**GOOD, "anonymous": "true"}, TUESDAY)
    [report] = await reports(sessions)
    assert (report.anonymous, report.reporter_id, report.checkin_id) == (True, None, None)
    assert [e.actor_id for e in await events(sessions, report.id)] == [None]
    assert report.receipt_code in reply.view.text and "not stored" in reply.view.text
    assert "Ana" not in text_of(await rendered(sessions, "report.new"))


async def test_the_receipt_code_shows_the_report_to_whoever_holds_it(sessions, portfolio):
    report = await file(sessions, anonymous="true")
    guest = Person(key="guest", display_name="there", timezone="UTC")
    reply = await command(sessions, guest, f"/mlreport status {report.receipt_code.lower()}")
    assert reply.view.title == f"Report {report.receipt_code}"
    assert "Open" in text_of(reply.view) and "Churn predictor" in text_of(reply.view)
    missing = await command(sessions, guest, "/mlreport status R-AAAA-BBBB")
    assert "No report has the receipt code" in missing.view.text


async def test_a_guest_cannot_file_a_named_report(sessions, portfolio):
    guest = Person(key="guest", display_name="there", timezone="UTC")
    reply = await submit(sessions, guest, FormId.REPORT, "{}", GOOD)
    assert "tick this to file anonymously" in reply.view.errors["anonymous"]
    await submit(sessions, guest, FormId.REPORT, "{}", {**GOOD, "anonymous": "true"})
    assert [r.anonymous for r in await reports(sessions)] == [True]


async def test_the_same_submission_twice_files_once(sessions, portfolio):
    first = await submit(sessions, "ana", FormId.REPORT, "{}", GOOD, request_id="view:V1")
    second = await submit(sessions, "ana", FormId.REPORT, "{}", GOOD, request_id="view:V1")
    assert len(await reports(sessions)) == 1 and len(await outbox(sessions, "report.new")) == 1
    assert first.view.text == second.view.text


async def test_the_owner_moves_a_report_through_its_lifecycle_and_the_reporter_hears_each_step(sessions, portfolio):
    report = await file(sessions)
    form = (await act(sessions, "owner", ActionId.REPORT_MOVE, f"{report.id}:triaged")).view
    assert isinstance(form, Form) and {i.name: i for i in form.inputs}["status"].initial == "triaged"

    later = NOW + timedelta(hours=1)
    await submit(sessions, "owner", FormId.REPORT_UPDATE, report.id, {"status": "triaged", "assignee": "bo"}, later)
    errors = (await submit(sessions, "owner", FormId.REPORT_UPDATE, report.id, {"status": "analysing"}, later)).view.errors
    assert "root-cause" in errors["root_cause"]
    await submit(
        sessions, "owner", FormId.REPORT_UPDATE, report.id, {"status": "analysing", "root_cause": "data_drift", "analysis": "Upstream feed changed."}, later
    )
    errors = (await submit(sessions, "owner", FormId.REPORT_UPDATE, report.id, {"status": "resolved", "root_cause": "data_drift"}, later)).view.errors
    assert "Say what was done" in errors["resolution"]
    await submit(
        sessions, "lead", FormId.REPORT_UPDATE, report.id, {"status": "resolved", "root_cause": "data_drift", "resolution": "Retrained on the new feed."}, later
    )

    [stored] = await reports(sessions)
    assert (stored.status, stored.root_cause, stored.resolution) == ("resolved", "data_drift", "Retrained on the new feed.")
    async with sessions() as session:
        owner, lead, bo = [await f.person(session, k) for k in ("owner", "lead", "bo")]
        assert stored.assignee_id == bo.id
    moves = [(e.from_status, e.to_status, e.actor_id) for e in await events(sessions, report.id)]
    assert moves == [(None, "open", stored.reporter_id), ("open", "triaged", owner.id), ("triaged", "analysing", owner.id), ("analysing", "resolved", lead.id)]
    told = await outbox(sessions, "report.changed")
    assert len(told) == 3 and {m.person_id for m in told} == {stored.reporter_id}
    assert "is now resolved" in (await rendered(sessions, "report.changed")).text
    [assigned] = await outbox(sessions, "report.assigned")
    assert assigned.person_id == bo.id
    reopened = await act(sessions, "owner", ActionId.REPORT_MOVE, f"{report.id}:open", later)
    assert (await reports(sessions))[0].status == "open" and "Reopen" not in [b.label for b in reopened.view.all_buttons()]


async def test_wont_fix_needs_a_reason_the_reporter_will_read(sessions, portfolio):
    report = await file(sessions)
    errors = (await submit(sessions, "owner", FormId.REPORT_UPDATE, report.id, {"status": "wont_fix"})).view.errors
    assert "why it won't be fixed" in errors["resolution"]
    await submit(sessions, "owner", FormId.REPORT_UPDATE, report.id, {"status": "wont_fix", "resolution": "The model is being replaced."})
    assert (await reports(sessions))[0].status == "wont_fix"
    told = (await rendered(sessions, "report.changed")).text
    assert f"({report.receipt_code}) is now closed without a fix, moved by Owner." in told and "won't fix" not in told


async def test_a_move_the_lifecycle_does_not_allow_is_refused_inline(sessions, portfolio):
    report = await file(sessions)
    reply = await submit(sessions, "owner", FormId.REPORT_UPDATE, report.id, {"status": "resolved", "root_cause": "other", "resolution": "done"})
    assert "can move to: Triaged, Won't fix" in reply.view.errors["status"]
    assert (await reports(sessions))[0].status == "open"


@pytest.mark.parametrize("who", ["ana", "bo", "cy"])
async def test_only_leads_and_the_owner_change_a_report(sessions, portfolio, who):
    report = await file(sessions)
    pressed = await act(sessions, who, ActionId.REPORT_MOVE, f"{report.id}:triaged")
    submitted = await submit(sessions, who, FormId.REPORT_UPDATE, report.id, {"status": "triaged", "assignee": "bo"})
    for reply in (pressed, submitted):
        assert reply.mode == ReplyMode.EPHEMERAL and "Only ML leads and the model's owner (Owner)" in reply.view.text
    assert (await reports(sessions))[0].status == "open" and len(await events(sessions, report.id)) == 1


async def test_the_report_view_names_the_reporter_only_to_leads_and_the_owner(sessions, portfolio):
    report = await file(sessions)
    seen_by_bo = text_of((await act(sessions, "bo", ActionId.REPORT_VIEW, report.id)).view)
    seen_by_lead = text_of((await act(sessions, "lead", ActionId.REPORT_VIEW, report.id)).view)
    assert "Reported by: (hidden)" in seen_by_bo and "Reported by: Ana" in seen_by_lead
    seen_by_ana = text_of((await act(sessions, "ana", ActionId.REPORT_VIEW, report.id)).view)
    assert "Reported by: Ana" in seen_by_ana and "Filed by Ana" in seen_by_ana  # her own, named report
    refused = await act(sessions, "cy", ActionId.REPORT_VIEW, report.id)  # Finance, not Sales
    assert "belongs to a unit you are not part of" in refused.view.text
