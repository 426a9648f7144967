"""The `mlpulse` command line, run in a clean directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

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
    assert main(["tick"]) == 2
    assert "has no schema yet. Run: mlpulse db upgrade" in capsys.readouterr().err


def test_a_bad_app_yaml_stops_start_up_with_its_location(workdir, capsys):
    (workdir / "app.yaml").write_text("people:\n  - {key: ana, name: Ana}\nleads: [bob]\n")
    assert main(["db", "upgrade"]) == 0
    assert main(["tick"]) == 2
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

    # From here on the bot runs on fewer.yaml (each start syncs its file, so app.yaml would bring staffing back).
    assert main(["--config", "fewer.yaml", "models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "churn · Churn predictor · Sales · Priya Raman" in listing
    assert "staffing · Staffing planner · Customer Care · Tomás Silva · retired" in listing

    # Stakeholders' first check-ins are after the import; a month on, they are all due.
    fewer = ["--config", "fewer.yaml"]
    assert main([*fewer, "tick", "--at", "2099-01-01T00:00", "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "Dry run at 2099-01-01T00:00:00+00:00: 15 message(s) would be sent." in dry
    assert "→ #ml-digest: Weekly ML digest · week to Mon 29 Dec 2098" in dry  # 13 check-ins, the digest and a forum announcement
    assert "→ #sales-ml: 📅 Sales × ML review forum · Tue 6 Jan 2099, 15:00" in dry  # the forums of 2026 ended unannounced: no notes asked
    assert "→ Dana Kim: Check-in: Churn predictor" in dry
    assert main([*fewer, "tick", "--at", "2099-01-01T00:00", "--dry-run"]) == 0
    assert "15 message(s) would be sent." in capsys.readouterr().out  # the dry run changed nothing

    assert main([*fewer, "tick", "--at", "2099-01-01T00:00"]) == 0
    real = capsys.readouterr().out
    assert real.count("→ ") == 15 and "→ #ml-digest:" in real and "Hi Dana, is your team still using Churn predictor?" in real
    assert main([*fewer, "tick", "--at", "2099-01-01T00:01"]) == 0
    assert "→ " not in capsys.readouterr().out  # nothing twice


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
