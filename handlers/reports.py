"""Handlers layer: failure reports, from the form to resolved or won't fix.

Anyone can file a report about any active model, from `/mlreport`, a check-in's
*Report a problem* button or a message shortcut. The model's owner hears of it at
once; a critical one also goes to the unit's channel, without the reporter's name.
Leads and the owner move it through `open → triaged → analysing → resolved |
wont_fix`; every move is an event with who and when, and a named reporter is told.

An anonymous report keeps no trace of who filed it: no reporter, no actor on its
events, no link to their check-in, nothing in a log line. The reporter keeps the
receipt code, and `/mlreport status CODE` shows the report to whoever holds it.
The platform wiring helps: it lets a person reach these handlers without being
recorded first (see `identity_optional`), so `ctx.actor.id` may be None here.

A report filed about a chat message (Slack's message shortcut) never keeps anything
that could lead back to the reporter. A message's link carries its conversation and
its time, which in a direct message with the bot name the reporter as surely as their
id would. So:
- a message in a DM or any private conversation is neither linked nor quoted, for
  any report, and the form says so before it is sent (the owner could not open a
  link into someone else's private conversation anyway);
- a message in a public channel is linked from a named report only; an anonymous
  one keeps no link, and the reporter may choose to quote the message's text.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import live
from handlers.access import can_see_model
from handlers.actions import ActionId, FormId
from handlers.checkins import person_zone
from handlers.commands import Command
from handlers.context import Context, Outgoing, Policy
from handlers.health import refresh_model_health
from handlers.periods import zone
from handlers.pickers import match_model, model_choices, model_error, no_such_model, picked_model, picked_person
from handlers.text import day, quoted, too_long, when
from handlers.views import (
    Button,
    Choice,
    Field,
    Form,
    Input,
    InputKind,
    Message,
    Reply,
    ReplyMode,
    Section,
    Style,
    checked,
    form_errors,
    notice,
    unclear_yes_no,
)
from storage import checkins as checkin_store
from storage import delivery as delivery_store
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage import reports as report_store
from storage.models import FailureReport, MessageKind, MLModel, Person, ReportEvent, Subject

TEXT_LIMIT = 3000
# Receipt codes avoid letters and digits that read alike (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class Status(StrEnum):
    OPEN = "open"
    TRIAGED = "triaged"
    ANALYSING = "analysing"
    RESOLVED = "resolved"
    WONT_FIX = "wont_fix"


STATUS_LABELS = {
    Status.OPEN: "Open",
    Status.TRIAGED: "Triaged",
    Status.ANALYSING: "Analysing",
    Status.RESOLVED: "Resolved",
    Status.WONT_FIX: "Won't fix",
}
# A closed report, and the mark its messages show.
CLOSED = {Status.RESOLVED: "✅", Status.WONT_FIX: "⛔"}
# Where a report may go next. A closed report can be reopened; skipping a step is fine
# ("resolved" straight from "triaged" when the cause was obvious).
NEXT = {
    Status.OPEN: (Status.TRIAGED, Status.WONT_FIX),
    Status.TRIAGED: (Status.ANALYSING, Status.RESOLVED, Status.WONT_FIX),
    Status.ANALYSING: (Status.RESOLVED, Status.WONT_FIX),
    Status.RESOLVED: (Status.OPEN,),
    Status.WONT_FIX: (Status.OPEN,),
}
# How a reporter hears of a move: "Your report … is now being analysed".
STATUS_NEWS = {
    Status.OPEN: "is now open",
    Status.TRIAGED: "is now triaged",
    Status.ANALYSING: "is now being analysed",
    Status.RESOLVED: "is now resolved",
    Status.WONT_FIX: "is now closed without a fix",
}
MOVE_LABELS = {
    Status.TRIAGED: "Triage…",
    Status.ANALYSING: "Start analysis…",
    Status.RESOLVED: "Resolve…",
    Status.WONT_FIX: "Won't fix…",
    Status.OPEN: "Reopen",
}
IMPACTS = (
    Choice("none", "None: an annoyance"),
    Choice("minor", "Minor: we work around it"),
    Choice("major", "Major: decisions or money are affected"),
    Choice("critical", "Critical: we had to stop relying on it"),
)
FREQUENCIES = (
    Choice("once", "It happened once"),
    Choice("sometimes", "Now and then"),
    Choice("often", "Several times a week"),
    Choice("always", "All the time"),
)
ROOT_CAUSES = (
    Choice("data_drift", "Data drift"),
    Choice("concept_drift", "Concept drift"),
    Choice("pipeline_bug", "Pipeline bug"),
    Choice("integration", "Integration"),
    Choice("business_change", "Business process change"),
    Choice("adoption", "Adoption"),
    Choice("other", "Other"),
)


def _label(choices: tuple[Choice, ...], value: str | None) -> str:
    return next((c.label for c in choices if c.value == value), value or "—")


QUOTE_LIMIT = 1000


@dataclass(frozen=True)
class ChatMessage:
    """The chat message a report is about, as the platform describes it: where it lives decides what a report may keep."""

    private: bool = True
    link: str | None = None
    text: str = ""


def new_receipt_code() -> str:
    """Return a fresh receipt code, e.g. 'R-7KQM-3XPA'."""

    def pick() -> str:
        return "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))

    return f"R-{pick()}-{pick()}"


# Filing


async def report_form(
    session: AsyncSession, ctx: Context, model: MLModel | None = None, *, checkin_id: int | None = None, about: ChatMessage | None = None, intro: str = ""
) -> Form:
    """Return the failure report form, prefilled with what is already known."""
    quote = about is not None and not about.private and bool(about.text.strip())
    if about is not None and about.private:
        intro = intro or (
            "The message you chose is in a direct message or a private conversation, so this report will not link to it or quote it. "
            "Describe what happened below."
        )
    elif about is not None:
        intro = intro or (
            "This report links to the message you chose, unless you file it anonymously: an anonymous report keeps no link, "
            "but it may quote the message's text."
        )
    state: dict[str, int | str | None] = {"checkin": checkin_id}
    if about is not None:
        state["about"] = "private" if about.private else "public"
    if about is not None and not about.private:
        state |= {"link": about.link, "quote": about.text.strip()[:QUOTE_LIMIT] if quote else None}
    inputs = [
        Input("model", "Which model?", InputKind.CHOICE, choices=await model_choices(session, ctx, model), initial=model.key if model else None),
        Input("what_happened", "What happened?", InputKind.LONG_TEXT, max_length=TEXT_LIMIT),
        Input("since", "Since when? (YYYY-MM-DD)", InputKind.DATE, required=False),
        Input("impact", "Business impact", InputKind.CHOICE, choices=IMPACTS, initial="minor"),
        Input("frequency", "How often?", InputKind.CHOICE, required=False, choices=FREQUENCIES),
        Input(
            "anonymous",
            "File anonymously",
            InputKind.CHECKBOX,
            required=False,
            hint="Nothing about you is stored, not even in logs. You get a receipt code to follow the report.",
        ),
    ]
    if quote and about is not None:
        inputs.append(Input("quote", "Quote the message's text in the report", InputKind.CHECKBOX, required=False, hint=f"“{_clip(about.text, 140)}”"))
    return Form(
        form=FormId.REPORT,
        title="Report a problem",
        intro=intro or "Tell the ML team what went wrong. The model's owner hears of it at once.",
        state=json.dumps({k: v for k, v in state.items() if v}),
        submit_label="Send report",
        inputs=tuple(inputs),
    )


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(form: Form) -> Reply:
    if not form.inputs[0].choices:
        return notice("There are no active models in mlpulse yet, so there is nothing to report on.")
    return Reply(form, ReplyMode.FORM)


async def handle_open(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Open the report form; `value` is '', 'model:KEY' or 'checkin:ID'."""
    kind, _, ref = value.partition(":")
    if kind == "checkin" and ref.isdigit():
        checkin = await checkin_store.get_checkin(session=session, checkin_id=int(ref))
        if checkin is not None:
            model = await portfolio_store.must_get_model(session=session, model_id=checkin.model_id)
            return _open(await report_form(session, ctx, model, checkin_id=checkin.id))
    if kind == "model":
        return _open(await report_form(session, ctx, await picked_model(session, ref)))
    return _open(await report_form(session, ctx))


