"""Bot layer: the shell's messenger, which "sends" by printing.

Messages for the person the shell acts as are printed in full, with pressable
buttons; messages for anyone else are announced on one line and kept, so that
switching to that person (`as dana`) shows them in `inbox`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.delivery import MessageRef, Target, Unreachable
from handlers.views import Message


@dataclass
class Delivered:
    ref: MessageRef
    recipient: str
    person_id: int | None
    channel: str | None
    view: Message
    thread: MessageRef | None = None
    updates: int = 0
    files: tuple[Path, ...] = ()


@dataclass
class ShellMessenger:
    """A messenger whose deliveries go to the terminal and to an in-memory inbox."""

    show: Callable[[Delivered, str], None] = lambda item, how: None
    platform: str = "shell"
    concurrency: int = 1
    files_dir: Path | None = None
    sent: list[Delivered] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def send(self, target: Target, view: Message, thread: MessageRef | None = None, key: str | None = None) -> MessageRef:
        if target.person is None and target.channel is None:
            raise Unreachable("no person or channel to send to")
        conversation = f"dm:{target.person.key}" if target.person else f"channel:{target.channel}"
        ref = MessageRef(self.platform, conversation, str(next(self._ids)))
        recipient = target.person.display_name if target.person else f"#{target.channel.lstrip('#')}"
        item = Delivered(ref, recipient, target.person.id if target.person else None, target.channel, view, thread, files=self._save(view))
        self.sent.append(item)
        self.show(item, "reply in thread" if thread else "new")
        return item.ref

    def share(self, senders: int) -> None:
        """A terminal has no ceiling to share."""

    async def find_sent(self, target: Target, thread: MessageRef | None, key: str) -> MessageRef | None:
        # The terminal keeps no history to look in; a shell never outlives its messages.
        return None

    async def update(self, ref: MessageRef, view: Message) -> None:
        for item in self.sent:
            if item.ref == ref:
                item.view, item.updates = view, item.updates + 1
                self.show(item, "updated")
                return
        raise Unreachable(f"message {ref.message_id} was sent before this shell started")

    def _save(self, view: Message) -> tuple[Path, ...]:
        """Write a message's files where the terminal user can open them."""
        if not view.attachments or self.files_dir is None:
            return ()
        self.files_dir.mkdir(parents=True, exist_ok=True)
        saved = []
        for attachment in view.attachments:
            path = self.files_dir / Path(attachment.filename).name
            path.write_bytes(attachment.content)
            saved.append(path)
        return tuple(saved)

    def find(self, ref: MessageRef) -> Delivered | None:
        return next((item for item in self.sent if item.ref == ref), None)

    def inbox(self, person_id: int) -> list[Delivered]:
        return [item for item in self.sent if item.person_id == person_id]
