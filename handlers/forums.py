"""Handlers layer: review forums, from the schedule to the last action item.

Each business unit has at most one recurring forum with the ML team, declared in
app.yaml (`units[].forum`) or set by a lead with `/mlforum schedule`. A schedule set
in chat sticks: the file's declaration no longer changes it, as a lead's retirement
of a model sticks.

The tick keeps the next session of every forum in the database and moves each
session along:

- `announce` days ahead, the announcement goes to the unit's channel (or, with no
  channel, to each unit contact by DM) with the agenda, RSVP buttons and an .ics;
- the agenda is rebuilt at most hourly (and at once when a topic is proposed); when
  it differs, the announcement is updated in place;
- a day before, a reminder goes into the announcement's thread;
- when it has ended, the leads are asked for notes and action items.

RSVPs update the announcement in place: each press queues an update that is
rendered, under a lock on the announcement, at the moment it is sent, so the last
update to land always shows every answer, however the presses interleave.

Action items are DMed to their owners, who are reminded on the due date and weekly
after it, at 10:00 their time, until someone marks the item done; open items roll
into the next agenda. Reminders of every kind go out on workdays only (Monday to
Friday; a forum's reminder moves back to the workday before, the others forward),
and an owner who is away is followed up the morning they are back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import live
from handlers.access import leads_only, visible_unit_ids
from handlers.actions import ActionId, FormId
from handlers.agenda import agenda_hash, announcement_view, build_agenda, forum_title, invite_filename, rsvp_summary, to_ics
from handlers.checkins import person_zone
from handlers.commands import Command
from handlers.context import Context, Outgoing, Policy
from handlers.declarations import ForumDecl
from handlers.matching import best_match
from handlers.periods import (
    Cadence,
    check_notice,
    local_instant,
    next_due_after,
    next_workday,
    parse_clock,
    parse_days,
    parse_every,
    parse_meeting_length,
    parse_on,
    previous_workday,
    zone,
)
from handlers.pickers import picked_person
from handlers.scheduled import BATCH, TickReport
from handlers.text import day, plural, quoted, relative_day, too_long, when
from handlers.views import Attachment, Button, Choice, Field, Form, Input, InputKind, Mention, Message, Reply, ReplyMode, Section, Style, form_errors, notice
from storage import delivery as delivery_store
from storage import forums as forum_store
from storage import people as people_store
from storage.models import ActionItem, BusinessUnit, ForumSession, ForumTopic, MessageKind, OutboundMessage, Person, ReviewForum, Subject

REMIND_BEFORE = timedelta(days=1)
AGENDA_MAX_AGE = timedelta(hours=1)
FOLLOW_UP_EVERY = timedelta(days=7)
FOLLOW_UP_AT = time(10, 0)
TOPIC_LIMIT = 300
NOTES_LIMIT = 5000
ITEM_LIMIT = 300
ITEM_SLOTS = 4
RSVP = {ActionId.FORUM_RSVP_GOING: "going", ActionId.FORUM_RSVP_NOT_GOING: "not_going"}
SUBCOMMANDS = (
    ("/mlforum list", "every review forum, its next date and RSVPs"),
    ("/mlforum propose <topic>", "put a topic on your unit's next forum"),
    ("/mlforum schedule [unit]", "set a unit's recurring forum (leads)"),
    ("/mlforum cancel <unit>", "cancel a unit's next forum, or stop its series (leads)"),
    ("/mlforum notes <unit>", "record the notes and action items of a unit's last forum (leads)"),
)


# ---- schedules and sessions -------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """A forum's recurrence, length and notice, however it was declared."""

    cadence: Cadence
    minutes: int
    announce_days: int

    @classmethod
    def from_decl(cls, decl: ForumDecl) -> Schedule:
        return cls(decl.to_cadence(), parse_meeting_length(decl.duration), parse_days(decl.announce))


def describe(forum: ReviewForum, unit: BusinessUnit) -> str:
    """Say a forum's schedule in words, e.g. 'every month on the first Tuesday at 15:00 (Europe/Berlin), 60 minutes'."""
    return f"{Cadence.from_json(forum.schedule).describe()} ({unit.timezone}), {forum.duration_minutes} minutes, announced {plural(forum.announce_days_ahead, 'day')} ahead"


async def save_forum(session: AsyncSession, unit: BusinessUnit, schedule: Schedule, now: datetime, *, from_config: bool) -> ReviewForum:
    """Create or change a unit's forum series, and lay out its next session."""
    forum = await forum_store.get_forum_for_unit(session=session, unit_id=unit.id) or ReviewForum(unit_id=unit.id, schedule="", created_at=now)
    changed = (forum.schedule, forum.duration_minutes, forum.active) != (schedule.cadence.to_json(), schedule.minutes, True)
    forum.schedule, forum.duration_minutes, forum.announce_days_ahead = schedule.cadence.to_json(), schedule.minutes, schedule.announce_days
    forum.active, forum.from_config = True, from_config
    session.add(forum)
    await session.flush()
    if changed:  # sessions nobody has heard of yet follow the new schedule; announced ones stand
        await forum_store.delete_unannounced_sessions(session=session, forum_id=forum.id, after=now)
    await ensure_next_session(session, forum, unit, now)
    return forum


async def ensure_next_session(session: AsyncSession, forum: ReviewForum, unit: BusinessUnit, now: datetime) -> None:
    """Make sure the forum's next occurrence exists as a session, the one after a cancelled one (the unique key makes this idempotent)."""
    tz, cadence = zone(unit.timezone), Cadence.from_json(forum.schedule)
    cancelled = set(await forum_store.list_cancelled_starts(session=session, forum_id=forum.id, after=now))
    starts = next_due_after(cadence, now, tz)
    while starts in cancelled:
        starts = next_due_after(cadence, starts, tz)
    await forum_store.create_session(
        session=session, forum_id=forum.id, starts_at=starts, ends_at=starts + timedelta(minutes=forum.duration_minutes), timezone=unit.timezone
    )


