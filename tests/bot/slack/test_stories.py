"""Success stories on Slack: the modal with its people picker, approval in the DM, the post with mentions."""

from __future__ import annotations

import json
from dataclasses import replace

from sqlmodel import select

from storage import stories as story_store
from storage.models import SuccessStory
from tests.bot.slack.requests import command, interaction, opened_modal, option, press, submission, text, until, untouched


async def test_a_story_is_submitted_approved_in_the_dm_and_posted_with_mentions(bot, fake_slack, slack_runtime, sessions):
    slack_runtime.policy = replace(slack_runtime.policy, stories_channel="C0WINS")
    await command(bot, fake_slack, "UANA", "churn", name="/mlstory")
    await until(lambda: fake_slack.ok("views.open"))
    modal, view_id = opened_modal(fake_slack, "story.submit")
    picker = next(b for b in modal["blocks"] if b.get("block_id") == "contributors")["element"]
    assert picker["type"] == "multi_users_select"

    values = {
        "model": option("churn"),
        "headline": text("Churn down 3 points"),
        "business_change": text("Calls go to the riskiest accounts first."),
        "impact_metric": text("Monthly churn"),
        "impact_value": text("-3 points"),
        "contributors": {"type": "multi_users_select", "selected_users": ["UANA", "UBO"]},
    }
    assert (await interaction(bot, submission("UANA", modal, view_id, values))).status == 200
    await until(lambda: any(m["channel"] == "UOWNER" for m in fake_slack.ok("chat.postMessage")))
    review = next(c for c in fake_slack.calls if c.method == "chat.postMessage" and c.body["channel"] == "UOWNER")
    approve = next(e for b in review.body["blocks"] if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == "Approve")

    await interaction(bot, press("UOWNER", review.response["channel"], review.response["ts"], approve["action_id"], approve["value"]))
    await until(lambda: any(m["channel"] == "C0WINS" for m in fake_slack.ok("chat.postMessage")))
    post = next(m for m in fake_slack.ok("chat.postMessage") if m["channel"] == "C0WINS")
    assert post["blocks"][0]["text"]["text"] == "🎉 Churn down 3 points"
    assert any(b.get("text", {}).get("text") == "<@UANA>, <@UBO>" for b in post["blocks"])
    await until(lambda: {"UANA", "UBO"} <= {m["channel"] for m in fake_slack.ok("chat.postMessage")})
    assert "Your work was featured" in json.dumps([m for m in fake_slack.ok("chat.postMessage") if m["channel"] == "UBO"])
    updated = fake_slack.ok("chat.update")[-1]
    assert updated["ts"] == review.response["ts"] and "Approved by Owner" in json.dumps(updated)
    # The approval's own answer mentions the contributors, as the posted story does (so Slack pings them, as Teams does).
    assert any(b.get("text", {}).get("text") == "<@UANA>, <@UBO>" for b in updated["blocks"])
    async with sessions() as session:
        [story] = (await session.exec(select(SuccessStory))).all()
    assert story.status == "approved"


async def test_an_edit_that_changes_nothing_keeps_every_field_and_contributor(bot, fake_slack, sessions):
    await command(bot, fake_slack, "UANA", "churn", name="/mlstory")
    await until(lambda: fake_slack.ok("views.open"))
    modal, view_id = opened_modal(fake_slack, "story.submit")
    values = {
        "model": option("churn"),
        "headline": text("Churn down 3 points"),
        "business_change": text("Calls go to the riskiest accounts first."),
        "impact_metric": text("Monthly churn"),
        "impact_value": text("-3 points"),
        "contributors": {"type": "multi_users_select", "selected_users": ["UANA", "UBO"]},
    }
    await interaction(bot, submission("UANA", modal, view_id, values))
    await until(lambda: any(m["channel"] == "UOWNER" for m in fake_slack.ok("chat.postMessage")))
    async with sessions() as session:
        [before] = (await session.exec(select(SuccessStory))).all()
        credited = {p.key for p in await story_store.list_contributors(session=session, story_id=before.id)}
    review = next(c for c in fake_slack.calls if c.method == "chat.postMessage" and c.body["channel"] == "UOWNER")
    edit = next(e for b in review.body["blocks"] if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == "Edit")

    await interaction(bot, press("UOWNER", review.response["channel"], review.response["ts"], edit["action_id"], edit["value"]))
    await until(lambda: len(fake_slack.ok("views.open")) == 2)
    modal, view_id = opened_modal(fake_slack, "story.submit")
    picker = next(b for b in modal["blocks"] if b.get("block_id") == "contributors")["element"]
    assert picker["initial_users"] == ["UANA", "UBO"]
    assert (await interaction(bot, submission("UOWNER", modal, view_id, untouched(modal)))).status == 200
    await until(lambda: fake_slack.ok("chat.update"))

    async with sessions() as session:
        [after] = (await session.exec(select(SuccessStory))).all()
        kept = {p.key for p in await story_store.list_contributors(session=session, story_id=after.id)}
    assert len(credited) == 2 and kept == credited
    fields = ("model_id", "headline", "business_change", "impact_metric", "impact_value", "status")
    assert {f: getattr(after, f) for f in fields} == {f: getattr(before, f) for f in fields}
