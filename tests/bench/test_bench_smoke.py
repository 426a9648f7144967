"""The benchmark harness itself runs, on a tiny portfolio, so that it cannot rot unnoticed."""

from __future__ import annotations

from bench.portfolio import Size
from bench.run import bench_backend


async def test_benchmark_runs_end_to_end_on_a_tiny_portfolio(tmp_path):
    size = Size(models=20, units=4, people=200, answers=400, reports=50)
    result = await bench_backend("sqlite", size, repeat=5, tmp=tmp_path)
    assert result["answers"] == 400
    assert result["tick_due"]["due"] == 80  # every stakeholder link of the tiny portfolio
    assert result["answer"]["n"] >= 5 and result["answer"]["p99_ms"] > 0
    assert result["status_small"]["answers"] == 40 and result["status_growth_p95"] > 0


async def test_slack_fan_out_killed_half_way_ends_with_each_message_exactly_once(tmp_path):
    from bench.slack import fan_out

    result = await fan_out(count=40, scale=20, kill_after=20, where=tmp_path)
    assert (result["accepted_by_slack"], result["distinct"], result["duplicates"], result["lost"]) == (40, 40, 0, 0)
    assert result["recorded_sent"] == 40


async def test_slack_fan_out_by_two_replicas_sends_each_message_once_with_and_without_sharing(tmp_path):
    from bench.slack import fan_out_two_replicas

    for shared in (True, False):
        result = await fan_out_two_replicas(count=40, scale=20, shared=shared, where=tmp_path)
        assert (result["accepted_by_slack"], result["distinct"], result["duplicates"], result["lost"], result["recorded_sent"]) == (40, 40, 0, 0, 40)
        assert sum(replica["sent"] for replica in result["replicas"]) == 40


async def test_digest_benchmark_builds_a_digest_with_a_chart_on_a_tiny_portfolio(tmp_path):
    from bench.digest import measure

    result = await measure("sqlite", 20, repeat=1, tmp=tmp_path)
    assert result["models"] == 20 and result["health_events"] == 20 * 6
    assert result["median_ms"] > 0 and result["peak_mib"] > 0


async def test_agenda_benchmark_builds_both_agendas_on_a_tiny_portfolio(tmp_path):
    from bench.agenda import measure

    result = await measure("sqlite", 50, repeat=2, tmp=tmp_path)
    # The busy unit's agenda is capped per kind: 8 reports and a "more" line, 8 topics and a "more" line, and so on.
    assert result["busy"]["lines"] > result["quiet"]["lines"] >= 5
    assert result["busy"]["p95_ms"] > 0


async def test_teams_fan_out_through_throttling_sends_each_check_in_once(tmp_path):
    from bench.teams import fan_out

    result = await fan_out(count=60, scale=4, kill_after=None, where=tmp_path, throttle_every=10)
    assert result["refused_429"] >= 5  # every 10th call is refused: waited out, then sent
    assert (result["accepted_by_connector"], result["distinct"], result["duplicates"], result["lost"], result["recorded_sent"]) == (60, 60, 0, 0, 60)


async def test_teams_fan_out_killed_half_way_loses_nothing(tmp_path):
    from bench.teams import fan_out
    from bot.teams.messenger import TeamsMessenger

    result = await fan_out(count=60, scale=4, kill_after=30, where=tmp_path)
    assert (result["distinct"], result["lost"], result["recorded_sent"]) == (60, 0, 60)
    # Teams cannot be asked what a bot sent, so a send in flight at the kill may go twice (see bot/teams/messenger.py).
    assert result["duplicates"] <= TeamsMessenger.concurrency


async def test_keeping_messages_live_coalesces_a_burst_and_rewrites_every_copy(tmp_path):
    from bench.live import PRESSES, measure

    result = await measure(tmp_path)
    burst, report = result["rsvp_burst"], result["report_resolved"]
    assert burst["last_shows_all"] and 1 <= burst["chat_update_calls"] < PRESSES / 5
    assert (report["live_messages"], report["chat_update_calls"], report["all_show_outcome"]) == (5, 5, True)