async def handle_sync_forums(session: AsyncSession, declared: dict[int, ForumDecl | None], units: dict[int, BusinessUnit], now: datetime) -> None:
    """Bring app.yaml's forums into the database; series set or stopped in chat are left alone."""
    for unit_id, decl in declared.items():
        forum = await forum_store.get_forum_for_unit(session=session, unit_id=unit_id)
        if forum is not None and not forum.from_config:
            continue
        if decl is not None:
            await save_forum(session, units[unit_id], Schedule.from_decl(decl), now, from_config=True)
        elif forum is not None and forum.active:
            await stop_series(session, forum, units[unit_id], now)


async def stop_series(session: AsyncSession, forum: ReviewForum, unit: BusinessUnit, now: datetime) -> int:
    """End a forum series: cancel its future sessions and tell whoever was invited; return how many were cancelled."""
    forum.active = False
    session.add(forum)
    future = await forum_store.list_future_sessions(session=session, forum_id=forum.id, after=now)
    for fs in future:
        await cancel_session(session, fs, now)
    return len(future)


async def cancel_session(session: AsyncSession, fs: ForumSession, now: datetime) -> None:
    """Cancel one session; if it was announced, mark the announcement cancelled and say so in its thread."""
    fs.status, fs.cancelled_at = "cancelled", now
    session.add(fs)
    await live.changed(session, Subject.FORUM_SESSION, fs.id, now)
    await _reply_to_announcements(session, fs, MessageKind.FORUM_CANCELLED, "cancelled", now)


async def _reply_to_announcements(session: AsyncSession, fs: ForumSession, kind: MessageKind, tag: str, now: datetime) -> None:
    """Queue a message of `kind` in the thread of every copy of a session's announcement."""
    await delivery_store.create_messages(
        session=session,
        rows=[
            dict(
                key=f"forum:{fs.id}:{tag}:{a.id}",
                kind=kind,
                subject_id=fs.id,
                person_id=a.person_id,
                channel=a.channel,
                thread_of_id=a.id,
                not_before=now,
            )
            for a in await _announcements(session, fs)
        ],
    )


async def _announcements(session: AsyncSession, fs: ForumSession) -> Sequence[OutboundMessage]:
    """Return every copy of a session's announcement (one in the unit's channel, or one per contact)."""
    return await delivery_store.list_messages(session=session, kind=MessageKind.FORUM_ANNOUNCE, subject_id=fs.id)


def reminder_at(fs: ForumSession) -> datetime:
    """Return when a session's reminder is due: a day before it, or on the last workday before that (in the session's zone)."""
    tz = zone(fs.timezone)
    local = (fs.starts_at - REMIND_BEFORE).astimezone(tz)
    return local_instant(previous_workday(local.date()), local.time(), tz)


async def refresh_agenda(session: AsyncSession, fs: ForumSession, forum: ReviewForum, unit: BusinessUnit, now: datetime) -> bool:
    """Rebuild a session's agenda; if it changed after the announcement, queue the update in place. Return whether it changed."""
    items = await build_agenda(session, fs, forum, unit)
    digest = agenda_hash(items)
    fs.agenda_built_at = now
    session.add(fs)
    if digest == fs.agenda_hash:
        return False
    await forum_store.update_agenda(session=session, session_id=fs.id, items=items)
    fs.agenda_hash = digest
    if fs.announced_at is not None:
        await live.changed(session, Subject.FORUM_SESSION, fs.id, now)
    return True


# ---- the tick --------------------------------------------------------------------


async def handle_forums_due(session: AsyncSession, policy: Policy, now: datetime, batch: int = BATCH) -> TickReport:
    """Lay out next sessions, announce, refresh agendas, remind, close ended forums, and follow up action items."""
    report = TickReport()
    for forum, unit in await forum_store.list_forums_without_next_session(session=session, now=now):
        await ensure_next_session(session, forum, unit, now)
    for fs, forum, unit in await forum_store.list_scheduled_sessions(session=session):
        if now >= fs.ends_at:
            await _close(session, fs, unit, now)
            report.forums += 1
        elif now < fs.starts_at:
            if fs.announced_at is None and now >= fs.starts_at - timedelta(days=forum.announce_days_ahead):
                await _announce(session, fs, forum, unit, now)
                report.forums += 1
                if now >= reminder_at(fs):  # short notice (a first start, a catch-up): the announcement says when, and is the only message
                    fs.reminded_at = now
            elif fs.announced_at is not None and (fs.agenda_built_at is None or now - fs.agenda_built_at >= AGENDA_MAX_AGE):
                await refresh_agenda(session, fs, forum, unit, now)
            if fs.announced_at is not None and fs.reminded_at is None and now >= reminder_at(fs):
                await _remind(session, fs, forum, unit, now)
                report.forums += 1
    due = await forum_store.list_action_items_to_follow_up(session=session, now=now, limit=batch)
    followed = []
    for item, owner in due:
        today = now.astimezone(person_zone(owner, policy)).date()
        if next_workday(today, owner.away_until) == today:  # else it waits for the owner's next workday, or their return
            item.followups += 1
            item.last_followup_at = now
            followed.append(item)
        assert item.due_on is not None, "only an action item with a due date is followed up"
        item.next_followup_at = next_followup_at(item.due_on, owner, policy, now)
        session.add(item)
    await delivery_store.create_messages(
        session=session,
        rows=[
            dict(key=f"action_item:{i.id}:followup:{i.followups}", kind=MessageKind.ACTION_ITEM_FOLLOWUP, subject_id=i.id, person_id=i.owner_id, not_before=now)
            for i in followed
        ],
    )
    report.followups, report.more = len(followed), len(due) == batch
    return report


def next_followup_at(due_on: date, owner: Person, policy: Policy, after: datetime) -> datetime:
    """Return an action item's first follow-up after `after`: its due date and each week after, at 10:00 in the owner's zone, on a workday they are not away."""
    tz = person_zone(owner, policy)
    while (moment := local_instant(next_workday(due_on, owner.away_until), FOLLOW_UP_AT, tz)) <= after:
        due_on += FOLLOW_UP_EVERY
    return moment


