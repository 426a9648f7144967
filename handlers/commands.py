"""Handlers layer: what a command is, so that each feature declares its own in one place.

A feature module exports its `Command`: the name people type, the handler, and every
line that describes it. The router dispatches by name and builds `/mlpulse help`
from them; the platforms build the rest from them too: Slack's slash commands (and
the check of the shipped manifest), the words Teams accepts and suggests, and the
shell's commands. Adding a command is one `Command` in its feature, and one entry in
`handlers.router.COMMANDS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.context import Context
from handlers.views import Reply

CommandHandler = Callable[[AsyncSession, Context, str], Awaitable[Reply]]


@dataclass(frozen=True)
class Command:
    """A command: `/name args` on Slack and in the shell, `name args` (or one of `words`) on Teams."""

    name: str
    run: CommandHandler
    description: str
    """One line, as Slack's command list shows it."""
    usage_hint: str
    """The arguments, as Slack hints them after the name."""
    help: tuple[tuple[str, str], ...]
    """The lines of `/mlpulse help`: (what to type, what it does)."""
    words: tuple[str, ...] = ()
    """Other first words Teams takes for it ('report' for mlreport)."""
    suggestions: tuple[tuple[str, str], ...] = ()
    """What Teams suggests in the compose box: (what to type, what it does)."""

    @property
    def slash(self) -> str:
        return f"/{self.name}"
