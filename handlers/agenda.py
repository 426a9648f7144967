"""Handlers layer: what a review forum will talk about, and how its invitation reads.

A forum's agenda is built from the data, in the order DESIGN.md gives: the unit's
open failure reports (most serious first, then oldest), its degraded, abandoned and
silent models, the topics people proposed, the action items still open from earlier
forums, and the success stories since the last forum. Each line keeps a reference to
the record it came from. The agenda is stored with the session, and its hash tells
the scheduler when a fresh build differs from what was announced.

Lines carry dates, never ages ("open since 3 Nov", not "12 days old"), so an agenda
only changes when the data does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event, Timezone
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.actions import ActionId
from handlers.health import ATTENTION, HEALTH_EMOJI, Health
from handlers.periods import Cadence, zone
from handlers.text import day, plural, when
from handlers.views import Attachment, Button, Field, Message, Section, Style
from storage import forums as forum_store
from storage import portfolio as portfolio_store
from storage import reports as report_store
from storage import stories as story_store
from storage.models import AgendaItem, BusinessUnit, ForumSession, ReviewForum

ROWS = 8
STORY_LOOKBACK = timedelta(days=30)
IMPACT_EMOJI = {"critical": "🔴", "major": "🟠", "minor": "🟡", "none": "⚪"}
SECTIONS = (
    ("report", "Open failure reports"),
    ("model", "Models that need attention"),
    ("topic", "Proposed topics"),
    ("action_item", "Open action items from earlier forums"),
    ("story", "Success stories since the last forum"),
)
RSVP_LABELS = {"going": "going", "not_going": "can't make it"}


def _short(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


async def build_agenda(session: AsyncSession, fs: ForumSession, forum: ReviewForum, unit: BusinessUnit) -> list[AgendaItem]:
    """Build a session's agenda from the data as it is now."""
    items: list[AgendaItem] = []

    def add(kind: str, ref_id: int | None, title: str) -> None:
        items.append(AgendaItem(session_id=fs.id, kind=kind, ref_id=ref_id, title=title[:500], position=len(items)))

    def more(kind: str, total: int, shown: int, what: str) -> None:
        if total > shown:
            add(kind, None, f"… and {plural(total - shown, 'more ' + what)}")

    reports = await report_store.list_open_reports_for_units(session=session, unit_ids=[unit.id], limit=ROWS)
    for report, model in reports:
        filed = day(report.created_at.astimezone(zone(fs.timezone)).date())
        add(
            "report",
            report.id,
            f"{IMPACT_EMOJI.get(report.impact, '')} {report.impact} · {model.name}: {_short(report.what_happened)} ({report.status}, filed {filed})",
        )
    if len(reports) == ROWS:
        more("report", await report_store.count_open_reports_for_units(session=session, unit_ids=[unit.id]), ROWS, "open report")

    models = await portfolio_store.list_models(session=session, unit_ids=[unit.id], healths=ATTENTION, limit=ROWS)
    for model, _, owner in models:
        add("model", model.id, f"{HEALTH_EMOJI[Health(model.health)]} {model.name} ({owner.display_name}) — {model.health}: {model.health_reason}")
    if len(models) == ROWS:
        more("model", await portfolio_store.count_models(session=session, unit_ids=[unit.id], healths=ATTENTION), ROWS, "model")

    topics = [t for t in await forum_store.list_open_topics(session=session, unit_id=unit.id, limit=ROWS + 1) if t.created_at < fs.starts_at]
    for topic in topics[:ROWS]:
        add("topic", topic.id, f"“{_short(topic.text, 200)}”")
    more("topic", len(topics), min(len(topics), ROWS), "topic")

    open_items = await forum_store.list_open_action_items(session=session, forum_id=forum.id, before=fs.starts_at, limit=ROWS + 1)
    for item, owner in open_items[:ROWS]:
        due = f" (due {day(item.due_on)})" if item.due_on else ""
        add("action_item", item.id, f"{owner.display_name}: {_short(item.text, 200)}{due}")
    more("action_item", len(open_items), min(len(open_items), ROWS), "action item")

    last = await forum_store.get_last_held_session(session=session, forum_id=forum.id, before=fs.starts_at)
    since = last.starts_at if last else fs.starts_at - STORY_LOOKBACK
    for story, model in await story_store.list_stories_posted_between(session=session, since=since, until=fs.starts_at, unit_ids=[unit.id], limit=ROWS):
        add("story", story.id, f"🎉 {story.headline} ({model.name})")
    return items


def agenda_hash(items: Sequence[AgendaItem]) -> str:
    """Return a fingerprint of an agenda's lines, to tell when a rebuild changed it."""
    text = "\n".join(f"{i.kind}|{i.ref_id}|{i.title}" for i in items)
    return hashlib.sha256(text.encode()).hexdigest()