async def handle_open_about(session: AsyncSession, ctx: Context, message: ChatMessage) -> Reply:
    """Open the report form about a chat message (a message shortcut), telling the reporter what the report will keep of it."""
    link = message.link if message.link and len(message.link) <= 400 else None
    return _open(await report_form(session, ctx, about=ChatMessage(message.private, link, message.text)))


async def handle_report_command(session: AsyncSession, ctx: Context, args: str) -> Reply:
    """Answer `/mlreport [model]` with the form, or `/mlreport status CODE` with a report's state."""
    words = args.split()
    if words and words[0].lower() == "status":
        if len(words) != 2:
            return notice("Give the receipt code, e.g. /mlreport status R-7KQM-3XPA")
        return await handle_status_by_code(session, ctx, words[1])
    if not words:
        return _open(await report_form(session, ctx))
    match = await match_model(session, args)
    if match.found is not None:
        return _open(await report_form(session, ctx, match.found))
    return _open(await report_form(session, ctx, intro=f"{no_such_model(args, match)} Choose it from the list below."))


async def handle_report_submit(session: AsyncSession, ctx: Context, state: str, values: dict[str, str]) -> Reply:
    """File a report, or return the form with what is wrong beside each field."""
    try:
        meta = json.loads(state or "{}")
    except ValueError:
        meta = {}
    anonymous = checked(values.get("anonymous"))
    if ctx.request_id:
        earlier = await report_store.get_report_by_request(session=session, request_key=ctx.request_id)
        if earlier is not None:  # the same submission again (a retry): file once, answer the same
            return _receipt(earlier, await portfolio_store.must_get_model(session=session, model_id=earlier.model_id))
    model = await picked_model(session, values.get("model"))
    what = (values.get("what_happened") or "").strip()
    since_text = (values.get("since") or "").strip()
    impact = (values.get("impact") or "").strip()
    frequency = (values.get("frequency") or "").strip() or None
    errors = unclear_yes_no(values, "anonymous", "quote")
    if model is None:
        errors["model"] = await model_error(session, values.get("model"), "Choose the model this is about.")
    if not what:
        errors["what_happened"] = "Tell us what happened: a sentence or two is enough."
    elif long := too_long(what, TEXT_LIMIT):
        errors["what_happened"] = long
    since = None
    if since_text:
        try:
            since = date.fromisoformat(since_text)
        except ValueError:
            errors["since"] = f"{quoted(since_text)} is not a date; use YYYY-MM-DD, e.g. 2026-11-02."
        else:
            if since > ctx.now.astimezone(person_zone(ctx.actor, ctx.policy)).date():
                errors["since"] = "That date is in the future. When did you first notice the problem?"
    if impact not in {c.value for c in IMPACTS}:
        errors["impact"] = "Choose the business impact."
    if frequency and frequency not in {c.value for c in FREQUENCIES}:
        errors["frequency"] = "Choose how often it happens."
    if not anonymous and ctx.actor.id is None and "anonymous" not in errors:
        errors["anonymous"] = "mlpulse could not tell who you are here; tick this to file anonymously."
    if errors or model is None:  # no model only with an error beside its field
        about = ChatMessage(meta["about"] == "private", meta.get("link"), meta.get("quote", "")) if meta.get("about") else None
        form = await report_form(session, ctx, model, checkin_id=meta.get("checkin"), about=about)
        return form_errors(form, errors, values)

    # Anonymous: nothing that leads back to the reporter, and the check-in is theirs.
    report = await report_store.create_report(
        session=session,
        report=FailureReport(
            model_id=model.id,
            receipt_code=new_receipt_code(),
            anonymous=anonymous,
            reporter_id=None if anonymous else ctx.actor.id,
            what_happened=what,
            since=since,
            impact=impact,
            frequency=frequency,
            checkin_id=None if anonymous else meta.get("checkin"),
            link=None if anonymous else meta.get("link"),
            quoted=meta.get("quote") if checked(values.get("quote")) else None,
            request_key=ctx.request_id,
            created_at=ctx.now,
            updated_at=ctx.now,
        ),
    )
    await report_store.create_event(
        session=session,
        event=ReportEvent(report_id=report.id, to_status=Status.OPEN, actor_id=report.reporter_id, at=ctx.now),
    )
    await _tell_on_filing(session, report, model, ctx)
    await refresh_model_health(session, model, ctx.now)
    return _receipt(report, model)


