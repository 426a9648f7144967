"""Bot layer: the interactive shell, where anyone can use mlpulse without a chat account.

You act as one person (`as <who>` switches), type the same commands as in Slack or
Teams, press buttons by typing their number and fill forms at prompts. Time stands
still until you move it: `advance 3d` steps through every scheduled event on the
way (check-ins falling due, reminders, expiries), so they happen in front of you.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.delivery import MessageRef
from bot.runtime import Runtime
from bot.shell.messenger import Delivered
from bot.shell.render import describe_input, form_header, to_text
from handlers import router
from handlers.checkins import person_zone
from handlers.periods import parse_duration
from handlers.pickers import picked_person
from handlers.text import plural, when
from handlers.views import Button, Form, Input, InputKind, Message, Reply, ReplyMode, form_errors, yes_no
from storage import people as people_store
from storage.models import Person

FORM_HELP = """\
In a form: Enter keeps the value shown, - clears it, help shows this,
  and cancel (or Ctrl-C) leaves the form without saving anything."""
SHELL_HELP = (
    """\
Shell commands:
  <number> or press <number>   press a button shown above
  checkins                     your check-ins waiting for an answer
  inbox                        the messages mlpulse sent you
  channel #name                what mlpulse posted in a channel (forum announcements, the digest)
  as <who>                     act as someone else (key, email or name); people lists them
  whoami | people              who you are | everyone mlpulse knows
  now | advance 3d | tick      show the clock | move it (30m, 2h, 3d, 1w), running what falls due | run one tick now
  away until YYYY-MM-DD        same as /mlpulse away until YYYY-MM-DD
  help | quit

