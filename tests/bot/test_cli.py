"""The `mlpulse` command line, run in a clean directory."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import main
from storage.db import create_engine, session_factory
from storage.models import OutboundMessage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "DATABASE_URL", "MLPULSE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "app.yaml").write_text((ROOT / "app.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_without_credentials_says_how_to_get_them(workdir, capsys):
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "no chat platform is configured" in err
    assert "SLACK_APP_TOKEN (Socket Mode" in err and "MICROSOFT_APP_ID" in err
    assert "mlpulse shell --demo" in err


def test_an_unmigrated_database_is_refused_with_the_command_to_run(workdir, capsys):
    assert main(["tick", "--dry-run"]) == 2
    assert "has no schema yet. Run: mlpulse db upgrade" in capsys.readouterr().err


def test_a_bad_app_yaml_stops_start_up_with_its_location(workdir, capsys):
    (workdir / "app.yaml").write_text("people:\n  - {key: ana, name: Ana}\nleads: [bob]\n")
    assert main(["db", "upgrade"]) == 0
    assert main(["tick", "--dry-run"]) == 2
    assert "configuration error: app.yaml:3: leads[0]: unknown person 'bob'; declared people: ana" in capsys.readouterr().err


def test_upgrade_import_list_and_tick(workdir, capsys):
    assert main(["db", "upgrade"]) == 0
    assert "Database ./mlpulse.db is up to date." in capsys.readouterr().out
    assert (workdir / "mlpulse.db").exists()

    assert main(["models", "import"]) == 0
    out = capsys.readouterr().out
    assert "Imported app.yaml: 26 added, 0 updated, 0 retired." in out
    assert "  model churn" in out

    trimmed = workdir / "fewer.yaml"
    text = (workdir / "app.yaml").read_text()
    trimmed.write_text(text[: text.index("  - key: staffing")])
    assert main(["models", "import", "fewer.yaml"]) == 0
    assert "Imported fewer.yaml: 0 added, 0 updated, 1 retired." in capsys.readouterr().out

    # Listing only reads: it does not sync app.yaml (which still declares staffing), so staffing stays retired.
    for _ in range(2):
        assert main(["models", "list"]) == 0
        listing = capsys.readouterr().out
        assert "churn · Churn predictor · Sales · Priya Raman" in listing
        assert "staffing · Staffing planner · Customer Care · Tomás Silva · retired" in listing
    # Nor do a dry-run tick and a digest preview.
    assert main(["tick", "--at", "2099-01-01T00:00", "--dry-run"]) == 0 and main(["digest", "--preview", "--out", "chart.png"]) == 0
    assert main(["models", "list"]) == 0
    assert "staffing · Staffing planner · Customer Care · Tomás Silva · retired" in capsys.readouterr().out

    # From here on the bot runs on fewer.yaml (a start that syncs, such as `run` or a real tick, would read app.yaml).

    # Stakeholders' first check-ins are after the import; a month on, they are all due.
    fewer = ["--config", "fewer.yaml"]
    assert main([*fewer, "tick", "--at", "2099-01-01T00:00", "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "Dry run at 2099-01-01T00:00:00+00:00: 15 messages would be sent, 0 updated in place." in dry
    assert "→ #ml-digest: Weekly ML digest · week to Mon 29 Dec 2098" in dry  # 13 check-ins, the digest and a forum announcement
    assert "→ #sales-ml: 📅 Sales × ML review forum · Tue 6 Jan 2099, 15:00 (America/New_York)" in dry  # the forums of 2026 ended unannounced: no notes asked
    assert "→ Dana Kim: Check-in: Churn predictor" in dry
    assert main([*fewer, "tick", "--at", "2099-01-01T00:00", "--dry-run"]) == 0
    assert "15 messages would be sent, 0 updated in place." in capsys.readouterr().out  # the dry run changed nothing

    # With no chat platform to deliver to, a real tick refuses and changes nothing (it used to "send" to the terminal).
    assert main([*fewer, "tick", "--at", "2099-01-01T00:00"]) == 2
    assert "no chat platform is configured, so nothing could be delivered" in capsys.readouterr().err
    assert main([*fewer, "tick", "--at", "2099-01-01T00:00", "--dry-run"]) == 0
    assert "15 messages would be sent, 0 updated in place." in capsys.readouterr().out


def test_read_only_commands_leave_no_database_file_behind(workdir, capsys):
    for command in (["models", "list"], ["digest", "--preview"], ["tick", "--dry-run"]):
        assert main(command) == 2, command
        assert "has no schema yet. Run: mlpulse db upgrade" in capsys.readouterr().err
    assert not list(workdir.glob("mlpulse.db*"))


def test_bad_instant_is_explained(workdir, capsys):
    with pytest.raises(SystemExit):
        main(["tick", "--at", "tomorrow"])
    assert "'tomorrow' is not an ISO 8601 instant" in capsys.readouterr().err


def test_digest_preview_prints_the_digest_and_writes_the_chart(workdir, capsys):
    assert main(["db", "upgrade"]) == 0
    assert main(["digest", "--preview", "--at", "2026-11-23T09:00+00:00", "--out", "chart.png"]) == 0
    out = capsys.readouterr().out
    assert "┌─ Weekly ML digest · week to Mon 23 Nov 2026" in out and "Models in use:" in out
    assert (workdir / "chart.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert main(["digest"]) == 2 and "Use --preview" in capsys.readouterr().err


TICK_YAML = """\
workspace: {timezone: UTC}
digest: {cron: "0 9 * * mon", channel: "#ml-digest"}
leads: [lead]
units: [{name: Sales, contacts: [ana]}]
people:
  - {key: lead, name: Lead, email: lead@example.com, slack: ULEAD}
  - {key: ana, name: Ana, email: ana@example.com, slack: UANA}
  - {key: bo, name: Bo, email: bo@example.com}
