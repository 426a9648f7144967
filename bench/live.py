"""The cost of keeping messages live, through the real Slack messenger and the fake Slack Web API.

    python -m bench.live [--repeat N]

Two figures, each beside a baseline measured in the same run:

- **A report with five live messages, resolved**: the owner's DM and the critical
  alert to four leads, all rewritten in place. Timed from the resolving submit to
  the last `chat.update`, against sending five new messages of the same size
  through the same messenger.
- **An RSVP burst**: 50 people press *Going* on one announcement at once, each press
  followed by the drain the Slack wiring starts after it. Reported: how many
  `chat.update` calls the announcement took (coalescing makes a handful, not 50),
  whether the last one shows all 50, and the burst's time against the same 50
  presses on a forum whose announcement nobody can see (nothing to update).

The database is SQLite in a temporary directory; the pace is the messenger's own
(one call a second per channel), as it is in production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench.run import ms
from bot.clock import ManualClock
from bot.config import Settings
from bot.runtime import Runtime
from bot.slack.directory import SlackDirectory
from bot.slack.messenger import SlackMessenger, web_client
from handlers import router
from handlers.actions import ActionId, FormId
from handlers.declarations import PortfolioDecl
from storage import delivery as delivery_store
from storage import people as people_store
from storage.migrate import upgrade
from storage.models import MessageKind
from tests.fakes.slack import FakeSlack, start_fake_slack

PRESSES = 50
LEADS = 4
NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)  # within a week of the forum on the first Tuesday of April


def portfolio(channel: str | None) -> PortfolioDecl:
    """One unit with a monthly forum (announced in `channel`, or to nobody), four leads, an owner and 50 contacts."""
    people = [{"key": f"p{i}", "name": f"Person {i}", "email": f"p{i}@example.com"} for i in range(PRESSES)]
    leads = [{"key": f"lead{i}", "name": f"Lead {i}", "email": f"lead{i}@example.com"} for i in range(LEADS)]
    owner = {"key": "owner", "name": "Owner", "email": "owner@example.com"}
    forum = {"every": "1 month", "on": "first tue", "at": "15:00", "duration": "60m", "announce": "7d"}
    return PortfolioDecl.model_validate(
        {
            "people": [owner, *leads, *people],
            "leads": [p["key"] for p in leads],
            "units": [{"name": "Sales", "channel": channel, "contacts": [], "forum": forum}],
            "models": [{"key": "churn", "name": "Churn predictor", "unit": "Sales", "owner": "owner", "stakeholders": ["p0"]}],
        }
    )


async def start(where: Path, channel: str | None, fake: FakeSlack) -> Runtime:
    url = f"sqlite+aiosqlite:///{where}"
    await asyncio.to_thread(upgrade, url)
    client = web_client("xoxb-test-token", fake.url)  # the token the fake accepts
    runtime = await Runtime.start(Settings(app=portfolio(channel)), None, ManualClock(NOW), url=url)
    runtime.policy = replace(runtime.policy, platforms=("slack",))
    runtime.directory = SlackDirectory(runtime, client)
    runtime.messenger = SlackMessenger(client, runtime.directory)
    return runtime


async def person_id(runtime: Runtime, key: str) -> int:
    async with runtime.sessions() as session:
        return (await people_store.get_person_by_key(session=session, key=key)).id


def updates(fake: FakeSlack, ts: str | None = None) -> list[dict]:
    return [u for u in fake.ok("chat.update") if ts is None or u["ts"] == ts]


async def rsvp_burst(runtime: Runtime, fake: FakeSlack) -> dict:
    """Announce the forum, then press Going 50 times at once; return the time and the updates it took."""
    await runtime.tick(NOW)
    async with runtime.sessions() as session:
        announced = await delivery_store.list_messages(session=session, kind=MessageKind.FORUM_ANNOUNCE, subject_id=1)
    ts = announced[0].message_id if announced else None
    people = [await person_id(runtime, f"p{i}") for i in range(PRESSES)]
    before = len(updates(fake, ts)) if ts else 0
    started = time.perf_counter()

    async def press(pid: int) -> None:
        await runtime.act(pid, "slack", router.handle_action, ActionId.FORUM_RSVP_GOING, "1", request_id=f"bench:{pid}")
        runtime.deliver_soon()  # as the Slack wiring does after every interaction

    await asyncio.gather(*(press(pid) for pid in people))
    await runtime.settle()
    await runtime.deliver(wait=True)
    elapsed = time.perf_counter() - started
    made = updates(fake, ts)[before:] if ts else []
    last = json.dumps(made[-1], ensure_ascii=False) if made else ""
    return {"presses": PRESSES, "seconds": round(elapsed, 3), "chat_update_calls": len(made), "last_shows_all": f"{PRESSES} going" in last}


async def resolve_report(runtime: Runtime, fake: FakeSlack) -> dict:
    """File a critical report (the owner's DM and four leads' alerts), then resolve it; time the five updates."""
    reporter = await person_id(runtime, "p0")
    owner = await person_id(runtime, "owner")
    values = {"model": "churn", "what_happened": "Scores are all 0.5.", "since": "2026-03-28", "impact": "critical", "frequency": "always"}
    await runtime.act(reporter, "slack", router.handle_submit, FormId.REPORT, "{}", values)
    sent_at = time.perf_counter()
    await runtime.deliver(wait=True)
    sent = time.perf_counter() - sent_at
    async with runtime.sessions() as session:
        live = [
            m
            for kind in (MessageKind.REPORT_NEW, MessageKind.REPORT_CRITICAL)
            for m in await delivery_store.list_messages(session=session, kind=kind, subject_id=1)
        ]
    before = len(updates(fake))
    done = {"status": "wont_fix", "resolution": "The scores are right: these customers did churn."}
    started = time.perf_counter()
    await runtime.act(owner, "slack", router.handle_submit, FormId.REPORT_UPDATE, "1", done)
    await runtime.deliver(wait=True)
    elapsed = time.perf_counter() - started
    made = updates(fake)[before:]
    return {
        "live_messages": len(live),
        "chat_update_calls": len(made),
        "all_show_outcome": len(made) == len(live) and all("Won't fix" in json.dumps(u, ensure_ascii=False) for u in made),
        "resolve_ms": ms(elapsed),
        "baseline_send_ms": ms(sent),
        "ratio": round(elapsed / sent, 2) if sent else None,
    }


async def measure(tmp: Path) -> dict:
    fake = FakeSlack()
    for key, name in [("owner", "Owner"), *((f"lead{i}", f"Lead {i}") for i in range(LEADS)), *((f"p{i}", f"Person {i}") for i in range(PRESSES))]:
        fake.add_user(f"U{key.upper()}", f"{key}@example.com", name)
    runner = await start_fake_slack(fake)
    try:
        live = await start(tmp / "live.db", "C0SALES", fake)
        try:
            burst = await rsvp_burst(live, fake)
        finally:
            await live.close()
        quiet = await start(tmp / "quiet.db", None, fake)  # no channel and no contacts: nobody sees the announcement
        try:
            baseline = await rsvp_burst(quiet, fake)
            report = await resolve_report(quiet, fake)
        finally:
            await quiet.close()
    finally:
        await runner.cleanup()
    burst["baseline_seconds"] = baseline["seconds"]
    burst["ratio"] = round(burst["seconds"] / baseline["seconds"], 2) if baseline["seconds"] else None
    return {"rsvp_burst": burst, "report_resolved": report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1, help="runs to make; each prints its figures")
    args = parser.parse_args()
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(asyncio.run(measure(Path(tmp))), indent=2))


if __name__ == "__main__":
    main()
