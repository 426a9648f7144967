"""app.yaml and the environment: each bad case stops start-up with file, line, field and reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
workspace:
  timezone: Europe/London
checkins:
  every: 2 weeks
  on: [tue]
  at: "10:00"
leads: [priya]
units:
  - name: Sales
    contacts: [dana]
people:
  - {key: priya, name: Priya Raman, email: priya@example.com}
  - {key: dana, name: Dana Kim, email: dana@example.com, timezone: America/New_York}
models:
  - key: churn
    name: Churn predictor
    unit: Sales
    owner: priya
    stakeholders: [dana]
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "DATABASE_URL", "MLPULSE_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_the_shipped_app_yaml_is_valid():
    settings = load_settings(ROOT / "app.yaml")
    assert len(settings.app.units) >= 3 and len(settings.app.models) >= 8
    assert settings.app.checkins.on == ["tue"]  # "on" stays a key, not YAML 1.1's True
    assert settings.policy().default_cadence.describe() == "every 2 weeks on Tuesday at 10:00"


def test_good_file_loads(tmp_path):
    settings = load_settings(write(tmp_path, GOOD))
    assert [m.key for m in settings.app.models] == ["churn"]
    assert settings.has_slack is False and settings.has_teams is False


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "  timezone: Europe/London",
            "  timezone: Europe/Londn",
            "app.yaml:2: workspace.timezone: unknown time zone “Europe/Londn”: use an IANA name such as Europe/Berlin",
        ),
        (
            "  every: 2 weeks",
            "  every: fortnightly",
            "app.yaml:4: checkins.every: invalid 'every' “fortnightly”: use e.g. '2 weeks', 'week', '1 month' or '3 days'",
        ),
        ("  on: [tue]", "  on: [tue, funday]", "app.yaml:5: checkins.on: unknown weekday “funday”: use mon, tue, wed, thu, fri, sat or sun"),
        ('  at: "10:00"', '  at: "25:00"', "app.yaml:6: checkins.at: invalid time “25:00”: use HH:MM, e.g. 10:00"),
        ("leads: [priya]", "leads: [priya, zed]", "app.yaml:7: leads[1]: unknown person 'zed'; declared people: dana, priya"),
        ("    contacts: [dana]", "    contacts: [dana, dan]", "app.yaml:10: units[0].contacts[1]: unknown person 'dan'; declared people: dana, priya"),
        ("    owner: priya", "    owner: pria", "app.yaml:18: models[0].owner: unknown person 'pria'; declared people: dana, priya"),
        ("    unit: Sales", "    unit: Marketing", "app.yaml:17: models[0].unit: unknown unit 'Marketing'; declared units: Sales"),
        (
            "    stakeholders: [dana]",
            "    stakeholders: [dana]\n    colour: blue",
            "app.yaml:20: models[0].colour: unknown field (check the spelling; see the comments in the example app.yaml)",
        ),
        ("    name: Churn predictor\n", "", "app.yaml:15: models[0].name: required field is missing"),
        ("  - key: churn", "  - key: Churn Model", "app.yaml:15: models[0].key: String should match pattern '^[a-z0-9][a-z0-9_.-]{0,63}$'"),
        (
            "{key: dana, name: Dana Kim, email: dana@example.com,",
            "{key: priya, name: Dana Kim, email: dana@example.com,",
            "app.yaml:13: people[1].key: duplicate key 'priya' (also at people[0])",
        ),
        (
            "    contacts: [dana]",
            "    contacts: [dana]\n    forum:\n      every: 1 week\n      on: tue\n      announce: 14d",
            "app.yaml:14: units[0].forum.announce: announcing 14 days ahead is longer than the time between two forums"
            " (every week on Tuesday at 15:00, as little as 7 days apart): use at most 7d",
        ),
        ("email: dana@example.com,", "email: not-an-email,", "app.yaml:13: people[1].email: String should match pattern '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'"),
    ],
)
def test_bad_files_say_where_and_what(tmp_path, old, new, message):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == f"{path.parent}/{message}"


def test_yaml_syntax_errors_name_the_line(tmp_path):
    path = write(tmp_path, GOOD.replace("units:", "units: [", 1))
    with pytest.raises(ConfigError, match=r"app\.yaml:\d+: not valid YAML"):
        load_settings(path)


def test_secrets_are_refused_in_the_file(tmp_path):
    path = write(tmp_path, GOOD + "slack_bot_token: xoxb-123\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).endswith("app.yaml:20: slack_bot_token: secrets do not belong in app.yaml; set them in the environment (e.g. SLACK_BOT_TOKEN)")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found. Copy the app.yaml"):
        load_settings(tmp_path / "nope.yaml")


def test_placeholder_secrets_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-your-token-here")
    with pytest.raises(ConfigError, match="environment variable SLACK_BOT_TOKEN: Value error, looks like a placeholder"):
        load_settings(write(tmp_path, GOOD))


def test_secrets_and_database_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1234-real")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/mlpulse")
    monkeypatch.setenv("MLPULSE_CONFIG", str(write(tmp_path, GOOD)))
    settings = load_settings()
    assert not settings.has_slack  # a bot token alone cannot receive anything
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5")
    settings = load_settings()
    assert settings.has_slack and settings.slack_bot_token.get_secret_value() == "xoxb-1234-real"
    assert settings.database_url == "postgresql://db.internal/mlpulse"
    assert "xoxb" not in repr(settings)
