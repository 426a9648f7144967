"""`mlpulse run` on Slack's HTTP mode, and the manifest that ships with the project."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import yaml

from bot.cli import main
from bot.config import Settings
from bot.run import run_bot
from bot.slack.app import REPORT_SHORTCUT
from handlers import router
from storage.migrate import upgrade
from tests import factories as f
from tests.bot.slack.requests import SECRET, headers, until

MANIFEST = Path(__file__).resolve().parents[3] / "bot" / "slack" / "manifest.yaml"


async def test_run_serves_health_and_slack_then_stops_cleanly(tmp_path, fake_slack):
    url = f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(app=f.small_portfolio(), database_url=url, slack_bot_token="xoxb-test-token", slack_signing_secret=SECRET, slack_api_url=fake_slack.url)
    stop, ready = asyncio.Event(), asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_bot(settings, "127.0.0.1", 0, stop, ready))
    port = await asyncio.wait_for(ready, 30)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/healthz")).status == 200
            body = urlencode({"command": "/mlpulse", "text": "help", "user_id": "ULEAD", "channel_id": "C1", "response_url": fake_slack.response_url + "9"})
            assert (await http.post("/slack/events", data=body, headers=headers(body))).status == 200
            await until(lambda: fake_slack.responses())
        assert fake_slack.responses()[0]["blocks"][0]["text"]["text"] == "mlpulse: what I can do"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert task.done() and task.exception() is None


def test_no_credentials_are_explained(tmp_path, monkeypatch, capsys):
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.yaml").write_text("people: []\n")
    assert main(["run"]) == 2
    assert "no chat platform is configured" in capsys.readouterr().err


def test_the_manifest_matches_what_the_bot_uses():
    manifest = yaml.safe_load(MANIFEST.read_text())
    # The shipped manifest says of each command what the command says of itself.
    shipped = [(c["command"], c["description"], c["usage_hint"]) for c in manifest["features"]["slash_commands"]]
    assert sorted(shipped) == sorted((c.slash, c.description, c.usage_hint) for c in router.COMMANDS)
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "files:write",
        "im:write",
        "im:history",
        "channels:history",
        "channels:read",
        "groups:history",
        "users:read",
        "users:read.email",
    }
    assert [(s["type"], s["callback_id"]) for s in manifest["features"]["shortcuts"]] == [("message", REPORT_SHORTCUT)]
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["settings"]["socket_mode_enabled"] is True and manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
