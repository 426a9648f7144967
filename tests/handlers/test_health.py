"""The health rules: every state reached from answer histories, and the deprecation rule."""

from __future__ import annotations

import pytest

from handlers.health import Health, Settled, evaluate_health


def history(*periods: dict[int, str | None]) -> list[Settled]:
    """Build settled check-ins, newest period first: each dict maps person → answer (None = silence)."""
    out = []
    for index, answers in enumerate(periods):
        key = f"2026-{12 - index:02d}-01"
        out += [Settled(person, key, answer, None) for person, answer in answers.items()]
    return out


@pytest.mark.parametrize(
    "settled, serious, expected",
    [
        ([], 0, Health.UNKNOWN),
        (history({1: "works", 2: "works"}), 0, Health.HEALTHY),
        (history({1: "works", 2: None}), 0, Health.HEALTHY),
        (history({1: "problems", 2: "works"}), 0, Health.DEGRADED),
        (history({1: "works"}), 1, Health.DEGRADED),
        ([], 1, Health.DEGRADED),
        (history({1: "stopped", 2: "works"}), 0, Health.ABANDONED),
        (history({1: "stopped", 2: "works", 3: "works"}), 0, Health.HEALTHY),
        (history({1: None, 2: None}), 0, Health.SILENT),
        (history({1: None}, {1: "works"}), 0, Health.SILENT),
        (history({1: "not_me"}, {1: "works"}), 0, Health.HEALTHY),
    ],
    ids=[
        "no-data",
        "all-works",
        "some-silent",
        "problems",
        "serious-report",
        "report-only",
        "half-stopped",
        "minority-stopped",
        "all-silent",
        "latest-silent",
        "not-me-ignored",
    ],
)
def test_health_states(settled, serious, expected):
    assert evaluate_health(settled, serious).health == expected


def test_low_satisfaction_degrades():
    settled = [Settled(1, "2026-12-01", "works", 2), Settled(2, "2026-12-01", "works", 1)]
    verdict = evaluate_health(settled, 0)
    assert verdict.health == Health.DEGRADED
    assert "satisfaction 1.5" in verdict.reason


def test_only_the_latest_answer_of_each_person_counts():
    # Person 1 had problems last period but says it works now.
    assert evaluate_health(history({1: "works"}, {1: "problems"}), 0).health == Health.HEALTHY


def test_response_rate():
    assert evaluate_health(history({1: "works", 2: None}, {1: None, 2: None}), 0).response_rate == 0.25
    assert evaluate_health([], 0).response_rate is None


def test_deprecation_after_two_stopped_periods():
    assert evaluate_health(history({1: "stopped", 2: "stopped"}, {1: "stopped", 2: "works"}), 0).deprecation
    assert evaluate_health(history({1: "stopped", 2: "works"}, {1: "stopped", 2: "works"}), 0).deprecation
    assert evaluate_health(history({1: "stopped"}, {1: "works"}), 0).deprecation is None
    assert evaluate_health(history({1: "stopped", 2: "works", 3: "works"}, {1: "stopped"}), 0).deprecation is None


def test_deprecation_after_three_silent_periods():
    silent = {1: None, 2: None}
    assert "no stakeholder answered" in evaluate_health(history(silent, silent, silent), 0).deprecation
    assert evaluate_health(history(silent, silent, {1: "works", 2: None}), 0).deprecation is None
    assert evaluate_health(history(silent, silent), 0).deprecation is None


@pytest.mark.parametrize(
    "settled, serious, reason",
    [
        (history({1: "problems", 2: "problems"}), 0, "2 of 2 stakeholders report problems"),
        (history({1: "problems", 2: "works"}), 0, "1 of 2 stakeholders reports problems"),
        (history({1: "stopped"}), 0, "1 of 1 stakeholder says they stopped using it"),
        (history({1: "works", 2: "works", 3: None}), 0, "2 of 2 stakeholders say it works well"),
        (history({1: "works"}), 1, "1 major or critical report open"),
        (history({1: "works"}), 2, "2 major or critical reports open"),
        (history({1: None}), 0, "no answer to the last check-in from 1 stakeholder"),
        (history({1: None, 2: None}), 0, "no answer to the last check-in from 2 stakeholders"),
    ],
)
def test_health_reasons_say_who_reported_what_in_real_plurals(settled, serious, reason):
    assert evaluate_health(settled, serious).reason == reason
