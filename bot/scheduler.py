"""Bot layer: the APScheduler jobs of a running bot, registered explicitly at start-up.

Two jobs: a tick every minute, which also runs at once on start-up so that whatever
fell due while the bot was down is caught up; and the digest's cron (app.yaml
`digest.cron`, in the workspace time zone), which runs a tick at that very moment.
The tick is what posts the digest, once per channel and week, so a cron moment
missed while the bot was down is caught up by the next tick. The database holds all state, so a
tick that overlaps another (or another replica's) does no harm; `max_instances=1`
and `coalesce` only keep one process from queueing ticks behind a slow one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.runtime import Runtime
from handlers.periods import zone

log = logging.getLogger(__name__)

TICK_SECONDS = 60


def build_scheduler(runtime: Runtime) -> AsyncIOScheduler:
    """Return a scheduler with mlpulse's jobs registered, not yet started."""
    scheduler = AsyncIOScheduler(timezone=UTC)

    async def tick() -> None:
        try:
            result = await runtime.tick()
        except Exception:  # a failed tick must not stop the next one
            log.exception("tick failed; the next one will retry")
            return
        if result.work.created or result.work.reminded or result.work.expired or result.delivery.sent:
            log.info("tick: %s; %s", result.work, result.delivery)

    scheduler.add_job(
        tick,
        IntervalTrigger(seconds=TICK_SECONDS, timezone=UTC),
        id="tick",
        name="check-ins, reminders, expiries, health",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=TICK_SECONDS,
        replace_existing=True,
    )
    if runtime.policy.digest_channel:
        scheduler.add_job(
            tick,
            CronTrigger.from_crontab(runtime.policy.digest_cron, timezone=zone(runtime.policy.timezone)),
            id="digest",
            name="the weekly digest",
            max_instances=1,
            coalesce=True,
            replace_existing=True,
        )
    return scheduler
