"""Handlers layer: the weekly digest, posted once per channel and week.

The digest's cron (app.yaml `digest.cron`, in the workspace time zone) names the
moments it is due. Every tick asks whether such a moment passed in the last seven
days; if so it claims the digest of that ISO week for the channel with a unique key
(`Digest`, channel + week) and queues its message in the same transaction. So a
restarted process, a tick that runs hours late, and two replicas on one PostgreSQL
all end with one post: whoever inserts the claim first queues it, everyone else
inserts nothing. A bot that was down for three weeks posts the current week only,
and a new install posts nothing until the first cron moment after it began.

The content is computed when the message is sent: the week's figures for the seven
days up to the cron moment, against the seven days before; the portfolio's counts by
health, and the models that need attention, as they are at sending, counted exactly
as `/mlstatus` counts them (`count_portfolio`), so the two never disagree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from apscheduler.triggers.cron import CronTrigger
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import ActionId
from handlers.charts import health_chart
from handlers.context import Outgoing, Policy
from handlers.health import ATTENTION, HEALTH_EMOJI, Health, PortfolioCounts, count_portfolio
from handlers.periods import zone
from handlers.scheduled import BATCH, TickReport
from handlers.text import day, percent, when
from handlers.views import Attachment, Button, Field, Message, Section
from storage import checkins as checkin_store
from storage import delivery as delivery_store
from storage import forums as forum_store
from storage import portfolio as portfolio_store
from storage import reports as report_store
from storage import stories as story_store
from storage.models import MessageKind

WEEK = timedelta(days=7)
CHART_WEEKS = 12
ATTENTION_ROWS = 8
# A cron that fires every minute would otherwise be walked 10,080 times a tick.
MAX_CRON_STEPS = 2_000


@lru_cache(maxsize=8)
def _trigger(cron: str, timezone: str) -> CronTrigger:
    """Parse the digest cron once; every tick asks it when the digest is due."""
    return CronTrigger.from_crontab(cron, timezone=zone(timezone))


def digest_moment(policy: Policy, now: datetime) -> datetime | None:
    """Return the latest moment of the digest cron in the seven days up to `now`, or None."""
    trigger = _trigger(policy.digest_cron, policy.timezone)
    moment = trigger.get_next_fire_time(None, now - WEEK)
    latest = None
    for _ in range(MAX_CRON_STEPS):
        if moment is None or moment > now:
            break
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return latest


def next_digest_at(policy: Policy, now: datetime) -> datetime | None:
    """Return the next moment of the digest cron after `now`, or None without a digest channel."""
    if not policy.digest_channel:
        return None
    moment: datetime | None = _trigger(policy.digest_cron, policy.timezone).get_next_fire_time(None, now + timedelta(seconds=1))
    return moment


def week_key(moment: datetime, policy: Policy) -> str:
    """Return the ISO week of a moment in the workspace time zone, e.g. '2026-W48'."""
    year, week, _ = moment.astimezone(zone(policy.timezone)).isocalendar()
    return f"{year}-W{week:02d}"


async def handle_digest_due(session: AsyncSession, policy: Policy, now: datetime, batch: int = BATCH) -> TickReport:
    """Claim and queue this week's digest if its moment has passed and nobody claimed it yet."""
    channel = policy.digest_channel
    moment = digest_moment(policy, now) if channel else None
    if channel is None or moment is None:
        return TickReport()
    installed = await portfolio_store.get_installed_at(session=session)
    if installed is None or moment < installed:  # a week that ended before this install existed has nothing to report
        return TickReport()
    week = week_key(moment, policy)
    digest_id = await delivery_store.create_digest(session=session, channel=channel, week_key=week, covers_until=moment, now=now)
    if digest_id is None:
        return TickReport()
    await delivery_store.create_message(
        session=session,
        key=f"digest:{channel}:{week}",
        kind=MessageKind.DIGEST_POST,
        subject_id=digest_id,
        channel=channel,
        not_before=now,
    )
    return TickReport(digests=1)


@dataclass(frozen=True)
class Numbers:
    """A headline figure this week and the week before."""

    now: float | int | None
    before: float | int | None


def _change(numbers: Numbers, rate: bool = False) -> str:
    shown = percent if rate else str
    if numbers.now is None:
        return "—"
    if numbers.before is None:
        return f"{shown(numbers.now)} (no figure last week)"
    delta = numbers.now - numbers.before
    if abs(delta) < 1e-9:
        return f"{shown(numbers.now)} (same as last week)"
    arrow = "▲" if delta > 0 else "▼"
    amount = f"{abs(delta) * 100:.0f} pts" if rate else str(abs(delta))
    return f"{shown(numbers.now)} ({arrow} {amount} from {shown(numbers.before)})"


