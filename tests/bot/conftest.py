"""Fixtures shared by the platform tests: the fake Slack Web API (Teams' tests run Slack beside it)."""

from __future__ import annotations

import pytest

from tests.fakes.slack import FakeSlack, start_fake_slack


@pytest.fixture
async def fake_slack():
    fake = FakeSlack(retry_after=0)
    for key, tz in (("ana", "Europe/London"), ("bo", "America/New_York"), ("cy", "Asia/Tokyo"), ("owner", "Europe/Berlin"), ("lead", "Europe/London")):
        fake.add_user(f"U{key.upper()}", f"{key}@example.com", key.title(), tz)
    runner = await start_fake_slack(fake)
    yield fake
    await runner.cleanup()
