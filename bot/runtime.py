"""Bot layer: the running bot's shared pieces, and the one place that opens sessions.

Every platform turns an incoming event into a call of `Runtime.act`, which opens a
session, builds the handler `Context`, runs the handler and commits. If the database
is unreachable the person is told to try again and nothing changes: their check-in
stays pending and its buttons stay where they were.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.delivery import LEASE, DeliveryReport, Messenger, deliver_due, new_sender_id
from bot.logs import hold_payload_loggers
from handlers.context import Context, MessageRef, Policy
from handlers.digest import build_digest, next_digest_at
from handlers.forums import next_forum_event_at
from handlers.jobs import TICK_STEPS
from handlers.outbound import handle_outbound
from handlers.registry import SyncReport, handle_sync
from handlers.scheduled import BATCH, TickReport
from handlers.views import Message, Reply, notice, retry
from storage import checkins as checkin_store
from storage import delivery as delivery_store
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage.db import DATABASE_ERRORS, abandon_after, create_engine, ensure_migrated, run_in_transaction, run_within, session_factory
from storage.models import Delivery, Person

log = logging.getLogger(__name__)

TRY_AGAIN = "Sorry, I could not save that just now (the database did not answer). Nothing was changed; please try again in a minute."
ALREADY_RECORDED = "That was already recorded; nothing else was changed."
UNSTORABLE = "That contains characters that cannot be saved (such as a NUL character). Nothing was changed; please remove them and try again."
# How long a person waits for an answer before being told to try again; a Slack form
# must be answered within 3 seconds, so its submissions get less (see bot.slack.app).
INTERACTION_TIMEOUT = 5.0
CLOSE_WAIT = 5.0

Handler = Callable[..., Awaitable[Reply]]


@dataclass
class TickResult:
    work: TickReport
    delivery: DeliveryReport


async def run_tick(sessions, policy: Policy, now: datetime, batch: int = BATCH, steps=TICK_STEPS) -> TickReport:
    """Do all the work of a tick at `now`, each step batch by batch, each batch in its own transaction.

    A step that raises is logged and left for the next tick; its batch rolls back, and
    the other steps (and the delivery after them) still run, so one broken forum cannot
    hold up every check-in and the digest.
    """
    total = TickReport()
    for step in steps:
        try:
            while True:
                report = await run_in_transaction(sessions, lambda session, step=step: step(session, policy, now, batch))
                total += report
                if not report.more:
                    break
        except Exception:
            log.exception("tick step %s failed; the other steps go on, and the next tick retries it", step.__name__)
            total.failed.append(step.__name__)
    total.more = False
    return total


class Runtime:
    """The engine, session maker, settings, clock and messenger of one bot process."""

    def __init__(self, settings: Settings, engine: AsyncEngine, messenger: Messenger | None, clock: Clock | None = None):
        hold_payload_loggers()
        self.settings = settings
        self.engine = engine
        self.sessions = session_factory(engine)
        self.messenger = messenger
        self.clock = clock or SystemClock()
        self.policy: Policy = settings.policy()
        self.last_sync: SyncReport | None = None
        self.lease = LEASE
        self.steps = TICK_STEPS
        self.interaction_timeout = INTERACTION_TIMEOUT
        self.sender = new_sender_id()
        self._drained: asyncio.Future | None = None  # set while this process is draining the outbox
        self._deliver_again = False
        # Work left running: sends after an interaction, and work given up on a database
        # that did not answer in time. It must end before the engine closes.
        self.background: set[asyncio.Future] = set()

    @classmethod
    async def start(cls, settings: Settings, messenger: Messenger | None, clock: Clock | None = None, url: str | None = None, *, sync: bool = True) -> Runtime:
        """Connect to the configured database, refuse an un-migrated one, and (unless told not to) sync app.yaml into it.

        Commands that only read (`models list`, `digest --preview`, `tick --dry-run`)
        pass `sync=False`: they show the database as it is, and change nothing in it.
        """
        engine = create_engine(url or settings.database_url)
        try:
            await ensure_migrated(engine)
        except Exception:
            await engine.dispose()
            raise
        runtime = cls(settings, engine, messenger, clock)
        if sync:
            runtime.last_sync = await runtime.sync()
            log.info("synced %s: %s", settings.mlpulse_config, runtime.last_sync.summary())
        return runtime

    async def close(self) -> None:
        """Let what runs in the background end (for a few seconds at most), then close the database connections."""
        if self.background:
            await asyncio.wait(self.background, timeout=CLOSE_WAIT)
        await self.engine.dispose()

    async def sync(self) -> SyncReport:
        """Bring the database in line with app.yaml."""
        return await run_in_transaction(self.sessions, lambda session: handle_sync(session, self.settings.app, self.policy, self.clock.now()))

    def context(
        self, actor: Person, platform: str, conversation: str | None = None, request_id: str | None = None, origin: MessageRef | None = None
    ) -> Context:
        return Context(
            actor=actor, now=self.clock.now(), platform=platform, conversation=conversation, policy=self.policy, request_id=request_id, origin=origin
        )

    def guest(self) -> Person:
        """Return the unsaved stand-in for someone mlpulse has not recorded (see `router.identity_optional`)."""
        return Person(key="guest", display_name="there", timezone=self.policy.timezone)

    async def act(
        self,
        person_id: int | None,
        platform: str,
        handler: Handler,
        *args,
        conversation: str | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
        origin: MessageRef | None = None,
    ) -> Reply:
        """Run a handler as a person (None: an unrecorded guest), in one transaction, within a few seconds.

        `origin` is the message whose button was pressed, when the platform says.

        If the database fails or does not answer in time, nothing is changed and the
        person is told to try again (a RETRY reply: their form stays as they filled it).
        A duplicate that lost a race to its original is run again, and so answered as
        the original was.
        """

        async def work(session):
            actor = self.guest() if person_id is None else await people_store.get_person(session=session, person_id=person_id)
            return await handler(session, self.context(actor, platform, conversation, request_id, origin), *args)

        name = getattr(handler, "__name__", handler)
        try:
            return await run_within(timeout or self.interaction_timeout, self.sessions, work, left=self.background)
        except IntegrityError:
            log.warning("%s lost a race twice to a duplicate of itself; answered as already recorded", name)
            return notice(ALREADY_RECORDED)
        except DataError as exc:
            log.warning("%s was given input the database cannot store: %s", name, exc.__class__.__name__)
            return retry(UNSTORABLE)
        except DATABASE_ERRORS as exc:
            log.error("database error while handling %s: %s", name, exc.__class__.__name__)
            return retry(TRY_AGAIN)

    async def act_as(
        self,
        who: Awaitable[Person | None],
        platform: str,
        handler: Handler,
        *args,
        unresolved: str = TRY_AGAIN,
        lookup_errors: tuple[type[BaseException], ...] = (),
        timeout: float | None = None,
        **kwargs,
    ) -> Reply:
        """Find who is acting, then run the handler as them, both within one interaction's time: what every platform does the same way.

        `who` resolves the platform's user to a person (None: a guest). If that fails
        (the database, or the platform's own `lookup_errors`) or takes too long, the
        person is told `unresolved` and nothing is done. No log line names the user: they
        might be filing anonymously.
        """
        loop = asyncio.get_running_loop()
        budget = timeout or self.interaction_timeout
        started = loop.time()
        try:
            person = await abandon_after(budget, who, left=self.background)
        except (*DATABASE_ERRORS, *lookup_errors) as exc:
            log.error("could not resolve a %s user: %s", platform, exc.__class__.__name__)
            return retry(unresolved)
        remaining = max(0.1, budget - (loop.time() - started))
        return await self.act(person.id if person else None, platform, handler, *args, timeout=remaining, **kwargs)

    async def tick(self, now: datetime | None = None, deliver: bool = True) -> TickResult:
        """Run one scheduler tick: due check-ins, reminders, expiries, health; then send what it queued."""
        now = now or self.clock.now()
        work = await run_tick(self.sessions, self.policy, now, steps=self.steps)
        return TickResult(work, await self.deliver(now, wait=True) if deliver else DeliveryReport())

    async def preview_tick(self, now: datetime, limit: int = 1000) -> list[tuple[str, Message, bool]]:
        """Return (recipient, view, whether it rewrites a sent message in place) of what a tick at `now` would send, changing nothing."""
        async with self.sessions() as session:
            for step in self.steps:
                try:
                    async with session.begin_nested():  # a step that raises is undone alone, as in a real tick
                        while (await step(session, self.policy, now)).more:
                            pass
                except Exception:
                    log.exception("tick step %s failed; the preview shows what the other steps would send", step.__name__)
            pending = []
            for message in await delivery_store.list_due_messages(session=session, now=now, limit=limit):
                view = await handle_outbound(session, message, self.policy, now)
                person = await people_store.get_person(session=session, person_id=message.person_id) if message.person_id else None
                if view is not None:
                    pending.append((person.display_name if person else str(message.channel), view, message.status == Delivery.STALE))
            await session.rollback()
        return pending

    async def preview_digest(self, until: datetime) -> Message:
        """Return the digest as it would be posted for the week up to `until`, changing nothing."""
        async with self.sessions() as session:
            return await build_digest(session, self.policy, until)

    async def deliver(self, now: datetime | None = None, wait: bool = False) -> DeliveryReport:
        """Send whatever is queued and due (by `now`, else the clock's time).

        One process sends through one drain at a time: called while a drain is running
        (an interaction during a long fan-out), it asks that drain to go round once more
        and returns at once, so nobody waits behind the fan-out and its pace holds; with
        `wait`, it returns once that drain is done (a tick, which reports what was sent).
        """
        self._deliver_again = True
        if self._drained is not None:
            if wait:
                await asyncio.shield(self._drained)
            return DeliveryReport()
        self._drained, report = asyncio.get_running_loop().create_future(), DeliveryReport()
        try:
            while self._deliver_again:
                self._deliver_again = False
                report += await deliver_due(
                    self.sessions, self.messenger, self.policy, now or self.clock.now(), clock=self.clock.now, lease=self.lease, sender=self.sender
                )
        finally:
            self._drained.set_result(None)
            self._drained = None
        return report

    def deliver_soon(self) -> None:
        """Send what is due in the background (after an interaction queued something); a failure is left to the next tick."""
        task = asyncio.create_task(self.deliver())
        self.background.add(task)
        task.add_done_callback(self._delivered)

    async def settle(self) -> None:
        """Wait until what runs in the background has ended."""
        while self.background:
            await asyncio.gather(*self.background, return_exceptions=True)

    def _delivered(self, task: asyncio.Task) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sending what an interaction queued failed (%s); the next tick will retry", task.exception().__class__.__name__)

    async def next_event_at(self) -> datetime | None:
        """Return when the scheduler next has something to do."""
        async with self.sessions() as session:
            moments = [
                await portfolio_store.get_next_due_stakeholder_at(session=session),
                await checkin_store.get_next_checkin_action_at(session=session),
                await delivery_store.get_next_message_at(session=session),
                next_digest_at(self.policy, self.clock.now()),
                await next_forum_event_at(session, self.clock.now()),
            ]
        return min((m for m in moments if m is not None), default=None)
