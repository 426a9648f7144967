"""An anonymous report on Teams, by a named person and by a stranger, at DEBUG: nothing stored or logged leads back to its reporter."""

from __future__ import annotations

import json
import logging

import pytest
from sqlmodel import select

from storage.models import FailureReport
from tests import anonymity
from tests import factories as f
from tests.bot.teams import activities as a
from tests.bot.teams.test_app import buttons
from tests.conftest import TUESDAY

CONVERSATION = "a:personal-29:zelda"


def portfolio():
    """The small portfolio with the reporter declared as a stakeholder of churn (found in Teams by their email)."""
    base = f.small_portfolio()
    people = [p.model_dump() for p in base.people] + [anonymity.person_decl()]
    models = [m.model_dump() | ({"stakeholders": [*m.stakeholders, anonymity.KEY]} if m.key == "churn" else {}) for m in base.models]
    return f.decl(people=people, units=[u.model_dump() for u in base.units], models=models, leads=list(base.leads))


@pytest.mark.parametrize("named", [True, False], ids=["named person", "stranger"])
async def test_an_anonymous_report_leaves_no_trace_of_its_reporter(named, bot, connector, teams, sessions, caplog):
    connector.add_member("29:zelda", "aad-zelda", anonymity.NAME, anonymity.EMAIL)
    needles = anonymity.needles("aad-zelda", "29:zelda", CONVERSATION)
    if named:
        async with sessions() as session:
            await f.sync(session, portfolio())
        await bot(a.installed(connector.url, "zelda"))  # the app is installed for them: mlpulse keeps where to reach them
        await teams.runtime.tick(TUESDAY)
        assert [c for c in connector.sent("send") if c.conversation == CONVERSATION and "Churn predictor" in json.dumps(c.body)]
    before = await anonymity.stored_values(sessions)
    caplog.clear()
    caplog.set_level(logging.DEBUG)

    await bot(a.message(connector.url, "zelda", "report churn"))
    form_call = connector.sent("reply")[-1]
    [submit] = [b for b in buttons(form_call.body["attachments"][0]["content"]) if b["data"]["mlpulse"].get("form") == "report.file"]
    values = {**submit["data"], "model": "churn", "what_happened": "Every score is 0.5", "impact": "critical", "anonymous": "true"}
    await bot(a.submit(connector.url, "zelda", values, form_call.activity_id))
    await teams.runtime.deliver()

    async with sessions() as session:
        [report] = (await session.exec(select(FailureReport))).all()
    assert (report.anonymous, report.reporter_id, report.checkin_id) == (True, None, None)
    receipt = connector.activities[(CONVERSATION, form_call.activity_id)]["attachments"][0]["content"]
    assert report.receipt_code in json.dumps(receipt)  # the form was replaced by the receipt (a PUT that names the conversation)
    await anonymity.assert_no_trace(sessions, before, caplog.records, needles)
