"""Commands are declared once, by their feature: adding one reaches every platform and the help without another edit."""

from __future__ import annotations

import pytest

from bot.slack.app import slash_commands
from bot.teams.app import command_of
from bot.teams.manifest import suggestions
from handlers import router
from handlers.commands import Command
from handlers.views import Reply, notice
from tests import factories as f


async def _hello(session, ctx, args: str) -> Reply:
    return notice(f"Hello {args or ctx.actor.display_name}")


HELLO = Command(
    "mlhello",
    _hello,
    description="Say hello",
    usage_hint="[name]",
    help=(("/mlhello [name]", "say hello"),),
    words=("hello",),
    suggestions=(("hello", "Say hello"),),
)


@pytest.fixture
def with_hello(monkeypatch):
    """The registry with one more command, as a feature module adding its `COMMAND` would make it."""
    monkeypatch.setattr(router, "COMMANDS", (*router.COMMANDS, HELLO))
    monkeypatch.setattr(router, "BY_NAME", {**router.BY_NAME, HELLO.name: HELLO})


def test_every_command_has_a_unique_name_and_word():
    words = [w for c in router.COMMANDS for w in (c.name, *c.words)]
    assert len(words) == len(set(words))
    assert [c.name for c in router.COMMANDS] == ["mlstatus", "mlreport", "mlstory", "mlforum", "mlpulse"]


async def test_a_new_command_reaches_the_router_the_help_slack_teams_and_the_shell(with_hello, sessions, tmp_path):
    async with sessions() as session:
        await f.sync(session, f.decl(people=["ana"]))
        reply = await router.handle_command(session, f.ctx(await f.person(session, "ana")), "/mlhello there")
    assert reply.view.text == "Hello there"
    assert "/mlhello [name] — say hello" in router.help_view().text
    assert "/mlhello" in slash_commands()
    assert command_of("hello world") == "/mlhello world" and command_of("mlhello") == "/mlhello"
    assert {"title": "hello", "description": "Say hello"} in suggestions()