def forum_title(unit: BusinessUnit) -> str:
    """Name a unit's forum, e.g. 'Sales × ML review forum'."""
    return f"{unit.name} × ML review forum"


def agenda_sections(items: Sequence[AgendaItem]) -> tuple[Section, ...]:
    """Return an agenda as one section per kind of line, in the agenda's order."""
    sections = []
    for kind, heading in SECTIONS:
        lines = [i.title for i in items if i.kind == kind]
        if lines:
            sections.append(Section(text=f"{heading}:\n" + "\n".join(f"• {line}" for line in lines)))
    return tuple(sections) or (Section(text="Nothing on the agenda yet. Propose a topic!"),)


def rsvp_summary(counts: dict[str, int]) -> str:
    """Say how many are coming, e.g. '3 going · 1 can't make it'."""
    return " · ".join(f"{counts.get(key, 0)} {label}" for key, label in RSVP_LABELS.items())


def announcement_view(
    fs: ForumSession,
    forum: ReviewForum,
    unit: BusinessUnit,
    items: Sequence[AgendaItem],
    counts: dict[str, int],
    *,
    reader_zone: str | None = None,
    invite: bool = True,
) -> Message:
    """Return the announcement of a session: when, the agenda, RSVP counts and buttons, and the .ics invite."""
    tz = zone(reader_zone or fs.timezone)
    starts = when(fs.starts_at, tz)
    minutes = int((fs.ends_at - fs.starts_at).total_seconds() // 60)
    cadence = Cadence.from_json(forum.schedule).describe()
    fields = (Field("When", starts), Field("Length", f"{minutes} minutes"), Field("RSVPs", rsvp_summary(counts)))
    title = f"📅 {forum_title(unit)} · {when(fs.starts_at, tz)}"
    if fs.status == "cancelled":
        return Message(
            f"❌ Cancelled: {forum_title(unit)} · {when(fs.starts_at, tz)}",
            "This forum will not take place. The next one will be announced as usual.",
            (Section(fields=fields[:2]),),
        )
    buttons: tuple[Button, ...] = ()
    footer = f"Recurs {cadence} ({fs.timezone})."
    if fs.status == "scheduled":
        sid = str(fs.id)
        buttons = (
            Button(ActionId.FORUM_RSVP_GOING, "Going", sid, Style.PRIMARY),
            Button(ActionId.FORUM_RSVP_NOT_GOING, "Can't make it", sid),
            Button(ActionId.FORUM_PROPOSE, "Propose a topic", str(unit.id)),
        )
    else:
        footer = "This forum has taken place. " + footer
    text = f"The ML team and {unit.name} meet to review how the models are doing. Here is what the data puts on the agenda."
    attachments = (Attachment(invite_filename(fs, unit), to_ics(fs, unit, items), "Calendar invite (.ics)"),) if invite else ()
    return Message(title, text, (Section(fields=fields), *agenda_sections(items)), buttons, footer, attachments)


def invite_filename(fs: ForumSession, unit: BusinessUnit) -> str:
    """Name a session's calendar file, e.g. 'forum-sales-2026-12-01.ics'."""
    slug = "".join(c if c.isalnum() else "-" for c in unit.name.lower()).strip("-") or "unit"
    return f"forum-{slug}-{fs.starts_at.astimezone(zone(fs.timezone)).date().isoformat()}.ics"


def to_ics(fs: ForumSession, unit: BusinessUnit, items: Sequence[AgendaItem], *, cancelled: bool = False, stamp: datetime | None = None) -> bytes:
    """Return an RFC 5545 calendar with the session as one event in the unit's time zone (a cancellation when asked)."""
    tz = zone(fs.timezone)
    calendar = Calendar()
    calendar.add("prodid", "-//mlpulse//review forums//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", f"forum-session-{fs.id}@mlpulse")
    event.add("dtstamp", stamp or fs.announced_at or fs.starts_at)
    event.add("dtstart", fs.starts_at.astimezone(tz))
    event.add("dtend", fs.ends_at.astimezone(tz))
    event.add("summary", forum_title(unit))
    event.add("sequence", 1 if cancelled else 0)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if unit.channel:
        event.add("location", unit.channel)
    agenda = "\n".join(f"- {i.title}" for i in items) or "Nothing on the agenda yet."
    event.add("description", f"Agenda ({plural(len(items), 'item')}):\n{agenda}")
    # The zone's rules for the years around the event only: enough for any calendar, a
    # fraction of the size of the full history.
    year = fs.starts_at.year
    calendar.add_component(Timezone.from_tzinfo(tz, tzid=fs.timezone, first_date=date(year - 1, 1, 1), last_date=date(year + 2, 1, 1)))
    calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical
