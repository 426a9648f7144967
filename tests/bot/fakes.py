"""A recording messenger for delivery tests: it can fail, or "crash" the process, on chosen sends."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.delivery import MessageRef, Target
from handlers.views import Message


class Crash(BaseException):
    """Stands for the process dying mid-way: nothing in the bot catches it."""


@dataclass
class RecordingMessenger:
    platform: str = "test"
    concurrency: int = 1
    sent: list[tuple[Target, Message, MessageRef | None]] = field(default_factory=list)
    updated: list[tuple[MessageRef, Message]] = field(default_factory=list)
    fail: dict[int, BaseException] = field(default_factory=dict)
    calls: int = 0
    delay: float = 0.0  # seconds each send takes, as a slow platform's would
    shares: list[int] = field(default_factory=list)  # what `share` was told: how many senders pace together

    async def send(self, target: Target, view: Message, thread: MessageRef | None = None, key: str | None = None) -> MessageRef:
        self.calls += 1
        if self.calls in self.fail:
            raise self.fail[self.calls]
        if self.delay:
            await asyncio.sleep(self.delay)
        self.sent.append((target, view, thread))
        return MessageRef(self.platform, f"D-{target.person.key if target.person else target.channel}", str(len(self.sent)))

    async def update(self, ref: MessageRef, view: Message) -> None:
        self.updated.append((ref, view))

    async def find_sent(self, target: Target, thread, key: str) -> MessageRef | None:
        return None

    def share(self, senders: int) -> None:
        self.shares.append(senders)