async def _tell_on_filing(session: AsyncSession, report: FailureReport, model: MLModel, ctx: Context) -> None:
    """Queue the owner's DM and, for a critical report, the unit's alert (or the leads', without a channel)."""
    rows = [dict(key=f"report:{report.id}:owner", kind=MessageKind.REPORT_NEW, subject_id=report.id, person_id=model.owner_id, not_before=ctx.now)]
    if report.impact == "critical":
        unit = await people_store.must_get_unit(session=session, unit_id=model.unit_id)
        if unit.channel:
            rows.append(
                dict(key=f"report:{report.id}:critical", kind=MessageKind.REPORT_CRITICAL, subject_id=report.id, channel=unit.channel, not_before=ctx.now)
            )
        else:
            for lead in await people_store.list_people(session=session, leads_only=True):
                rows.append(
                    dict(
                        key=f"report:{report.id}:critical:{lead.id}",
                        kind=MessageKind.REPORT_CRITICAL,
                        subject_id=report.id,
                        person_id=lead.id,
                        not_before=ctx.now,
                    )
                )
    await delivery_store.create_messages(session=session, rows=rows)


def _receipt(report: FailureReport, model: MLModel) -> Reply:
    if report.anonymous:
        text = (
            f"Thank you. Your report about {model.name} was filed anonymously: your name was not stored anywhere.\n"
            f"Your receipt code is {report.receipt_code}. Keep it: it is the only way to follow this report, "
            f"with /mlreport status {report.receipt_code}"
        )
    else:
        text = (
            f"Thank you. Your report about {model.name} is with its owner, and you will hear of every change.\n"
            f"Receipt code: {report.receipt_code} (/mlreport status {report.receipt_code})"
        )
    return Reply(Message("Report filed", text), ReplyMode.EPHEMERAL)