async def _announce(session: AsyncSession, fs: ForumSession, forum: ReviewForum, unit: BusinessUnit, now: datetime) -> None:
    fs.announced_at = now
    session.add(fs)
    await refresh_agenda(session, fs, forum, unit, now)
    if unit.channel:
        rows = [dict(key=f"forum:{fs.id}:announce", kind=MessageKind.FORUM_ANNOUNCE, subject_id=fs.id, channel=unit.channel, not_before=now)]
    else:
        contacts = await people_store.list_unit_contacts(session=session, unit_id=unit.id)
        rows = [dict(key=f"forum:{fs.id}:announce:{p.id}", kind=MessageKind.FORUM_ANNOUNCE, subject_id=fs.id, person_id=p.id, not_before=now) for p in contacts]
    await delivery_store.create_messages(session=session, rows=rows)


async def _remind(session: AsyncSession, fs: ForumSession, forum: ReviewForum, unit: BusinessUnit, now: datetime) -> None:
    fs.reminded_at = now
    session.add(fs)
    await refresh_agenda(session, fs, forum, unit, now)
    await _reply_to_announcements(session, fs, MessageKind.FORUM_REMINDER, "reminder", now)


async def _close(session: AsyncSession, fs: ForumSession, unit: BusinessUnit, now: datetime) -> None:
    """Mark an ended session held, take up its topics, and ask the leads for notes.

    A session that ended without ever being announced (the bot was down all along) is
    marked missed instead: nobody was invited, so there is nothing to write up.
    """
    if fs.announced_at is None:
        fs.status = "missed"
        session.add(fs)
        return
    fs.status = "held"
    session.add(fs)
    await forum_store.update_topics_discussed(session=session, unit_id=unit.id, session_id=fs.id, before=fs.starts_at)
    await live.changed(session, Subject.FORUM_SESSION, fs.id, now)  # the RSVP buttons go
    leads = await people_store.list_people(session=session, leads_only=True)
    await delivery_store.create_messages(
        session=session,
        rows=[
            dict(key=f"forum:{fs.id}:notes_prompt:{p.id}", kind=MessageKind.FORUM_NOTES_PROMPT, subject_id=fs.id, person_id=p.id, not_before=now) for p in leads
        ],
    )


async def next_forum_event_at(session: AsyncSession, now: datetime) -> datetime | None:
    """Return when the forums next need the scheduler: an announcement, a reminder, an end or a follow-up."""
    moments = [await forum_store.get_next_followup_at(session=session)]
    for fs, forum, _ in await forum_store.list_scheduled_sessions(session=session):
        if fs.announced_at is None:
            moments.append(fs.starts_at - timedelta(days=forum.announce_days_ahead))
        elif fs.reminded_at is None:
            moments.append(reminder_at(fs))
        moments.append(fs.ends_at)
    return min((m for m in moments if m is not None), default=None)


# ---- /mlforum --------------------------------------------------------------------


def help_view() -> Message:
    """Return what /mlforum can do."""
    return Message("Review forums", "\n".join(f"{command} — {what}" for command, what in SUBCOMMANDS))


async def handle_forum_command(session: AsyncSession, ctx: Context, args: str) -> Reply:
    """Answer `/mlforum [list | propose <topic> | schedule [unit] | cancel <unit> | notes <unit>]`."""
    word, _, rest = args.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("", "list"):
        return await handle_list(session, ctx)
    if word == "propose":
        return await _propose(session, ctx, rest)
    if word == "schedule":
        return await _schedule(session, ctx, rest)
    if word == "cancel":
        return await _cancel(session, ctx, rest)
    if word == "notes":
        return await _notes(session, ctx, rest)
    if word == "help":
        return Reply(help_view())
    return Reply(Message("I don't know that forum command", f"“/mlforum {args.strip()}” is not something I can do.\n\n{help_view().text}"))


async def _unit_named(session: AsyncSession, name: str, example: str) -> BusinessUnit | Reply:
    units = await people_store.list_units(session=session)
    match = best_match(name, [(u, (u.name,)) for u in units])
    if match.found is not None:
        return match.found
    known = ", ".join(u.name for u in (match.suggestions or units)) or "none"
    said = f"No business unit is called “{name}”." if name else "Which unit?"
    return notice(f"{said} {'Did you mean' if match.suggestions else 'Units'}: {known}? For example: {example}")


async def handle_list(session: AsyncSession, ctx: Context) -> Reply:
    """List the forums the actor can see, with their next session, RSVPs and what they can do about them."""
    unit_ids = await visible_unit_ids(session, ctx)
    forums = await forum_store.list_forums(session=session, unit_ids=None if unit_ids is None else sorted(unit_ids))
    if not forums:
        hint = " Leads set one up with /mlforum schedule, or in app.yaml under the unit's forum:." if ctx.actor.is_lead else ""
        return notice(f"No review forums are scheduled for your units yet.{hint}", "Review forums")
    tz = person_zone(ctx.actor, ctx.policy)
    sections = []
    for forum, unit in forums:
        fs = await forum_store.get_next_session(session=session, forum_id=forum.id, after=ctx.now)
        fields = [Field("Next", when(fs.starts_at, tz, yours=True) if fs else "not scheduled")]
        buttons = [Button(ActionId.FORUM_PROPOSE, "Propose a topic", str(unit.id))]
        if fs is not None:
            fields.append(Field("RSVPs", rsvp_summary(await forum_store.count_rsvps(session=session, session_id=fs.id))))
            if ctx.actor.is_lead:
                buttons.append(Button(ActionId.FORUM_CANCEL, "Cancel this one", str(fs.id), Style.DANGER))
        last = await forum_store.get_last_held_session(session=session, forum_id=forum.id, before=ctx.now)
        if ctx.actor.is_lead and last is not None and last.notes is None:
            buttons.append(Button(ActionId.FORUM_NOTES, "Record notes", str(last.id)))
        sections.append(Section(text=f"{forum_title(unit)}: {describe(forum, unit)}", fields=tuple(fields), buttons=tuple(buttons)))
    return Reply(Message(f"Review forums ({len(forums)})", "", tuple(sections), footer="/mlforum help lists everything you can do with forums."))


