"""`mlpulse run` on Teams: the same server as Slack, with both platforms at once, and the app types."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from sqlmodel import select

from bot.cli import main
from bot.config import ConfigError, Settings, load_settings
from bot.run import run_bot
from storage.migrate import upgrade
from storage.models import ConversationReference
from tests import factories as f
from tests.bot.slack.requests import SECRET
from tests.bot.teams import activities as a


async def test_run_serves_slack_and_teams_on_one_server(tmp_path, fake_slack, connector):
    url = f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(
        app=f.small_portfolio(),
        database_url=url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SECRET,
        slack_api_url=fake_slack.url,
        teams_emulator=True,
    )
    stop, ready = asyncio.Event(), asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_bot(settings, "127.0.0.1", 0, stop, ready))
    port = await asyncio.wait_for(ready, 30)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            response = await http.post("/api/messages", json=a.message(connector.url, "ana", "help"))
            assert response.status == 201
            assert (await http.post("/slack/events", data="x")).status == 401  # Slack's route is there, and verifies
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    [card] = connector.cards("reply")
    assert card["body"][0]["text"] == "mlpulse: what I can do"


@pytest.mark.parametrize(
    "env, problem",
    [
        ({"MICROSOFT_APP_TYPE": "SingleTenant", "MICROSOFT_APP_PASSWORD": "s3cr3t-from-azure"}, "SingleTenant needs MICROSOFT_APP_TENANT_ID"),
        ({"MICROSOFT_APP_TYPE": "MultiTenant"}, "MultiTenant needs MICROSOFT_APP_PASSWORD"),
        ({"MICROSOFT_APP_TYPE": "UserAssignedMSI"}, "UserAssignedMSI needs MICROSOFT_APP_TENANT_ID"),
        ({"MICROSOFT_APP_TYPE": "Personal"}, "must be one of MultiTenant, SingleTenant, UserAssignedMSI"),
    ],
)
def test_each_app_type_says_what_it_is_missing(tmp_path, monkeypatch, env, problem):
    monkeypatch.setenv("MICROSOFT_APP_ID", "00000000-0000-0000-0000-0000000000aa")
    for name in ("MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "app.yaml").write_text("people: []\n")
    with pytest.raises(ConfigError, match="MICROSOFT_APP_TYPE") as error:
        load_settings(tmp_path / "app.yaml")
    assert problem in str(error.value)


def test_a_single_tenant_bot_with_everything_set_runs_on_teams(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROSOFT_APP_ID", "00000000-0000-0000-0000-0000000000aa")
    monkeypatch.setenv("MICROSOFT_APP_PASSWORD", "s3cr3t-from-azure")
    monkeypatch.setenv("MICROSOFT_APP_TENANT_ID", "11111111-0000-0000-0000-000000000000")
    monkeypatch.setenv("MICROSOFT_APP_TYPE", "singletenant")
    (tmp_path / "app.yaml").write_text("people: []\n")
    settings = load_settings(tmp_path / "app.yaml")
    assert settings.microsoft_app_type == "SingleTenant" and "teams" in settings.platforms and settings.policy().platforms == settings.platforms


@pytest.mark.parametrize("argv, host", [(["run", "--teams-emulator"], "127.0.0.1"), (["run", "--teams-emulator", "--host", "0.0.0.0"], "0.0.0.0")])
def test_the_emulator_mode_listens_on_loopback_unless_a_host_is_given(argv, host, tmp_path, monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.yaml").write_text("people: []\n")
    bound = []

    async def serving(settings, at, port):
        bound.append((at, settings.teams_emulator))

    monkeypatch.setattr("bot.run.run_bot", serving)
    assert main(argv) == 0
    assert bound == [(host, True)]


async def test_without_an_app_id_an_activity_from_a_connector_off_this_machine_is_ignored(bot, connector, sessions, caplog):
    elsewhere = a.message("https://attacker.example/", "lead", "help")
    assert (await bot(elsewhere)).status in (200, 201)
    async with sessions() as session:
        assert (await session.exec(select(ConversationReference))).all() == []  # no reference that would send people's messages there
    assert connector.calls == [] and "serviceUrl is not on this machine" in caplog.text
    assert (await bot(a.message(connector.url, "lead", "help"))).status == 201  # the local connector still works
    assert connector.sent("reply")