# Reading


async def handle_status_by_code(session: AsyncSession, ctx: Context, code: str) -> Reply:
    """Show a report's state to whoever holds its receipt code (names of people are left out)."""
    normalized = code.strip().upper()
    if not normalized.startswith("R-"):
        normalized = f"R-{normalized}"
    report = await report_store.get_report_by_code(session=session, code=normalized)
    if report is None:
        return notice(f"No report has the receipt code {quoted(code)}. Codes look like R-7KQM-3XPA.")
    model = await portfolio_store.must_get_model(session=session, model_id=report.model_id)
    events = await report_store.list_events(session=session, report_id=report.id)
    tz = person_zone(ctx.actor, ctx.policy)
    fields = [
        Field("Model", model.name),
        Field("Status", STATUS_LABELS[Status(report.status)]),
        Field("Impact", report.impact),
        Field("Filed", when(report.created_at, tz, yours=True)),
    ]
    if report.root_cause:
        fields.append(Field("Root cause", _label(ROOT_CAUSES, report.root_cause)))
    sections = [Section(fields=tuple(fields))]
    if report.resolution:
        sections.append(Section(text=f"Outcome: {report.resolution}"))
    history = "\n".join(f"• {when(e.at, tz, yours=True)}: {STATUS_LABELS[Status(e.to_status)]}" for e in events)
    sections.append(Section(text=f"History:\n{history}"))
    return Reply(Message(f"Report {report.receipt_code}", report.what_happened, tuple(sections)), ReplyMode.EPHEMERAL)