# ---- scheduling (leads) ----------------------------------------------------------


async def schedule_form(session: AsyncSession, unit: BusinessUnit | None) -> Form:
    """Return the form that sets a unit's forum, prefilled with its current schedule."""
    units = await people_store.list_units(session=session)
    forum = await forum_store.get_forum_for_unit(session=session, unit_id=unit.id) if unit else None
    cadence = Cadence.from_json(forum.schedule) if forum and forum.schedule else None
    return Form(
        form=FormId.FORUM_SCHEDULE,
        title="Schedule a review forum",
        intro="A recurring meeting between the ML team and one business unit, in the unit's time zone. Its announcement, with an agenda built from the data, goes to the unit's channel.",
        submit_label="Schedule",
        inputs=(
            Input("unit", "Business unit", InputKind.CHOICE, choices=tuple(Choice(str(u.id), u.name) for u in units), initial=str(unit.id) if unit else None),
            Input("every", "How often?", initial=f"{cadence.every} {cadence.unit}" if cadence else "1 month", hint="e.g. 1 month, 2 weeks"),
            Input(
                "on", "On which day?", initial=cadence.on_text() if cadence else "first tue", hint="monthly: first tue, last fri or 15; weekly: tue or mon, thu"
            ),
            Input("at", "At what time (the unit's time zone)?", initial=cadence.at.strftime("%H:%M") if cadence else "15:00", hint="HH:MM"),
            Input("duration", "How long?", initial=f"{forum.duration_minutes}m" if forum else "60m", hint="e.g. 60m or 1h 30m"),
            Input("announce", "Announce how many days ahead?", initial=f"{forum.announce_days_ahead}d" if forum else "7d", hint="e.g. 7d"),
        ),
    )


async def _schedule(session: AsyncSession, ctx: Context, name: str) -> Reply:
    if refusal := leads_only(ctx, "schedule review forums"):
        return refusal
    unit = None
    if name:
        named = await _unit_named(session, name, "/mlforum schedule Sales")
        if isinstance(named, Reply):
            return named
        unit = named
    return Reply(await schedule_form(session, unit), ReplyMode.FORM)


async def handle_schedule_submit(session: AsyncSession, ctx: Context, state: str, values: dict[str, str]) -> Reply:
    """Set a unit's forum from the schedule form, or return the form with what is wrong beside each field."""
    if refusal := leads_only(ctx, "schedule review forums"):
        return refusal
    raw = (values.get("unit") or "").strip()
    unit = await people_store.get_unit(session=session, unit_id=int(raw)) if raw.isdigit() else None
    errors: dict[str, str] = {} if unit else {"unit": "Choose the business unit this forum is with."}
    text = {name: (values.get(name) or "").strip() for name in ("every", "on", "at", "duration", "announce")}
    parsed: dict[str, Any] = {}
    for name, parse in (
        ("every", parse_every),
        ("on", lambda on: parse_on(on, parsed["every"][1]) if "every" in parsed else None),
        ("at", parse_clock),
        ("duration", parse_meeting_length),
        ("announce", parse_days),
    ):
        try:
            parsed[name] = parse(text[name])
        except ValueError as exc:
            errors[name] = str(exc)
    cadence = Cadence.parse(text["every"], text["on"], text["at"]) if {"every", "on", "at"} <= parsed.keys() else None
    if cadence is not None and "announce" in parsed:
        try:
            check_notice(parsed["announce"], cadence)
        except ValueError as exc:
            errors["announce"] = str(exc)
    if errors or unit is None or cadence is None:  # no unit or no cadence only with an error beside its field
        return form_errors(await schedule_form(session, unit), errors, values)
    forum = await save_forum(session, unit, Schedule(cadence, parsed["duration"], parsed["announce"]), ctx.now, from_config=False)
    fs = await forum_store.get_next_session(session=session, forum_id=forum.id, after=ctx.now)
    assert fs is not None, "save_forum lays out the next session"
    where = f"to {unit.channel}" if unit.channel else "by DM to the unit's contacts (the unit has no channel in app.yaml)"
    summary = f"{forum_title(unit)}: {describe(forum, unit)}.\nNext: {when(fs.starts_at, zone(unit.timezone))}. The announcement goes {where}."
    return notice(summary, "Forum scheduled")


# ---- cancelling (leads) ----------------------------------------------------------


async def _lead_unit_forum(session: AsyncSession, ctx: Context, name: str, what: str, example: str) -> tuple[BusinessUnit, ReviewForum | None] | Reply:
    """Return the unit a lead named and its forum, or a refusal or suggestions."""
    if refusal := leads_only(ctx, what):
        return refusal
    unit = await _unit_named(session, name, example)
    if isinstance(unit, Reply):
        return unit
    return unit, await forum_store.get_forum_for_unit(session=session, unit_id=unit.id)


async def _cancel(session: AsyncSession, ctx: Context, name: str) -> Reply:
    found = await _lead_unit_forum(session, ctx, name, "cancel review forums", "/mlforum cancel Sales")
    if isinstance(found, Reply):
        return found
    unit, forum = found
    fs = await forum_store.get_next_session(session=session, forum_id=forum.id, after=ctx.now) if forum and forum.active else None
    if forum is None or fs is None:
        return notice(f"{unit.name} has no upcoming forum to cancel.")
    tz = person_zone(ctx.actor, ctx.policy)
    return Reply(
        Message(
            f"Cancel the {forum_title(unit)}?",
            f"The next one is on {when(fs.starts_at, tz, yours=True)}. Cancel just that one, or stop the series; whoever was invited is told.",
            buttons=(
                Button(ActionId.FORUM_CANCEL_CONFIRM, f"Cancel {day(fs.starts_at.astimezone(zone(fs.timezone)).date())}", str(fs.id), Style.DANGER),
                Button(ActionId.FORUM_STOP, "Stop the series", str(forum.id), Style.DANGER),
            ),
        )
    )