async def health_by_week(session: AsyncSession, until: datetime, weeks: int = CHART_WEEKS) -> list[tuple[datetime, Counter[str]]]:
    """Count the models in each health at the end of each of the last `weeks` weeks up to `until`."""
    instants = [until - WEEK * k for k in range(weeks - 1, -1, -1)]
    timeline = await portfolio_store.list_health_timeline(session=session, since=instants[0], until=until + timedelta(microseconds=1))
    lifetimes = await portfolio_store.list_model_lifetimes(session=session, until=until + timedelta(microseconds=1))
    changes: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for model_id, health, at in timeline:
        changes[model_id].append((at, health))
    counts: list[Counter[str]] = [Counter() for _ in instants]
    for model_id, created, retired in lifetimes:
        events, position, health = changes.get(model_id, []), 0, Health.UNKNOWN.value
        for index, instant in enumerate(instants):
            while position < len(events) and events[position][0] <= instant:
                health = events[position][1]
                position += 1
            if created <= instant and (retired is None or retired > instant):
                counts[index][health] += 1
    return list(zip(instants, counts, strict=True))


async def build_digest(session: AsyncSession, policy: Policy, until: datetime) -> Message:
    """Return the digest of the seven days up to `until`: numbers, attention, forums, stories and the chart."""
    tz = zone(policy.timezone)
    since, before = until - WEEK, until - 2 * WEEK
    # The portfolio as it is now, as /mlstatus counts it, is the chart's last column: the
    # headline, the chart and /mlstatus agree even when the post goes out after its moment.
    counts = await count_portfolio(session)
    weekly = await health_by_week(session, until)
    weekly[-1] = (weekly[-1][0], counts.by_health)
    in_use = Numbers(counts.in_use, PortfolioCounts(weekly[-2][1]).in_use)

    def rate(answered: int, expired: int) -> float | None:
        return answered / (answered + expired) if answered + expired else None

    response = Numbers(
        rate(*await checkin_store.count_closed_checkins(session=session, since=since, until=until)),
        rate(*await checkin_store.count_closed_checkins(session=session, since=before, until=since)),
    )
    new = Numbers(
        await report_store.count_reports_created(session=session, since=since, until=until),
        await report_store.count_reports_created(session=session, since=before, until=since),
    )
    resolved = Numbers(
        await report_store.count_reports_resolved(session=session, since=since, until=until),
        await report_store.count_reports_resolved(session=session, since=before, until=since),
    )
    sections = [
        Section(
            fields=(
                Field("Models in use", _change(in_use)),
                Field("Response rate", _change(response, rate=True)),
                Field("New reports", _change(new)),
                Field("Resolved reports", _change(resolved)),
            )
        )
    ]
    total = counts.attention
    attention = await portfolio_store.list_models(session=session, healths=ATTENTION, limit=ATTENTION_ROWS)
    sections.append(Section(text=f"Needs attention ({total}):" if total else "Nothing needs attention this week."))
    sections += [
        Section(
            text=f"{HEALTH_EMOJI[Health(m.health)]} {m.name} ({unit.name}, owner {owner.display_name}) — {m.health}: {m.health_reason}",
            buttons=(Button(ActionId.STATUS_MODEL, "Details", str(m.id)),),
        )
        for m, unit, owner in attention
    ]
    if total > len(attention):
        sections.append(Section(text=f"… and {total - len(attention)} more: /mlstatus shows them all."))
    forums = await forum_store.list_upcoming_sessions(session=session, after=until, unit_ids=None, limit=5)
    sections.append(
        Section(
            text="Upcoming forums:\n" + "\n".join(f"• {unit.name}: {when(s.starts_at, tz)}" for s, unit in forums)
            if forums
            else "Upcoming forums: none scheduled."
        )
    )
    stories = await story_store.list_stories_posted_between(session=session, since=since, until=until)
    sections.append(
        Section(
            text="This week's stories:\n" + "\n".join(f"• 🎉 {s.headline} ({m.name})" for s, m in stories)
            if stories
            else "This week's stories: none yet. /mlstory tells one."
        )
    )

    local_end = until.astimezone(tz).date()
    chart = health_chart([t.astimezone(tz).date() for t, _ in weekly], [c for _, c in weekly], f"Portfolio health, {CHART_WEEKS} weeks to {day(local_end)}")
    return Message(
        title=f"Weekly ML digest · week to {day(local_end)}",
        text=counts.line(),
        sections=tuple(sections),
        footer="The week's figures cover the seven days to the digest's time, against the seven days before; the health counts are the portfolio as it is now.",
        attachments=(Attachment(f"portfolio-health-{local_end.isoformat()}.png", chart, f"Portfolio health, last {CHART_WEEKS} weeks"),),
    )


OUTBOUND = (MessageKind.DIGEST_POST,)


async def render_outbound(session: AsyncSession, out: Outgoing) -> Message | None:
    """Return the digest a queued post is for, or None if its claim is gone."""
    digest = await delivery_store.get_digest(session=session, digest_id=out.subject_id)
    if digest is None:
        return None
    return await build_digest(session, out.policy, digest.covers_until or digest.created_at)
