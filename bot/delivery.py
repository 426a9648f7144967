"""Bot layer: the delivery seam between the outbox and a chat platform.

A `Messenger` is all a platform has to implement to receive what mlpulse sends: send
a view to a person or a channel (optionally as a reply in a thread), and update a
message it sent before. `deliver_due` drains the outbox through one: it claims due
messages, renders each with its handler at send time, sends it and records where it
landed. A failed send is retried with backoff.

Claims are what keep several senders (replicas, or a tick and an interaction) from
sending one message twice. A claim names its sender and lasts `LEASE` from the
moment it is taken; the sender renews its batch's claims while it works, and renews
each claim once more, atomically, just before that message goes out. So a slow
fan-out keeps its claims however long it takes, and a sender that stalled past its
lease finds out and leaves the message to whoever took it over. A sender that dies
lets its claims run out, and the rest is sent by the next run.

The one gap a lease cannot close is a crash after the platform accepted a message
and before the database recorded it. So every message goes out tagged with its
outbox key, and a message claimed before (`attempts > 1`: after a crash, a failure
or a lost claim) is first looked for on the platform (`Messenger.find_sent`); if it
is there, it is recorded, not resent.

Senders also share the platform's rate ceiling: each renewal counts the senders
holding claims, and a messenger that paces itself (`share`) takes its part of the
ceiling, so two replicas fanning out at once do not run into 429s.

A stale message (a live one whose subject changed, see `handlers.live`) is claimed
the same way and rewritten in place: rendered from its subject's current state, sent
with `Messenger.update`, and recorded with the revision it showed. A change made
while it was on its way leaves it stale, for one more update; a burst of changes
before it is claimed makes one update in all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from aiolimiter import AsyncLimiter

from handlers.context import MessageRef, Policy
from handlers.outbound import handle_outbound, preload_outbound
from handlers.views import Message
from storage import delivery as delivery_store
from storage import people as people_store
from storage.db import transaction
from storage.models import Delivery, OutboundMessage, Person

log = logging.getLogger(__name__)

# A claim lasts this long unless its sender renews it, which it does every third of
# it (at most every RENEW_EVERY seconds) while it is sending.
LEASE = timedelta(minutes=2)
RENEW_EVERY = 10.0
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Target:
    """Whom a message is for: a person (in a direct message) or a channel."""

    person: Person | None = None
    channel: str | None = None


class Unreachable(Exception):
    """The platform cannot reach this target (e.g. no stored conversation); retrying will not help soon."""


class Messenger(Protocol):
    """What a platform implements to receive what mlpulse sends."""

    platform: str
    concurrency: int
    """How many sends it takes in flight at once (1: one after another)."""

    def share(self, senders: int) -> None:
        """Pace at a part of the platform's ceiling, now that `senders` processes send at once (a messenger with no ceiling ignores it)."""

    async def send(self, target: Target, view: Message, thread: MessageRef | None = None, key: str | None = None) -> MessageRef:
        """Send a view, tagged with its outbox `key`, and return where it landed."""

    async def update(self, ref: MessageRef, view: Message) -> None:
        """Replace a message sent before."""

    async def find_sent(self, target: Target, thread: MessageRef | None, key: str) -> MessageRef | None:
        """Return the message tagged `key` if it was already sent (after a crash), else None."""


def serves(messenger: Messenger, platform: str | None) -> bool:
    """Tell whether a messenger sends on this platform (a `Messengers` serves several)."""
    return platform in getattr(messenger, "platforms", (messenger.platform,))


def channel_on(platform: str, channel: str, platforms: tuple[str, ...]) -> str | None:
    """Return how `platform` names a channel from app.yaml, or None when it is another platform's.

    `teams:ml-digest` and `slack:#ml-digest` name one platform's channel; a bare name
    means the only platform running, or Slack when both are.
    """
    prefix, _, rest = channel.partition(":")
    if rest and prefix in ("slack", "teams"):
        return rest if prefix == platform else None
    return channel if platform == (platforms[0] if len(platforms) == 1 else "slack") else None


