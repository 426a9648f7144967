"""The digest on Slack: the message in the digest channel and its chart through the external-upload flow."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

MONDAY_9 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


async def test_the_digest_posts_once_with_its_chart_uploaded(fake_slack, slack_runtime):
    slack_runtime.policy = replace(slack_runtime.policy, digest_channel="C0DIGEST", digest_cron="0 9 * * mon")
    await slack_runtime.tick(MONDAY_9)
    await slack_runtime.tick(MONDAY_9.replace(minute=5))
    posts = [m for m in fake_slack.ok("chat.postMessage") if m["channel"] == "C0DIGEST"]
    assert len(posts) == 1
    assert posts[0]["blocks"][0]["text"]["text"] == "Weekly ML digest · week to Mon 9 Mar 2026"
    [(channel, files)] = fake_slack.shared
    assert channel == "C0DIGEST" and files[0]["title"] == "Portfolio health, last 12 weeks"
    assert fake_slack.uploads[files[0]["id"]].startswith(b"\x89PNG\r\n\x1a\n")
    [ask] = fake_slack.ok("files.getUploadURLExternal")
    assert ask["filename"] == "portfolio-health-2026-03-09.png" and int(ask["length"]) == len(fake_slack.uploads[files[0]["id"]])