"""
    + FORM_HELP
)

MAX_STEPS = 10_000
# What a reader returns when the person pressed Ctrl-C (the character the key sends).
INTERRUPTED = "\x03"
CLEAR = "-"

Reader = Callable[[str], Awaitable[str | None]]
Writer = Callable[[str], None]


class Shell:
    """One shell session: a person, a clock and the buttons shown so far."""

    def __init__(self, runtime: Runtime, clock: ManualClock, actor: Person, read: Reader, write: Writer):
        self.runtime, self.clock, self.actor = runtime, clock, actor
        self.read, self.write = read, write
        self.buttons: dict[int, tuple[Button, MessageRef | None]] = {}
        runtime.messenger.show = self.show_delivery

    @property
    def tz(self) -> ZoneInfo:
        return person_zone(self.actor, self.runtime.policy)

    def show_delivery(self, item: Delivered, how: str) -> None:
        self._show_delivery(item, how)
        for path in item.files:
            self.write(f"📎 {path.name} saved to {path}")

    def _show_delivery(self, item: Delivered, how: str) -> None:
        number = item.ref.message_id
        if item.person_id == self.actor.id:
            header = {
                "new": f"📨 new message #{number} from mlpulse:",
                "updated": f"✏️  message #{number} updated:",
                "reply in thread": f"📨 message #{number}, in the thread of #{item.thread.message_id if item.thread else '?'}:",
            }[how]
            self.write(f"\n{header}")
            self.write(to_text(item.view, lambda b: self._number(b, item.ref)))
        else:
            verb = {"new": "sent to", "updated": "updated for", "reply in thread": "reply in thread to"}[how]
            hint = f" (type: channel {item.recipient})" if item.channel and how != "updated" else ""
            self.write(f"📨 {verb} {item.recipient}: {item.view.title or item.view.text[:60]}{hint}")

    def _number(self, button: Button, ref: MessageRef | None) -> int:
        number = len(self.buttons) + 1
        self.buttons[number] = (button, ref)
        return number

    async def run(self) -> None:
        """Read and run lines until quit or end of input."""
        self.write(f"mlpulse shell: you are {self._who()}. Type help for commands, quit to leave.")
        await self._tick_quietly()
        while True:
            line = await self.read(self._prompt())
            if line is None:
                self.write("")
                return
            if line == INTERRUPTED:
                self.write("(Type quit to leave the shell.)")
                continue
            if line.strip().lower() in ("quit", "exit", "q"):
                return
            await self.handle(line.strip())

    def _prompt(self) -> str:
        return f"\n[{self.actor.key} · {when(self.clock.now(), self.tz, yours=True)}]> "

    def _who(self) -> str:
        return f"{self.actor.display_name} ({self.actor.key}{', ML lead' if self.actor.is_lead else ''})"

    async def handle(self, line: str) -> None:
        """Run one line of input."""
        if not line:
            return
        word, _, rest = line.partition(" ")
        word = word.lower()
        if word == "help":
            self.write(SHELL_HELP + "\n\n" + to_text(router.help_view()))
        elif word.isdigit() or (word == "press" and rest.strip().isdigit()):
            await self.press(int(word if word.isdigit() else rest.strip()))
        elif word == "as":
            await self.switch(rest)
        elif word == "whoami":
            self.write(f"You are {self._who()}, time zone {self.actor.timezone}.")
        elif word == "people":
            await self.list_people()
        elif word == "now":
            self.write(f"It is {when(self.clock.now(), self.tz, yours=True)}: {self.clock.now():%Y-%m-%d %H:%M} UTC.")
        elif word == "advance":
            await self.advance(rest)
        elif word == "tick":
            await self.tick(self.clock.now())
        elif word == "inbox":
            self.show_inbox()
        elif word == "channel":
            self.show_channel(rest.strip())
        elif word in ("checkins", "check-ins"):
            await self.command("/mlpulse checkins")
        elif word == "away":
            await self.command(f"/mlpulse {line}")
        elif word.lstrip("/") in router.BY_NAME:
            await self.command(line)
        else:
            self.write(f"I don't know “{line}”. Type help for what you can do.")

    async def command(self, text: str) -> None:
        reply = await self.runtime.act(self.actor.id, "shell", router.handle_command, text, conversation="shell")
        await self.show_reply(reply, None)

    async def press(self, number: int) -> None:
        if number not in self.buttons:
            self.write(f"There is no button [{number}]. Buttons are numbered in the messages above.")
            return
        button, ref = self.buttons[number]
        delivered = self.runtime.messenger.find(ref) if ref else None
        if delivered and delivered.person_id is not None and delivered.person_id != self.actor.id:
            self.write("That button is on someone else's message.")
            return
        reply = await self.runtime.act(self.actor.id, "shell", router.handle_action, button.action, button.value, conversation="shell", origin=ref)
        await self.show_reply(reply, ref)

    async def show_reply(self, reply: Reply, origin: MessageRef | None) -> None:
        """Show a handler's reply the way a chat platform would, then send what it queued."""
        while reply.mode == ReplyMode.FORM:
            form = reply.view
            values = await self.fill(form)
            if values is None:
                self.write("Form cancelled; nothing was saved.")
                return
            reply = await self.runtime.act(self.actor.id, "shell", router.handle_submit, form.form, form.state, values, origin=origin)
            if reply.mode == ReplyMode.RETRY:  # nothing was saved: the same form again, with what was typed
                self.write(f"⚠️  {reply.view.text}")
                reply = form_errors(form, {reply.input: reply.view.text} if reply.input else {}, values)
        view: Message = reply.view
        if reply.mode == ReplyMode.REPLACE and origin is not None:
            await self.runtime.messenger.update(origin, view)
        else:
            self.write(to_text(view, lambda b: self._number(b, origin if reply.mode == ReplyMode.REPLACE else None)))
        await self.runtime.deliver()

    async def fill(self, form: Form) -> dict[str, str] | None:
        """Prompt for a form's inputs; return the values, or None if the form was cancelled or input ran out."""
        self.write(form_header(form))
        values = dict(form.values)
        for item in form.inputs:
            if form.errors and item.name not in form.errors:
                continue
            answer = await self.ask(item, form.errors.get(item.name), values.get(item.name, item.initial))
            if answer is None:
                return None
            values[item.name] = answer
        return values

    async def ask(self, item: Input, error: str | None, previous: str | None) -> str | None:
        """Prompt for one input until the answer is one; None when the person leaves the form."""
        while True:
            answer = await self.read(describe_input(item, error, previous) + "\n> ")
            if answer is None or answer == INTERRUPTED or answer.strip().lower() == "cancel":
                return None
            answer = answer.strip()
            word = answer.split(maxsplit=1)[0].lower() if answer else ""
            if answer.lower() == "help":
                self.write(FORM_HELP)
            elif word.startswith("/") and word.lstrip("/") in router.BY_NAME:
                self.write(f"⚠️  {answer.split()[0]} is a command, not an answer. Finish this form first, or type cancel to leave it.")
            elif answer == CLEAR:
                return ""
            elif not answer:
                return previous or ""
            elif item.kind != InputKind.CHECKBOX:
                return answer
            elif (ticked := yes_no(answer)) is not None:
                return "true" if ticked else ""
            else:
                error = "Answer y or n."

    async def switch(self, who: str) -> None:
        async with self.runtime.sessions() as session:
            person, error = await picked_person(session, who)
        if error:
            self.write(f"{error} Type people to see everyone.")
            return
        self.actor = person
        self.write(f"You are now {self._who()}.")

    async def list_people(self) -> None:
        async with self.runtime.sessions() as session:
            people = await people_store.list_people(session=session)
        for person in people:
            role = " · ML lead" if person.is_lead else ""
            self.write(f"  {person.key:<10} {person.display_name:<22} {person.email or '':<28} {person.timezone}{role}")

    def show_inbox(self) -> None:
        items = self.runtime.messenger.inbox(self.actor.id)
        if not items:
            self.write("Nothing in your inbox yet.")
        for item in items[-10:]:
            self.write(f"\n#{item.ref.message_id}:")
            self.write(to_text(item.view, lambda b, ref=item.ref: self._number(b, ref)))

    def show_channel(self, name: str) -> None:
        wanted = name.lstrip("#").lower()
        channels = sorted({item.channel for item in self.runtime.messenger.sent if item.channel})
        items = [item for item in self.runtime.messenger.sent if item.channel and item.channel.lstrip("#").lower() == wanted]
        if not items:
            known = ", ".join(channels) or "none yet"
            self.write(f"mlpulse has posted nothing in “{name}”. Channels with posts: {known}.")
        for item in items[-10:]:
            self.write(f"\n#{item.ref.message_id} in {item.recipient}" + (f", in the thread of #{item.thread.message_id}:" if item.thread else ":"))
            self.write(to_text(item.view, lambda b, ref=item.ref: self._number(b, ref)))

    async def advance(self, text: str) -> None:
        try:
            delta = parse_duration(text.strip() or "?")
        except ValueError as exc:
            self.write(f"{exc}. For example: advance 3d")
            return
        target = self.clock.now() + delta
        for _ in range(MAX_STEPS):
            upcoming = await self.runtime.next_event_at()
            if upcoming is None or upcoming > target:
                break
            self.clock.set(max(upcoming, self.clock.now()))
            await self.tick(self.clock.now())
        self.clock.set(target)
        await self._tick_quietly()
        self.write(f"⏩ It is now {when(self.clock.now(), self.tz, yours=True)}.")

    async def tick(self, moment: datetime) -> None:
        result = await self.runtime.tick(moment)
        w = result.work
        parts = [
            f"{plural(w.created, 'check-in')} sent" if w.created else "",
            plural(w.reminded, "reminder") if w.reminded else "",
            f"{w.expired} expired without an answer" if w.expired else "",
            f"{w.skipped_away} skipped (away)" if w.skipped_away else "",
            f"{plural(w.forums, 'forum message')} (announced, reminded or wrapped up)" if w.forums else "",
            plural(w.followups, "action-item reminder") if w.followups else "",
        ]
        summary = ", ".join(p for p in parts if p) or "nothing due"
        self.write(f"⏱  {when(moment, self.tz, yours=True)}: {summary}.")

    async def _tick_quietly(self) -> None:
        await self.runtime.tick(self.clock.now())


