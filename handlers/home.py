"""Handlers layer: the home view, what a person sees when they open the bot (Slack's App Home)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import ActionId
from handlers.checkins import my_checkins_view
from handlers.context import Context
from handlers.status import mine_view
from handlers.views import Button, Message, Section


async def handle_home(session: AsyncSession, ctx: Context) -> Message:
    """Return the actor's check-ins waiting for an answer, their models' health, and shortcuts."""
    checkins = await my_checkins_view(session, ctx)
    mine = await mine_view(session, ctx, 1)
    shortcuts = [
        Button(ActionId.STATUS_PAGE, "Portfolio status", "portfolio:1"),
        Button(ActionId.REPORT_OPEN, "Report a problem"),
        Button(ActionId.STORY_OPEN, "Share a success story"),
        Button(ActionId.AWAY_SET, "Set away dates"),
    ]
    return Message(
        title=f"Hi {ctx.actor.display_name.split()[0]}",
        text=checkins.text,
        sections=checkins.sections + (Section(text=f"Your models. {mine.text}"),) + mine.sections,
        buttons=tuple(shortcuts) + tuple(b for b in mine.buttons if b.action == ActionId.STATUS_PAGE),
        footer="Type /mlpulse help in any channel for everything mlpulse can do.",
    )
