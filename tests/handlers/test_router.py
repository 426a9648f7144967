"""The router's guard: input that no database can store never reaches a handler, and the person is told why."""

from __future__ import annotations

import pytest
from sqlmodel import select

from handlers.actions import ActionId, FormId
from handlers.views import ReplyMode
from storage.models import FailureReport
from tests import factories as f
from tests.helpers import act, command, submit

UNSTORABLE = ["a NUL \x00 in the middle", "half an emoji \ud83d"]


@pytest.fixture
async def portfolio(sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())


@pytest.mark.parametrize("form", list(FormId))
@pytest.mark.parametrize("value", UNSTORABLE, ids=["nul", "surrogate"])
async def test_any_form_with_an_unstorable_value_comes_back_kept_with_that_field_named(form, value, sessions, portfolio):
    reply = await submit(sessions, "lead", form, "{}", {"model": "churn", "what_happened": value, "impact": "minor"})
    assert reply.mode == ReplyMode.RETRY and reply.input == "what_happened"
    assert "cannot be saved" in reply.view.text
    async with sessions() as session:
        assert (await session.exec(select(FailureReport))).all() == []


@pytest.mark.parametrize("value", UNSTORABLE, ids=["nul", "surrogate"])
async def test_commands_and_buttons_with_unstorable_text_are_refused_politely(value, sessions, portfolio):
    for reply in (await command(sessions, "lead", f"/mlstatus {value}"), await act(sessions, "lead", ActionId.REPORT_OPEN, f"model:{value}")):
        assert reply.mode == ReplyMode.EPHEMERAL and "cannot read" in reply.view.text