class LineReader:
    """Reads the terminal's lines without blocking the event loop; Ctrl-C ends the read with INTERRUPTED, not the shell.

    The line being read when Ctrl-C comes is not lost: the next read takes it.
    """

    def __init__(self, stream: TextIO = sys.stdin, write: Writer = lambda text: print(text, end="", flush=True)):
        self.stream, self.write = stream, write
        self._line: asyncio.Future[str] | None = None
        self._interrupt: asyncio.Future[None] | None = None

    def listen(self) -> None:
        """Take Ctrl-C (SIGINT) from here on, in the running loop."""
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self.interrupt)

    def interrupt(self) -> None:
        """End the read under way with INTERRUPTED."""
        if self._interrupt is not None and not self._interrupt.done():
            self._interrupt.set_result(None)

    async def __call__(self, prompt: str) -> str | None:
        self.write(prompt)
        if self._line is None:
            self._line = asyncio.ensure_future(asyncio.to_thread(self.stream.readline))
        self._interrupt = asyncio.get_running_loop().create_future()
        await asyncio.wait((self._line, self._interrupt), return_when=asyncio.FIRST_COMPLETED)
        if not self._line.done():
            self.write("\n")
            return INTERRUPTED
        line, self._line = self._line.result(), None
        return line.rstrip("\n") if line else None


async def resolve_person(runtime: Runtime, who: str | None) -> Person:
    """Find the person to act as, named as anywhere else (key, email, name, without case or accents); the first lead by default."""
    async with runtime.sessions() as session:
        if who:
            person, error = await picked_person(session, who)
            if error:
                known = ", ".join(p.key for p in await people_store.list_people(session=session))
                raise LookupError(f"--as: {error} People: {known}")
            return person
        leads = await people_store.list_people(session=session, leads_only=True)
        people = leads or await people_store.list_people(session=session)
        if not people:
            raise LookupError("app.yaml declares no people; add some under people:")
        return people[0]