async def handle_cancel_prompt(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Ask a lead to confirm cancelling one upcoming session: it cannot be undone, and everyone invited is told."""
    if refusal := leads_only(ctx, "cancel review forums"):
        return refusal
    fs = await forum_store.get_session(session=session, session_id=int(value)) if value.isdigit() else None
    if fs is None or fs.status != "scheduled" or fs.starts_at <= ctx.now:
        return notice("That forum is not upcoming any more, so there is nothing to cancel.")
    forum = await forum_store.must_get_forum(session=session, forum_id=fs.forum_id)
    unit = await people_store.must_get_unit(session=session, unit_id=forum.unit_id)
    told = " Everyone who saw the announcement is told, and it cannot be undone." if fs.announced_at else " It cannot be undone."
    text = f"The {forum_title(unit)} on {when(fs.starts_at, person_zone(ctx.actor, ctx.policy), yours=True)} will not take place.{told} The series goes on."
    buttons = (Button(ActionId.FORUM_CANCEL_CONFIRM, "Yes, cancel it", str(fs.id), Style.DANGER),)
    return Reply(Message(f"Cancel the {forum_title(unit)}?", text, buttons=buttons), ReplyMode.EPHEMERAL)


async def handle_cancel(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Cancel one upcoming session (leads only), once confirmed."""
    if refusal := leads_only(ctx, "cancel review forums"):
        return refusal
    fs = await forum_store.get_session(session=session, session_id=int(value), lock=True) if value.isdigit() else None
    if fs is None or fs.status != "scheduled" or fs.starts_at <= ctx.now:
        return notice("That forum is not upcoming any more, so there is nothing to cancel.")
    forum = await forum_store.must_get_forum(session=session, forum_id=fs.forum_id)
    unit = await people_store.must_get_unit(session=session, unit_id=forum.unit_id)
    await cancel_session(session, fs, ctx.now)
    await ensure_next_session(session, forum, unit, ctx.now)
    following = await forum_store.get_next_session(session=session, forum_id=forum.id, after=ctx.now)
    told = " Everyone who saw the announcement is told." if fs.announced_at else ""
    goes_on = f" The series goes on: the next one is on {when(following.starts_at, zone(fs.timezone))}." if following else " The series goes on."
    return Reply(
        Message("Forum cancelled", f"The {forum_title(unit)} on {when(fs.starts_at, zone(fs.timezone))} is cancelled.{told}{goes_on}"), ReplyMode.REPLACE
    )


async def handle_stop(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Stop a forum series (leads only); it stays stopped whatever app.yaml says."""
    if refusal := leads_only(ctx, "stop review forums"):
        return refusal
    forum = await forum_store.get_forum(session=session, forum_id=int(value)) if value.isdigit() else None
    if forum is None or not forum.active:
        return notice("That forum series has already stopped.")
    unit = await people_store.must_get_unit(session=session, unit_id=forum.unit_id)
    forum.from_config = False
    cancelled = await stop_series(session, forum, unit, ctx.now)
    return Reply(
        Message(
            "Forum series stopped",
            f"The {forum_title(unit)} will not meet again ({plural(cancelled, 'upcoming session')} cancelled). /mlforum schedule starts it again.",
        ),
        ReplyMode.REPLACE,
    )


# ---- RSVPs -----------------------------------------------------------------------


async def _rsvp(session: AsyncSession, ctx: Context, value: str, response: str) -> Reply:
    fs = await forum_store.get_session(session=session, session_id=int(value)) if value.isdigit() else None
    if fs is None:
        return notice("That forum no longer exists.")
    if fs.status == "cancelled":
        return notice("That forum was cancelled, so there is nothing to answer.")
    if fs.status != "scheduled" or ctx.now >= fs.starts_at:
        return notice("That forum has already started, so RSVPs are closed.")
    if ctx.actor.id is None:
        return notice("I could not tell who you are, so your answer was not recorded. Please try again.")
    earlier = await forum_store.get_rsvp(session=session, session_id=fs.id, person_id=ctx.actor.id)
    await forum_store.update_rsvp(session=session, session_id=fs.id, person_id=ctx.actor.id, response=response, at=ctx.now)
    if earlier is None or earlier.response != response:
        await live.changed(session, Subject.FORUM_SESSION, fs.id, ctx.now)  # the counts, on every copy
    forum = await forum_store.must_get_forum(session=session, forum_id=fs.forum_id)
    unit = await people_store.must_get_unit(session=session, unit_id=forum.unit_id)
    starts = when(fs.starts_at, person_zone(ctx.actor, ctx.policy), yours=True)
    if response == "going":
        return notice(f"See you at the {forum_title(unit)} on {starts}. The announcement has a calendar invite (.ics).", "You're going ✅")
    return notice(f"Noted: you can't make the {forum_title(unit)} on {starts}. Propose a topic if there is something it should cover.", "You can't make it")


async def handle_going(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Answer a forum invitation with *Going*."""
    return await _rsvp(session, ctx, value, RSVP[ActionId.FORUM_RSVP_GOING])


async def handle_not_going(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Answer a forum invitation with *Can't make it*."""
    return await _rsvp(session, ctx, value, RSVP[ActionId.FORUM_RSVP_NOT_GOING])


# ---- proposed topics -------------------------------------------------------------


async def _topic_units(session: AsyncSession, ctx: Context) -> list[BusinessUnit]:
    """Return the units with an active forum that the actor may propose topics to."""
    unit_ids = await visible_unit_ids(session, ctx)
    return [unit for _, unit in await forum_store.list_forums(session=session, unit_ids=None if unit_ids is None else sorted(unit_ids))]


def topic_form(units: list[BusinessUnit], unit_id: int | None = None, text: str = "") -> Form:
    """Return the form that proposes a topic for a unit's next forum."""
    return Form(
        form=FormId.FORUM_TOPIC,
        title="Propose a forum topic",
        intro="What should the ML team and the business talk about next time? It goes on the agenda of the unit's next forum.",
        submit_label="Propose",
        inputs=(
            Input(
                "unit",
                "Which unit's forum?",
                InputKind.CHOICE,
                choices=tuple(Choice(str(u.id), u.name) for u in units),
                initial=str(unit_id) if unit_id else None,
            ),
            Input("topic", "Topic", InputKind.LONG_TEXT, max_length=TOPIC_LIMIT, initial=text or None, hint="e.g. The new pricing tiers from January"),
        ),
    )


async def _propose(session: AsyncSession, ctx: Context, text: str) -> Reply:
    units = await _topic_units(session, ctx)
    if not units:
        return notice("None of your units has a review forum yet, so there is no agenda to add to. An ML lead can schedule one.")
    if text and len(units) == 1:
        return await handle_topic_submit(session, ctx, "", {"unit": str(units[0].id), "topic": text})
    return Reply(topic_form(units, units[0].id if len(units) == 1 else None, text), ReplyMode.FORM)


async def handle_propose(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Open the topic form from a button, for the unit whose id is `value`."""
    units = await _topic_units(session, ctx)
    if not units:
        return notice("None of your units has a review forum yet, so there is no agenda to add to. An ML lead can schedule one.")
    return Reply(topic_form(units, int(value) if value.isdigit() else None), ReplyMode.FORM)


async def handle_topic_submit(session: AsyncSession, ctx: Context, state: str, values: dict[str, str]) -> Reply:
    """Put a proposed topic on a unit's next agenda, or return the form with what is wrong."""
    units = await _topic_units(session, ctx)
    raw, text = (values.get("unit") or "").strip(), " ".join((values.get("topic") or "").split())
    unit = next((u for u in units if str(u.id) == raw), None)
    errors = {}
    if unit is None:
        errors["unit"] = "Choose one of your units with a forum." if units else "None of your units has a review forum yet."
    if not text:
        errors["topic"] = "Write the topic you would like discussed."
    elif long := too_long(text, TOPIC_LIMIT):
        errors["topic"] = long
    elif unit is not None and any(t.text.lower() == text.lower() for t in await forum_store.list_open_topics(session=session, unit_id=unit.id)):
        errors["topic"] = "That topic is already on the agenda."
    if errors or unit is None:  # no unit only with an error beside its field
        return form_errors(topic_form(units, unit.id if unit else None, text), errors, values)
    await forum_store.create_topic(session=session, topic=ForumTopic(unit_id=unit.id, proposed_by_id=ctx.actor.id, text=text, created_at=ctx.now))
    forum = await forum_store.get_forum_for_unit(session=session, unit_id=unit.id)
    assert forum is not None, "the units offered are those with a forum"
    fs = await forum_store.get_next_session(session=session, forum_id=forum.id, after=ctx.now)
    if fs is not None and fs.starts_at > ctx.now and fs.announced_at is not None:
        await refresh_agenda(session, fs, forum, unit, ctx.now)
    next_one = f" on {when(fs.starts_at, person_zone(ctx.actor, ctx.policy), yours=True)}" if fs and fs.starts_at > ctx.now else ""
    return notice(f"“{text}” is on the agenda of the next {forum_title(unit)}{next_one}.", "Topic proposed")


# ---- notes and action items (leads) ----------------------------------------------


def notes_form(fs: ForumSession, unit: BusinessUnit) -> Form:
    """Return the form that records a held session's notes and up to four action items."""
    inputs = [Input("notes", "Notes", InputKind.LONG_TEXT, max_length=NOTES_LIMIT, initial=fs.notes, hint="What was discussed and decided")]
    for n in range(1, ITEM_SLOTS + 1):
        inputs += [
            Input(f"item_{n}", f"Action item {n}", required=False, max_length=ITEM_LIMIT),
            Input(f"owner_{n}", f"Owner of item {n}", InputKind.PERSON, required=False),
            Input(f"due_{n}", f"Due date of item {n}", InputKind.DATE, required=False),
        ]
    return Form(
        form=FormId.FORUM_NOTES,
        title="Forum notes",
        intro=f"{forum_title(unit)} of {day(fs.starts_at.astimezone(zone(fs.timezone)).date())}. Each action item's owner is told, reminded when it is due, and it stays on the agenda until done. Submit again to add more.",
        state=str(fs.id),
        submit_label="Save notes",
        inputs=tuple(inputs),
    )


async def _held_session(session: AsyncSession, ctx: Context, value: str) -> tuple[ForumSession, BusinessUnit] | Reply:
    if refusal := leads_only(ctx, "record forum notes"):
        return refusal
    fs = await forum_store.get_session(session=session, session_id=int(value), lock=True) if value.isdigit() else None
    if fs is None or fs.status == "cancelled":
        return notice("That forum did not take place, so there are no notes to record.")
    if fs.starts_at > ctx.now:
        return notice("That forum has not started yet; record its notes once it has.")
    forum = await forum_store.must_get_forum(session=session, forum_id=fs.forum_id)
    return fs, await people_store.must_get_unit(session=session, unit_id=forum.unit_id)


async def _notes(session: AsyncSession, ctx: Context, name: str) -> Reply:
    found = await _lead_unit_forum(session, ctx, name, "record forum notes", "/mlforum notes Sales")
    if isinstance(found, Reply):
        return found
    unit, forum = found
    last = await forum_store.get_last_held_session(session=session, forum_id=forum.id, before=ctx.now) if forum else None
    if last is None:
        return notice(f"{unit.name} has had no forum yet, so there are no notes to record.")
    return Reply(notes_form(last, unit), ReplyMode.FORM)


async def handle_notes(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Open the notes form of a held session from a button."""
    found = await _held_session(session, ctx, value)
    return found if isinstance(found, Reply) else Reply(notes_form(*found), ReplyMode.FORM)


async def handle_notes_submit(session: AsyncSession, ctx: Context, state: str, values: dict[str, str]) -> Reply:
    """Save a session's notes and action items and tell each owner, or return the form with what is wrong."""
    found = await _held_session(session, ctx, state)
    if isinstance(found, Reply):
        return found
    fs, unit = found
    notes = (values.get("notes") or "").strip()
    errors: dict[str, str] = {}
    if not notes:
        errors["notes"] = "Write a few lines on what was discussed."
    elif long := too_long(notes, NOTES_LIMIT):
        errors["notes"] = long
    items: list[tuple[str, Person, date | None]] = []
    held_on = fs.starts_at.astimezone(zone(fs.timezone)).date()
    for n in range(1, ITEM_SLOTS + 1):
        text, who, due = (" ".join((values.get(f"{k}_{n}") or "").split()) for k in ("item", "owner", "due"))
        if not (text or who or due):
            continue
        if not text:
            errors[f"item_{n}"] = "Say what needs doing, or clear its owner and date."
        elif long := too_long(text, ITEM_LIMIT):
            errors[f"item_{n}"] = long
        owner = None
        if not who:
            errors[f"owner_{n}"] = "Every action item needs an owner."
        else:
            owner, error = await picked_person(session, who)
            if error:
                errors[f"owner_{n}"] = error
        due_on = None
        if due:
            try:
                due_on = date.fromisoformat(due)
            except ValueError:
                errors[f"due_{n}"] = f"{quoted(due)} is not a date; use YYYY-MM-DD."
            else:
                if due_on < held_on:
                    errors[f"due_{n}"] = "The due date is before the forum itself."
        if owner is not None and text and f"item_{n}" not in errors:
            items.append((text, owner, due_on))
    if errors:
        return form_errors(notes_form(fs, unit), errors, values)
    first_time = fs.notes is None
    fs.notes, fs.notes_by_id, fs.notes_at = notes, ctx.actor.id, ctx.now
    session.add(fs)
    rows = [
        dict(
            session_id=fs.id,
            owner_id=owner.id,
            text=text,
            due_on=due_on,
            created_at=ctx.now,
            followups=0,
            next_followup_at=next_followup_at(due_on, owner, ctx.policy, ctx.now) if due_on else None,
        )
        for text, owner, due_on in items
    ]
    await forum_store.create_action_items(session=session, rows=rows)
    recorded = await forum_store.list_session_action_items(session=session, session_id=fs.id)
    await delivery_store.create_messages(
        session=session,
        rows=[
            dict(key=f"action_item:{i.id}:assigned", kind=MessageKind.ACTION_ITEM_ASSIGNED, subject_id=i.id, person_id=i.owner_id, not_before=ctx.now)
            for i, _ in recorded
        ],
    )
    await live.changed(session, Subject.FORUM_SESSION, fs.id, ctx.now)  # the leads' prompts say it is done; posted notes show the new ones
    if first_time:
        announcements = await _announcements(session, fs)
        targets = [dict(channel=a.channel, person_id=a.person_id, thread_of_id=a.id, key=f"forum:{fs.id}:notes:{a.id}") for a in announcements if a.channel]
        if not targets and unit.channel:
            targets = [dict(channel=unit.channel, key=f"forum:{fs.id}:notes")]
        await delivery_store.create_messages(
            session=session, rows=[dict(kind=MessageKind.FORUM_NOTES, subject_id=fs.id, not_before=ctx.now, **t) for t in targets]
        )
    return notice(f"Notes saved with {plural(len(recorded), 'action item')}; each owner has been told.", "Forum notes saved")


async def handle_item_done(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Mark an action item done (its owner or a lead)."""
    item = await forum_store.get_action_item(session=session, item_id=int(value), lock=True) if value.isdigit() else None
    if item is None:
        return notice("That action item no longer exists.")
    if not ctx.actor.is_lead and item.owner_id != ctx.actor.id:
        owner = await people_store.must_get_person(session=session, person_id=item.owner_id)
        return notice(f"Only {owner.display_name} (its owner) or an ML lead can mark this action item done.")
    if item.done_at is None:
        item.done_at, item.done_by_id, item.next_followup_at = ctx.now, ctx.actor.id, None
        session.add(item)
        await live.changed(session, Subject.ACTION_ITEM, item.id, ctx.now, replacing=ctx)
    return Reply(await action_item_view(session, item), ReplyMode.REPLACE)


async def action_item_view(session: AsyncSession, item: ActionItem, note: str = "") -> Message:
    """Return an action item as its owner sees it, with *Mark done* while it is open."""
    fs = await forum_store.must_get_session(session=session, session_id=item.session_id)
    forum = await forum_store.must_get_forum(session=session, forum_id=fs.forum_id)
    unit = await people_store.must_get_unit(session=session, unit_id=forum.unit_id)
    held = day(fs.starts_at.astimezone(zone(fs.timezone)).date())
    fields = (Field("From", f"{forum_title(unit)} of {held}"), Field("Due", day(item.due_on) if item.due_on else "no date set"))
    if item.done_at is not None:
        return Message(f"✅ Done: {item.text}", f"Marked done on {day(item.done_at.date())}. Thank you!", (Section(fields=fields),))
    text = "\n".join(t for t in (note, "It stays on the unit's forum agenda until it is marked done.") if t)
    return Message(f"Action item: {item.text}", text, (Section(fields=fields),), (Button(ActionId.ACTION_ITEM_DONE, "Mark done", str(item.id), Style.PRIMARY),))


# ---- what queued forum messages say ----------------------------------------------


def _short_notice(view: Message, fs: ForumSession, soon: str, now: datetime) -> Message:
    """Say at the top of an announcement when the forum is, once its reminder would be due (it then stands for the reminder)."""
    if fs.status != "scheduled" or now < reminder_at(fs) or now >= fs.starts_at:
        return view
    return replace(view, text=f"⏰ It is {soon}: {view.sections[0].fields[0].value}.\n{view.text}")


OUTBOUND = (
    MessageKind.FORUM_ANNOUNCE,
    MessageKind.FORUM_REMINDER,
    MessageKind.FORUM_CANCELLED,
    MessageKind.FORUM_NOTES_PROMPT,
    MessageKind.FORUM_NOTES,
    MessageKind.ACTION_ITEM_ASSIGNED,
    MessageKind.ACTION_ITEM_FOLLOWUP,
)


async def render_outbound(session: AsyncSession, out: Outgoing) -> Message | None:
    """Return the view of a forum or action-item message, or None when it is moot; an update shows its subject as it stands now."""
    kind, subject_id, recipient, now, update = out.kind, out.subject_id, out.recipient, out.now, out.update
    if kind.subject == Subject.ACTION_ITEM:
        item = await forum_store.get_action_item(session=session, item_id=subject_id)
        if item is None:
            return None
        if item.done_at is not None:
            return await action_item_view(session, item) if update else None
        if kind == MessageKind.ACTION_ITEM_ASSIGNED:
            return await action_item_view(session, item, "You were given this action item at a review forum.")
        late = f"It was due on {day(item.due_on)}." if item.due_on else ""
        return await action_item_view(session, item, f"A reminder: is this done? {late}".strip())
    fs = await forum_store.get_session(session=session, session_id=subject_id)
    if fs is None:
        return None
    forum = await forum_store.must_get_forum(session=session, forum_id=fs.forum_id)
    unit = await people_store.must_get_unit(session=session, unit_id=forum.unit_id)
    reader = recipient.timezone if recipient else None
    items = await forum_store.list_agenda(session=session, session_id=fs.id)
    counts = await forum_store.count_rsvps(session=session, session_id=fs.id)
    upcoming = fs.status == "scheduled" and now < fs.starts_at
    soon = relative_day(fs.starts_at, now, zone(reader or fs.timezone))  # "today", "tomorrow" or "on Mon 7 Dec 2026", as of this rendering
    if kind == MessageKind.FORUM_ANNOUNCE:
        if not update and not upcoming:
            return None
        return _short_notice(announcement_view(fs, forum, unit, items, counts, reader_zone=reader, invite=not update), fs, soon, now)
    if kind == MessageKind.FORUM_REMINDER:
        if not upcoming:
            return reminder_over(fs, unit, reader) if update else None
        view = announcement_view(fs, forum, unit, items, counts, reader_zone=reader, invite=False)
        text = f"{soon[0].upper()}{soon[1:]}: {forum_title(unit)}, {view.sections[0].fields[0].value}. {rsvp_summary(counts)} so far; {plural(len(items), 'item')} on the agenda above."
        return Message(f"⏰ {forum_title(unit)} is {soon}", text, buttons=view.buttons)
    if kind == MessageKind.FORUM_CANCELLED:
        invite = Attachment(invite_filename(fs, unit), to_ics(fs, unit, items, cancelled=True, stamp=fs.cancelled_at), "Calendar cancellation (.ics)")
        return Message(
            f"❌ {forum_title(unit)} cancelled", f"The forum on {when(fs.starts_at, zone(reader or fs.timezone))} will not take place.", attachments=(invite,)
        )
    if kind == MessageKind.FORUM_NOTES_PROMPT:
        title = f"How did the {forum_title(unit)} go?"
        if fs.notes is not None:
            by = await people_store.must_get_person(session=session, person_id=fs.notes_by_id) if fs.notes_by_id else None
            return Message(title, f"✅ Notes recorded{' by ' + by.display_name if by else ''}; each action item's owner has been told.") if update else None
        if fs.status != "held":
            return None
        return Message(
            title,
            f"It took place on {when(fs.starts_at, zone(reader or fs.timezone))}. Record its notes and action items: each owner is told and followed up until done.",
            buttons=(Button(ActionId.FORUM_NOTES, "Record notes", str(fs.id), Style.PRIMARY),),
        )
    if kind == MessageKind.FORUM_NOTES:
        recorded = await forum_store.list_session_action_items(session=session, session_id=fs.id)
        sections = [Section(text=fs.notes or "")]
        if recorded:
            lines = "\n".join(f"• {i.text}" + (f" (due {day(i.due_on)})" if i.due_on else "") for i, _ in recorded)
            sections.append(Section(text=f"Action items:\n{lines}", mentions=tuple(Mention(p.id, p.display_name) for _, p in recorded)))
        return Message(f"📝 Notes: {forum_title(unit)} of {day(fs.starts_at.astimezone(zone(fs.timezone)).date())}", "", tuple(sections))
    raise ValueError(f"unknown forum message kind {kind!r}")


def reminder_over(fs: ForumSession, unit: BusinessUnit, reader: str | None) -> Message:
    """Return a forum reminder once its forum is no longer ahead: what became of it, with nothing left to press."""
    at = when(fs.starts_at, zone(reader or fs.timezone))
    if fs.status == "cancelled":
        return Message(f"❌ {forum_title(unit)} cancelled", f"The forum on {at} did not take place.")
    return Message(f"{forum_title(unit)} has taken place", f"It met on {at}. RSVPs are closed.")


COMMAND = Command(
    "mlforum",
    handle_forum_command,
    description="Review forums with each business unit",
    usage_hint="[list | propose <topic> | schedule <unit> | cancel <unit> | notes <unit>]",
    help=(
        ("/mlforum [list]", "the review forums with each business unit: next dates, RSVPs, agendas"),
        ("/mlforum propose <topic>", "put a topic on your unit's next review forum"),
        ("/mlforum schedule | cancel | notes <unit>", "set up, cancel or write up a unit's forum (leads)"),
    ),
    words=("forum",),
    suggestions=(("forum", "Review forums with each business unit: dates, RSVPs, agendas (forum propose <topic>)"),),
)