class Messengers:
    """Several platforms' messengers as one: each message goes where its target can be reached.

    A channel goes to the platform app.yaml names it on (see `channel_on`). A person is
    tried on each platform in turn, Teams first (a stored Teams conversation proves they
    use it), and is `Unreachable` only when no platform can reach them.
    """

    def __init__(self, *messengers: Messenger):
        order = {"teams": 0, "shell": 1, "slack": 2}
        self._all = sorted(messengers, key=lambda m: order.get(m.platform, 1))
        self.platforms = tuple(m.platform for m in messengers)
        self.platform = self.platforms[0]
        self.concurrency = max(m.concurrency for m in messengers)

    def _for(self, platform: str) -> Messenger:
        return next(m for m in self._all if m.platform == platform)

    def _candidates(self, target: Target, thread: MessageRef | None) -> list[tuple[Messenger, Target]]:
        if thread is not None:
            return [(self._for(thread.platform), target)]
        if target.channel is not None:
            named = [(m, channel_on(m.platform, target.channel, self.platforms)) for m in self._all]
            return [(m, Target(channel=channel)) for m, channel in named if channel is not None]
        return [(m, target) for m in self._all]

    async def send(self, target: Target, view: Message, thread: MessageRef | None = None, key: str | None = None) -> MessageRef:
        reasons = []
        for messenger, own in self._candidates(target, thread):
            try:
                return await messenger.send(own, view, thread, key)
            except Unreachable as exc:
                reasons.append(str(exc))
        raise Unreachable("; ".join(reasons) or f"no running platform has the channel {target.channel!r}")

    async def update(self, ref: MessageRef, view: Message) -> None:
        await self._for(ref.platform).update(ref, view)

    def share(self, senders: int) -> None:
        for messenger in self._all:
            share(messenger, senders)

    async def find_sent(self, target: Target, thread: MessageRef | None, key: str) -> MessageRef | None:
        for messenger, own in self._candidates(target, thread):
            try:
                if (ref := await messenger.find_sent(own, thread, key)) is not None:
                    return ref
            except Unreachable:
                continue
        return None