def may_change(ctx: Context, model: MLModel) -> bool:
    """Tell whether the actor may change a report's state: a lead, or the model's owner."""
    return ctx.actor.id is not None and (ctx.actor.is_lead or ctx.actor.id == model.owner_id)


def move_buttons(report: FailureReport) -> tuple[Button, ...]:
    """Return the buttons that move a report to each state it may go to next."""
    return tuple(
        Button(ActionId.REPORT_MOVE, MOVE_LABELS[target], f"{report.id}:{target}", Style.DANGER if target == Status.WONT_FIX else Style.DEFAULT)
        for target in NEXT[Status(report.status)]
    )


async def report_view(
    session: AsyncSession, report: FailureReport, viewer: Person | None, policy: Policy, *, show_reporter: bool, buttons: bool, title: str = ""
) -> Message:
    """Return a report with its details and history; the reporter is named only when `show_reporter`."""
    model = await portfolio_store.must_get_model(session=session, model_id=report.model_id)
    unit = await people_store.must_get_unit(session=session, unit_id=model.unit_id)
    events = await report_store.list_events(session=session, report_id=report.id)
    ids = {i for i in (report.reporter_id, report.assignee_id, *(e.actor_id for e in events)) if i}
    people = {p.id: p for p in await people_store.list_people(session=session, ids=sorted(ids))}
    tz = person_zone(viewer, policy) if viewer else zone(policy.timezone)

    def name(person_id: int | None) -> str:
        return people[person_id].display_name if person_id in people else "—"

    reporter = "anonymous" if report.anonymous else (name(report.reporter_id) if show_reporter else "(hidden)")
    fields = [
        Field("Model", f"{model.name} ({unit.name})"),
        Field("Status", STATUS_LABELS[Status(report.status)]),
        Field("Impact", _label(IMPACTS, report.impact)),
        Field("Since", day(report.since)),
        Field("How often", _label(FREQUENCIES, report.frequency)),
        Field("Reported by", reporter),
        Field("Assignee", name(report.assignee_id)),
        Field("Root cause", _label(ROOT_CAUSES, report.root_cause)),
    ]
    sections = [Section(fields=tuple(fields))]
    if report.link:
        sections.append(Section(text=f"About: {report.link}"))
    if report.quoted:
        sections.append(Section(text=f"Quoted message: “{report.quoted}”"))
    if report.analysis:
        sections.append(Section(text=f"Analysis: {report.analysis}"))
    if report.resolution:
        sections.append(Section(text=f"Resolution: {report.resolution}"))

    def who(event: ReportEvent) -> str:
        if event.actor_id is None:
            return "anonymously" if event.from_status is None else ""
        if event.actor_id == report.reporter_id and not show_reporter:
            return "by the reporter"
        return f"by {name(event.actor_id)}"

    lines = [
        f"• {when(e.at, tz)}: {'Filed' if e.from_status is None else STATUS_LABELS[Status(e.to_status)]} {who(e)}".rstrip() + (f" ({e.note})" if e.note else "")
        for e in events
    ]
    sections.append(Section(text="History:\n" + "\n".join(lines)))
    return Message(
        title or f"Report {report.receipt_code}: {model.name}",
        report.what_happened,
        tuple(sections),
        move_buttons(report) if buttons else (),
        footer=f"Filed {when(report.created_at, tz)}",
    )