models:
  - {key: churn, name: Churn predictor, unit: Sales, owner: lead, stakeholders: [ana, bo]}
"""


async def test_a_tick_from_cron_delivers_through_slack_and_records_each_message_once(workdir, fake_slack, monkeypatch):
    (workdir / "app.yaml").write_text(TICK_YAML)
    assert await asyncio.to_thread(main, ["db", "upgrade"]) == 0
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": "s3cret-for-tests", "SLACK_API_URL": fake_slack.url}

    async def tick(at: str) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "tick", "--at", at, cwd=workdir, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, err.decode()
        return out.decode()

    assert "on slack" in await tick("2099-01-01T00:00")
    dms = [m for m in fake_slack.ok("chat.postMessage") if m["channel"] in ("UANA", "UBO")]
    assert sorted(m["channel"] for m in dms) == ["UANA", "UBO"]  # Bo was found by his email
    assert all("is your team still using Churn predictor?" in json.dumps(m["blocks"]) for m in dms)
    assert any(m["channel"] == "#ml-digest" for m in fake_slack.ok("chat.postMessage"))

    await tick("2099-01-01T00:01")
    keys = Counter(body["metadata"]["event_payload"]["key"] for body in fake_slack.messages.values())
    assert keys and max(keys.values()) == 1  # nothing twice
    engine = create_engine(f"sqlite+aiosqlite:///{workdir / 'mlpulse.db'}")
    try:
        async with session_factory(engine)() as session:
            rows = (await session.exec(select(OutboundMessage))).all()
    finally:
        await engine.dispose()
    assert rows and {(m.status, m.platform) for m in rows} == {("sent", "slack")}
    assert {m.key for m in rows} == set(keys)


def test_debug_logging_keeps_the_payload_loggers_held(workdir, capsys):
    root, before = logging.getLogger(), logging.getLogger().level
    try:
        assert main(["--log-level", "debug", "db", "upgrade"]) == 0
        assert root.level == logging.DEBUG
        for name in ("urllib3", "msrest", "slack_bolt", "sqlalchemy.engine", "aiosqlite"):
            assert logging.getLogger(name).getEffectiveLevel() > logging.DEBUG, name
        assert main(["db", "upgrade"]) == 0 and root.level == logging.INFO
        assert main(["-vv", "db", "upgrade"]) == 0 and root.level == logging.DEBUG
    finally:
        root.setLevel(before)


def test_the_shell_will_not_take_over_a_database_the_bot_delivers_from(workdir, monkeypatch, capsys):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test-token")
    assert main(["shell"]) == 2
    assert "mlpulse shell --demo" in capsys.readouterr().err