@dataclass
class DeliveryReport:
    sent: int = 0
    updated: int = 0  # stale messages rewritten in place
    skipped: int = 0
    failed: int = 0
    lost: int = 0  # claims another sender took over (after this one stalled past its lease): theirs to send

    def __iadd__(self, other: DeliveryReport) -> DeliveryReport:
        for name in ("sent", "updated", "skipped", "failed", "lost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


def new_sender_id() -> str:
    """Return a name for this process's claims: host, pid and a random part, so no two processes share one."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class _Run:
    """One drain of the outbox: where to send, as whom, and by which clock the claims are timed."""

    sessions: object
    messenger: Messenger
    policy: Policy
    now: datetime  # the moment the messages are due by and rendered at
    clock: Callable[[], datetime]  # the time claims are taken and renewed by, read afresh each time
    lease: timedelta
    sender: str

    def until(self) -> datetime:
        return self.clock() + self.lease


async def deliver_due(
    sessions,
    messenger: Messenger,
    policy: Policy,
    now: datetime,
    *,
    clock: Callable[[], datetime] | None = None,
    lease: timedelta = LEASE,
    limit: int = 200,
    sender: str | None = None,
) -> DeliveryReport:
    """Send every queued message due by `now`, `limit` claimed at a time, until none is left.

    Each batch is claimed in the name of `sender` for `lease` from `clock()` at claim
    time (a fixed `now` without a clock). While the batch is being sent its claims are
    renewed, and each one is renewed once more just before its message goes out: a
    message whose claim another sender took over meanwhile is left to that sender.
    """
    run = _Run(sessions, messenger, policy, now, clock or (lambda: now), lease, sender or new_sender_id())
    report = DeliveryReport()
    while True:
        async with transaction(sessions) as session:
            claimed = await delivery_store.claim_messages(session=session, due_by=now, at=run.clock(), lease=lease, limit=limit, by=run.sender)
            if claimed:  # from the first message on, at its share of the ceiling (the renewals keep it up to date)
                share(messenger, await delivery_store.count_senders(session=session, at=run.clock()))
            # Rendered in the claiming session, moments before sending, after loading at once
            # what the batch's views need. The identity map holds rows weakly, so `loaded`
            # keeps them alive until the batch is rendered.
            loaded = await preload_outbound(session, claimed)
            ready = [item for message in claimed if (item := await _prepare(session, run, message, report))]
            del loaded
        async with _renewing(run, [item.message.id for item in ready]):
            await _send_all(run, ready, report)
        if len(claimed) < limit:
            return report


@asynccontextmanager
async def _renewing(run: _Run, message_ids: list[int]) -> AsyncIterator[None]:
    """Keep renewing a batch's claims while it is being sent, and pace by the senders sharing the platform's ceiling.

    A send can take far longer than it should (a platform slow to answer, 429s waited
    out); renewed claims keep another replica from taking the batch over meanwhile. A
    claim runs out only when its sender stops (a crash, a frozen process).
    """
    beat = min(run.lease.total_seconds() / 3, RENEW_EVERY)

    async def renew() -> None:
        while True:
            await asyncio.sleep(beat)
            try:
                async with transaction(run.sessions) as session:
                    await delivery_store.update_claims(session=session, message_ids=message_ids, by=run.sender, until=run.until())
                    senders = await delivery_store.count_senders(session=session, at=run.clock())
                share(run.messenger, senders)
            except Exception as exc:  # never a reason to stop sending: the next beat tries again, and each send checks its own claim
                log.warning("could not renew the outbox claims: %s", exc.__class__.__name__)

    if not message_ids:
        yield
        return
    renewing = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewing.cancel()
        with suppress(asyncio.CancelledError):
            await renewing


def pace(per_second: float) -> AsyncLimiter:
    """Return a limiter that never lets more than `per_second` calls into any one second.

    A small bucket (5% of a second's worth): a full-size one would let a burst of a
    whole second's calls out at once, on top of the steady rate.
    """
    burst = max(1.0, per_second * 0.05)
    return AsyncLimiter(burst, burst / per_second)


def share(messenger: Messenger, senders: int) -> None:
    """Tell a messenger how many senders share its platform's ceiling (at least itself)."""
    messenger.share(max(1, senders))


@dataclass(frozen=True)
class _Ready:
    """A claimed message, rendered: where it goes (`target`, `thread`), or, if stale, the copy it rewrites (`ref`)."""

    message: OutboundMessage
    view: Message
    target: Target | None = None
    thread: MessageRef | None = None
    ref: MessageRef | None = None


async def _prepare(session, run: _Run, message: OutboundMessage, report: DeliveryReport) -> _Ready | None:
    stale = message.status == Delivery.STALE
    if stale and not serves(run.messenger, message.platform):  # its platform is not running here: it stays as it is
        log.warning("cannot update %s: %s is not running", message.key, message.platform)
        await _record(run, message, MessageRef(message.platform, message.conversation_id, message.message_id), session=session)
        return None
    view = await handle_outbound(session, message, run.policy, run.now)
    if stale:
        ref = MessageRef(message.platform, message.conversation_id, message.message_id)
        if view is None:  # nothing to show any more (its subject is gone): the copy stays as it is
            await _record(run, message, ref, session=session)
            return None
        return _Ready(message, view, ref=ref)
    if view is None:
        await delivery_store.update_message_status(session=session, message_id=message.id, status=Delivery.SKIPPED)
        report.skipped += 1
        return None
    person = await people_store.get_person(session=session, person_id=message.person_id) if message.person_id else None
    thread = None
    if message.thread_of_id:
        parent = await delivery_store.get_message(session=session, message_id=message.thread_of_id)
        if parent and parent.message_id and serves(run.messenger, parent.platform):
            thread = MessageRef(parent.platform, parent.conversation_id, parent.message_id)
    return _Ready(message, view, Target(person=person, channel=message.channel), thread)


async def _record(run: _Run, message: OutboundMessage, ref: MessageRef, *, session=None) -> None:
    """Record that a message is out at `ref`, showing the revision it was claimed at (stale again if its subject moved on since)."""
    if session is None:
        async with transaction(run.sessions) as session:
            return await _record(run, message, ref, session=session)
    await delivery_store.update_message_sent(
        session=session,
        message_id=message.id,
        platform=ref.platform,
        conversation_id=ref.conversation_id,
        platform_message_id=ref.message_id,
        at=run.now,
        revision=message.revision,
    )


async def _send_all(run: _Run, ready: list, report: DeliveryReport) -> None:
    """Send each prepared message, `concurrency` at a time; a send that dies (a crash) stops the rest."""
    concurrency = run.messenger.concurrency
    if concurrency <= 1:
        for item in ready:
            await _send(run, item, report)
        return
    gate = asyncio.Semaphore(concurrency)

    async def one(item: _Ready) -> None:
        async with gate:
            await _send(run, item, report)

    try:
        async with asyncio.TaskGroup() as sending:
            for item in ready:
                sending.create_task(one(item))
    except BaseExceptionGroup as group:
        raise group.exceptions[0] from None


async def _still_mine(run: _Run, message) -> bool:
    """Renew this sender's claim on a message just before it goes out; False if another sender holds it now."""
    async with transaction(run.sessions) as session:
        return await delivery_store.update_claim(session=session, message_id=message.id, by=run.sender, attempt=message.attempts, until=run.until())


async def _send(run: _Run, item: _Ready, report: DeliveryReport) -> None:
    message = item.message
    try:
        if not await _still_mine(run, message):
            log.warning("the claim on %s passed to another sender; it sends it", message.key)
            report.lost += 1
            return
        if item.ref is not None:
            await run.messenger.update(item.ref, item.view)
            await _record(run, message, item.ref)
            report.updated += 1
            return
        ref = None
        if message.attempts > 1:  # claimed before: it may have gone out just before a crash or a lost claim
            ref = await run.messenger.find_sent(item.target, item.thread, message.key)
        if ref is None:
            ref = await run.messenger.send(item.target, item.view, item.thread, key=message.key)
        await _record(run, message, ref)
    except Exception as exc:  # any platform failure: keep the message, try again later
        final = isinstance(exc, Unreachable) or message.attempts >= MAX_ATTEMPTS
        backoff = timedelta(seconds=min(3600, 30 * 2**message.attempts))
        log.warning("delivery of %s failed (attempt %d): %s", message.key, message.attempts, exc)
        # A stale message given up on is still out there, as it was: sent.
        retry, give_up = (Delivery.STALE, Delivery.SENT) if item.ref is not None else (Delivery.QUEUED, Delivery.FAILED)
        async with transaction(run.sessions) as session:
            await delivery_store.update_message_status(
                session=session,
                message_id=message.id,
                status=give_up if final else retry,
                error=f"{exc.__class__.__name__}: {exc}"[:500],
                not_before=None if final else run.now + backoff,
                by=run.sender,
                attempt=message.attempts,
            )
        report.failed += 1
        return
    report.sent += 1