async def handle_view(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Show one report to someone who may see its model; only leads and the owner see who filed it."""
    report = await report_store.get_report(session=session, report_id=int(value)) if value.isdigit() else None
    if report is None:
        return notice("That report no longer exists.")
    model = await portfolio_store.must_get_model(session=session, model_id=report.model_id)
    if ctx.actor.id is None or not await can_see_model(session, ctx, model):
        return notice(f"That report is about {model.name}, which belongs to a unit you are not part of. Its reporter can follow it with the receipt code.")
    allowed = may_change(ctx, model)
    own = report.reporter_id is not None and report.reporter_id == ctx.actor.id  # a named reporter sees their own name
    return Reply(await report_view(session, report, ctx.actor, ctx.policy, show_reporter=allowed or own, buttons=allowed), ReplyMode.EPHEMERAL)


# Triage


def update_form(report: FailureReport, model: MLModel, target: Status, assignee: Person | None) -> Form:
    """Return the form that moves a report to `target`, prefilled with what is already known."""
    allowed = (Status(report.status), *NEXT[Status(report.status)])
    return Form(
        form=FormId.REPORT_UPDATE,
        title="Update report",
        intro=f"{report.receipt_code} about {model.name}: {report.what_happened[:200]}",
        state=str(report.id),
        submit_label="Save",
        inputs=(
            Input("status", "Status", InputKind.CHOICE, choices=tuple(Choice(s, STATUS_LABELS[s]) for s in allowed), initial=target),
            Input("assignee", "Assignee (needed from triaged on)", InputKind.PERSON, required=False, initial=assignee.key if assignee else None),
            Input(
                "root_cause", "Root cause (needed for analysing and resolved)", InputKind.CHOICE, required=False, choices=ROOT_CAUSES, initial=report.root_cause
            ),
            Input("analysis", "Analysis notes", InputKind.LONG_TEXT, required=False, initial=report.analysis, max_length=TEXT_LIMIT),
            Input(
                "resolution",
                "Resolution (needed to resolve, or why it won't be fixed)",
                InputKind.LONG_TEXT,
                required=False,
                initial=report.resolution,
                max_length=TEXT_LIMIT,
            ),
        ),
    )


async def _report_for_change(session: AsyncSession, ctx: Context, report_id: str) -> tuple[FailureReport, MLModel] | Reply:
    report = await report_store.get_report(session=session, report_id=int(report_id), lock=True) if report_id.isdigit() else None
    if report is None:
        return notice("That report no longer exists.")
    model = await portfolio_store.must_get_model(session=session, model_id=report.model_id)
    if not may_change(ctx, model):
        owner = await people_store.must_get_person(session=session, person_id=model.owner_id)
        return notice(f"Only ML leads and the model's owner ({owner.display_name}) can change a report's state. You can add to it by filing another report.")
    return report, model


async def handle_move(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Open the update form with the pressed next state chosen (reopening needs no form)."""
    report_id, _, target = value.partition(":")
    found = await _report_for_change(session, ctx, report_id)
    if isinstance(found, Reply):
        return found
    report, model = found
    try:
        target = Status(target)
    except ValueError:
        return notice("That button is from an older version of mlpulse. Open the report again.")
    if target not in NEXT[Status(report.status)]:
        view = await report_view(session, report, ctx.actor, ctx.policy, show_reporter=True, buttons=True)
        return Reply(view, ReplyMode.REPLACE)
    if target == Status.OPEN:
        await _move(session, ctx, report, model, Status.OPEN, note="reopened", in_place=True)
        return Reply(await report_view(session, report, ctx.actor, ctx.policy, show_reporter=True, buttons=True), ReplyMode.REPLACE)
    assignee = await people_store.must_get_person(session=session, person_id=report.assignee_id) if report.assignee_id else None
    return Reply(update_form(report, model, target, assignee or (ctx.actor if target == Status.TRIAGED else None)), ReplyMode.FORM)


async def handle_update_submit(session: AsyncSession, ctx: Context, state: str, values: dict[str, str]) -> Reply:
    """Move a report to the chosen state with its details, or return the form with what is missing."""
    found = await _report_for_change(session, ctx, state)
    if isinstance(found, Reply):
        return found
    report, model = found
    current = Status(report.status)
    errors: dict[str, str] = {}
    try:
        target = Status((values.get("status") or current).strip())
    except ValueError:
        target, errors["status"] = current, "Choose a status."
    if target != current and target not in NEXT[current]:
        errors["status"] = f"A {STATUS_LABELS[current].lower()} report can move to: {', '.join(STATUS_LABELS[s] for s in NEXT[current])}."
    assignee = None
    if (values.get("assignee") or "").strip():
        assignee, error = await picked_person(session, values["assignee"])
        if error:
            errors["assignee"] = error
    elif report.assignee_id:
        assignee = await people_store.must_get_person(session=session, person_id=report.assignee_id)
    root = (values.get("root_cause") or "").strip() or None
    analysis = (values.get("analysis") or "").strip() or None
    resolution = (values.get("resolution") or "").strip() or None
    if root and root not in {c.value for c in ROOT_CAUSES}:
        errors["root_cause"] = "Choose a root-cause category."
    for name, text in (("analysis", analysis), ("resolution", resolution)):
        if long := too_long(text, TEXT_LIMIT):
            errors[name] = long
    if target in (Status.TRIAGED, Status.ANALYSING) and assignee is None and "assignee" not in errors:
        errors["assignee"] = "Who will look into it?"
    if target in (Status.ANALYSING, Status.RESOLVED) and root is None and "root_cause" not in errors:
        errors["root_cause"] = "Choose the root-cause category (Other if none fits)."
    if target == Status.RESOLVED and not resolution:
        errors["resolution"] = "Say what was done, so the reporter knows."
    if target == Status.WONT_FIX and not resolution:
        errors["resolution"] = "Say why it won't be fixed; the reporter will read this."
    if errors:
        return form_errors(update_form(report, model, target, assignee), errors, values)

    changes = []
    newly_assigned = assignee if assignee is not None and assignee.id != report.assignee_id else None
    if newly_assigned:
        changes.append(f"assigned to {newly_assigned.display_name}")
        report.assignee_id = newly_assigned.id
    if root != report.root_cause and root:
        changes.append(f"root cause: {_label(ROOT_CAUSES, root)}")
    report.root_cause, report.analysis = root or report.root_cause, analysis
    if resolution != report.resolution and resolution:
        changes.append(resolution[:200])
    report.resolution = resolution
    if target == current and not changes:
        view = await report_view(session, report, ctx.actor, ctx.policy, show_reporter=True, buttons=True, title="Nothing changed")
        return Reply(view, ReplyMode.EPHEMERAL)
    event = await _move(session, ctx, report, model, target, note="; ".join(changes) or None)
    if newly_assigned and newly_assigned.id != ctx.actor.id:
        await delivery_store.create_message(
            session=session,
            key=f"report:{report.id}:event:{event.id}:assigned",
            kind=MessageKind.REPORT_ASSIGNED,
            subject_id=report.id,
            person_id=newly_assigned.id,
            not_before=ctx.now,
        )
    # Every message showing the report is rewritten in place (see `_move`): the answer is just what happened.
    return notice(f"{report.receipt_code} about {model.name}: {STATUS_LABELS[target]}. Every message about it shows the change.", "Report updated")


async def _move(
    session: AsyncSession, ctx: Context, report: FailureReport, model: MLModel, target: Status, note: str | None, *, in_place: bool = False
) -> ReportEvent:
    """Record a transition (or a change of details), show it on every message about the report, and tell the named reporter.

    `in_place`: the reply rewrites the pressed message itself.
    """
    event = await report_store.create_event(
        session=session,
        event=ReportEvent(report_id=report.id, from_status=report.status, to_status=target, actor_id=ctx.actor.id, note=note, at=ctx.now),
    )
    report.status, report.updated_at = target, ctx.now
    session.add(report)
    await live.changed(session, Subject.REPORT, report.id, ctx.now, replacing=ctx if in_place else None)
    if report.reporter_id and report.reporter_id != ctx.actor.id:
        await delivery_store.create_message(
            session=session,
            key=f"report:{report.id}:event:{event.id}",
            kind=MessageKind.REPORT_CHANGED,
            subject_id=event.id,
            person_id=report.reporter_id,
            not_before=ctx.now,
        )
    await refresh_model_health(session, model, ctx.now)
    return event


# What the outbox sends


OUTBOUND = (MessageKind.REPORT_NEW, MessageKind.REPORT_ASSIGNED, MessageKind.REPORT_CRITICAL, MessageKind.REPORT_CHANGED)


async def render_outbound(session: AsyncSession, out: Outgoing) -> Message | None:
    """Return the view of a report message, or None when there is nothing left to say; an update shows the report as it stands now."""
    kind, subject_id, recipient, policy, update = out.kind, out.subject_id, out.recipient, out.policy, out.update
    if kind == MessageKind.REPORT_CHANGED:
        event = await report_store.get_event(session=session, event_id=subject_id)
        report = await report_store.get_report(session=session, report_id=event.report_id) if event else None
        if event is None or report is None:
            return None
        model = await portfolio_store.must_get_model(session=session, model_id=report.model_id)
        actor = await people_store.must_get_person(session=session, person_id=event.actor_id) if event.actor_id else None
        text = f"Your report about {model.name} ({report.receipt_code}) {STATUS_NEWS[Status(event.to_status)]}"
        text += f", moved by {actor.display_name}." if actor else "."
        if event.note:
            text += f"\n{event.note}"
        return Message(f"Your report: {STATUS_LABELS[Status(event.to_status)]}", text, buttons=(Button(ActionId.REPORT_VIEW, "View report", str(report.id)),))
    report = await report_store.get_report(session=session, report_id=subject_id)
    if report is None:
        return None
    model = await portfolio_store.must_get_model(session=session, model_id=report.model_id)
    status = Status(report.status)
    if kind == MessageKind.REPORT_CRITICAL:
        fields = (
            Field("Impact", _label(IMPACTS, report.impact)),
            Field("Since", day(report.since)),
            Field("How often", _label(FREQUENCIES, report.frequency)),
            Field("Status", STATUS_LABELS[status]),
        )
        sections = [Section(fields=fields)]
        if status in CLOSED and report.resolution:
            sections.append(Section(text=f"Outcome: {report.resolution}"))
        title = (
            f"🚨 Critical problem reported: {model.name}"
            if status not in CLOSED
            else f"{CLOSED[status]} {STATUS_LABELS[status]}: critical problem with {model.name}"
        )
        return Message(
            title,
            report.what_happened,
            tuple(sections),
            buttons=(Button(ActionId.REPORT_VIEW, "View report", str(report.id)),),
            # A channel post: the receipt code is the reporter's key to the report, never shown to all.
            footer="The model's owner has been told.",
        )
    if update:
        title = f"Report {report.receipt_code} about {model.name}: {STATUS_LABELS[status].lower()}"
    elif kind == MessageKind.REPORT_NEW:
        title = f"New report about {model.name}: {report.impact} impact"
    else:
        title = f"Assigned to you: a report about {model.name}"
    return await report_view(session, report, recipient, policy, show_reporter=True, buttons=True, title=title)


COMMAND = Command(
    "mlreport",
    handle_report_command,
    description="Report a problem with a model (anonymously if you wish), or follow one",
    usage_hint="[model] | status <receipt code>",
    help=(
        ("/mlreport [model]", "report a problem with a model (anonymously if you wish)"),
        ("/mlreport status <code>", "follow a report with its receipt code"),
    ),
    words=("report",),
    suggestions=(("report", "Report a problem with a model, anonymously if you wish (report churn)"),),
)
