"""Handlers layer: success stories, from the form to the stories channel.

Anyone can tell a story about a model with `/mlstory`. The model's owner reviews it
(the leads do when the owner wrote it), and any lead may too: *Approve*, *Edit* or
*Decline*. An approved story is posted to the stories channel crediting its
contributors by mention, and each contributor is told that their work was featured.
A lead can turn a "works well" check-in answer with a comment into a story draft.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import live
from handlers.access import leads_only
from handlers.actions import ActionId, FormId
from handlers.commands import Command
from handlers.context import Context, Outgoing
from handlers.health import Answer
from handlers.pickers import match_model, model_choices, model_error, no_such_model, picked_model, picked_people
from handlers.text import too_long
from handlers.views import Button, Choice, Field, Form, Input, InputKind, Mention, Message, Reply, ReplyMode, Section, Style, form_errors, notice
from storage import checkins as checkin_store
from storage import delivery as delivery_store
from storage import people as people_store
from storage import portfolio as portfolio_store
from storage import stories as story_store
from storage.models import MessageKind, MLModel, Person, Subject, SuccessStory

HEADLINE_LIMIT = 150
TEXT_LIMIT = 3000
METRIC_LIMIT = 200
VALUE_LIMIT = 100
DECLINE_LIMIT = 1000


def story_form(
    choices: tuple[Choice, ...],
    *,
    story: SuccessStory | None = None,
    model: MLModel | None = None,
    contributors: Sequence[Person] = (),
    change: str = "",
    state: str = "",
    intro: str = "",
) -> Form:
    """Return the story form, empty or prefilled from a story (to edit it) or a check-in (to promote it)."""
    return Form(
        form=FormId.STORY,
        title="Edit the story" if story else "Share a success story",
        intro=intro or "What did a model change for the business? Approved stories are posted for everyone, crediting the people you name.",
        state=state,
        submit_label="Save" if story else "Submit for approval",
        inputs=(
            Input("model", "Which model?", InputKind.CHOICE, choices=choices, initial=model.key if model else None),
            Input("headline", "Headline", max_length=HEADLINE_LIMIT, initial=story.headline if story else None, hint="e.g. Churn down 3 points in Q3"),
            Input(
                "business_change",
                "What changed for the business?",
                InputKind.LONG_TEXT,
                max_length=TEXT_LIMIT,
                initial=story.business_change if story else change or None,
            ),
            Input(
                "impact_metric",
                "Impact: which metric?",
                required=False,
                max_length=METRIC_LIMIT,
                initial=story.impact_metric if story else None,
                hint="e.g. Monthly churn",
            ),
            Input(
                "impact_value",
                "Impact: how much?",
                required=False,
                max_length=VALUE_LIMIT,
                initial=story.impact_value if story else None,
                hint="e.g. -3 points",
            ),
            Input(
                "contributors",
                "Who made it happen?",
                InputKind.PEOPLE,
                required=False,
                initial=",".join(p.key for p in contributors) or None,
                hint="They are credited by name and told.",
            ),
        ),
    )


async def _form_reply(session: AsyncSession, ctx: Context, **kwargs: Any) -> Reply:
    choices = await model_choices(session, ctx, kwargs.get("model"))
    if not choices:
        return notice("There are no active models in mlpulse yet, so there is no story to tell.")
    return Reply(story_form(choices, **kwargs), ReplyMode.FORM)


async def handle_story_command(session: AsyncSession, ctx: Context, args: str) -> Reply:
    """Answer `/mlstory [model]` with the story form."""
    if not args.strip():
        return await _form_reply(session, ctx, contributors=[ctx.actor])
    match = await match_model(session, args)
    intro = "" if match.found else f"{no_such_model(args, match)} Choose it from the list below."
    return await _form_reply(session, ctx, model=match.found, contributors=[ctx.actor], intro=intro)


async def handle_open(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Open the story form from a button, for a model when `value` is its key."""
    return await _form_reply(session, ctx, model=await picked_model(session, value), contributors=[ctx.actor])


async def handle_from_checkin(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Turn a glowing check-in answer into a story draft (leads only)."""
    if refusal := leads_only(ctx, "turn check-in answers into stories"):
        return refusal
    checkin = await checkin_store.get_checkin(session=session, checkin_id=int(value)) if value.isdigit() else None
    if checkin is None or checkin.answer != Answer.WORKS:
        return notice("Only a “works well” answer can become a story.")
    model = await portfolio_store.must_get_model(session=session, model_id=checkin.model_id)
    person = await people_store.must_get_person(session=session, person_id=checkin.person_id)
    return await _form_reply(session, ctx, model=model, contributors=[person], change=checkin.comment or "", state=f"checkin:{checkin.id}")


async def _may_review(session: AsyncSession, ctx: Context, story: SuccessStory) -> MLModel | Reply:
    model = await portfolio_store.must_get_model(session=session, model_id=story.model_id)
    if ctx.actor.is_lead or ctx.actor.id == model.owner_id:
        return model
    owner = await people_store.must_get_person(session=session, person_id=model.owner_id)
    return notice(f"Only ML leads and the model's owner ({owner.display_name}) can approve, edit or decline its stories.")


async def handle_story_submit(session: AsyncSession, ctx: Context, state: str, values: dict[str, str]) -> Reply:
    """Create a story (or save an edit), or return the form with what is wrong beside each field."""
    kind, _, ref = state.partition(":")
    story = await story_store.get_story(session=session, story_id=int(ref), lock=True) if kind == "story" and ref.isdigit() else None
    if kind == "story" and story is None:
        return notice("That story no longer exists.")
    if story is not None and isinstance(found := await _may_review(session, ctx, story), Reply):
        return found
    if story is not None and story.status != "pending":  # an edit form opened before someone else decided it
        return Reply(await review_view(session, story, note="This story was decided while the edit was open, so the edit was not saved."), ReplyMode.REPLACE)
    if story is None and ctx.request_id:
        earlier = await story_store.get_story_by_request(session=session, request_key=ctx.request_id)
        if earlier is not None:  # the same submission again: create once, answer the same
            return _submitted(earlier)
    model = await picked_model(session, values.get("model"))
    headline = (values.get("headline") or "").strip()
    change = (values.get("business_change") or "").strip()
    metric = (values.get("impact_metric") or "").strip() or None
    value = (values.get("impact_value") or "").strip() or None
    contributors, unknown = await picked_people(session, values.get("contributors") or "")
    errors: dict[str, str] = {"contributors": unknown} if unknown else {}
    if model is None:
        errors["model"] = await model_error(session, values.get("model"), "Choose the model this story is about.")
    for name, text, limit, missing in (
        ("headline", headline, HEADLINE_LIMIT, "Give the story a headline."),
        ("business_change", change, TEXT_LIMIT, "Tell us what changed for the business."),
        ("impact_metric", metric, METRIC_LIMIT, None),
        ("impact_value", value, VALUE_LIMIT, None),
    ):
        if not text and missing:
            errors[name] = missing
        elif long := too_long(text, limit):
            errors[name] = long
    if bool(metric) != bool(value):  # said at once, whatever else is wrong, so that one round fixes everything
        # On both fields: either one may be the one to change (a value to add, or a metric to clear as well).
        errors["impact_value" if metric else "impact_metric"] = "Give both the metric and its value, or neither."
        errors.setdefault(
            "impact_metric" if metric else "impact_value", "Give both the metric and its value, or neither: clear this one too, or fill in the other."
        )
    if errors or model is None:  # no model only with an error beside its field
        form = story_form(await model_choices(session, ctx, model), story=story, model=model, state=state)
        return form_errors(form, errors, values)
    if story is not None:
        story.model_id, story.headline, story.business_change = model.id, headline, change
        story.impact_metric, story.impact_value = metric, value
        session.add(story)
        await story_store.update_contributors(session=session, story_id=story.id, person_ids=[p.id for p in contributors])
        await live.changed(session, Subject.STORY, story.id, ctx.now, replacing=ctx)
        return Reply(await review_view(session, story, note=f"Edited by {ctx.actor.display_name}."), ReplyMode.REPLACE)

    story = await story_store.create_story(
        session=session,
        story=SuccessStory(
            model_id=model.id,
            submitted_by_id=ctx.actor.id,
            headline=headline,
            business_change=change,
            impact_metric=metric,
            impact_value=value,
            source_checkin_id=int(ref) if kind == "checkin" and ref.isdigit() else None,
            request_key=ctx.request_id,
            created_at=ctx.now,
        ),
    )
    await story_store.update_contributors(session=session, story_id=story.id, person_ids=[p.id for p in contributors or [ctx.actor]])
    reviewers = [model.owner_id]
    if model.owner_id == ctx.actor.id:
        reviewers = [p.id for p in await people_store.list_people(session=session, leads_only=True) if p.id != ctx.actor.id] or reviewers
    await delivery_store.create_messages(
        session=session,
        rows=[
            dict(key=f"story:{story.id}:review:{pid}", kind=MessageKind.STORY_REVIEW, subject_id=story.id, person_id=pid, not_before=ctx.now)
            for pid in reviewers
        ],
    )
    return _submitted(story)


def _submitted(story: SuccessStory) -> Reply:
    return notice(f"Thank you! “{story.headline}” is waiting for approval; you will hear when it is posted.", "Story submitted")


def _mentions(people: Iterable[Person]) -> tuple[Mention, ...]:
    return tuple(Mention(p.id, p.display_name) for p in people)


async def story_view(session: AsyncSession, story: SuccessStory) -> Message:
    """Return a story as it is posted: headline, what changed, impact, and the people it credits."""
    model = await portfolio_store.must_get_model(session=session, model_id=story.model_id)
    unit = await people_store.must_get_unit(session=session, unit_id=model.unit_id)
    contributors = await story_store.list_contributors(session=session, story_id=story.id)
    fields = [Field("Model", model.name), Field("Unit", unit.name)]
    if story.impact_metric:
        fields.append(Field(story.impact_metric, story.impact_value or "—"))
    sections = [Section(fields=tuple(fields))]
    if contributors:
        sections.append(Section(text="Thanks to", mentions=_mentions(contributors)))
    return Message(f"🎉 {story.headline}", story.business_change, tuple(sections))


async def review_view(session: AsyncSession, story: SuccessStory, note: str = "") -> Message:
    """Return a story with its review state and, while pending, the Approve / Edit / Decline buttons."""
    view = await story_view(session, story)
    submitter = await people_store.must_get_person(session=session, person_id=story.submitted_by_id) if story.submitted_by_id else None
    state = {
        "pending": f"Submitted by {submitter.display_name if submitter else 'someone'}; waiting for approval.",
        "approved": "✅ Approved and posted.",
        "declined": f"Declined{': ' + story.decline_reason if story.decline_reason else '.'}",
    }[story.status]
    buttons: tuple[Button, ...] = ()
    if story.status == "pending":
        sid = str(story.id)
        buttons = (
            Button(ActionId.STORY_APPROVE, "Approve", sid, Style.PRIMARY),
            Button(ActionId.STORY_EDIT, "Edit", sid),
            Button(ActionId.STORY_DECLINE, "Decline", sid, Style.DANGER),
        )
    text = "\n".join(t for t in (note, f"Story for review: {view.text}" if story.status == "pending" else view.text) if t)
    return Message(view.title, text, view.sections, buttons, footer=state)


async def _pending_for_review(session: AsyncSession, ctx: Context, value: str) -> tuple[SuccessStory, MLModel] | Reply:
    story = await story_store.get_story(session=session, story_id=int(value), lock=True) if value.isdigit() else None
    if story is None:
        return notice("That story no longer exists.")
    model = await _may_review(session, ctx, story)
    if isinstance(model, Reply):
        return model
    if story.status != "pending":
        return Reply(await review_view(session, story), ReplyMode.REPLACE)
    return story, model


async def handle_approve(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Approve a story: post it to the stories channel and tell each contributor and the submitter."""
    found = await _pending_for_review(session, ctx, value)
    if isinstance(found, Reply):
        return found
    story, _ = found
    story.status, story.decided_by_id, story.posted_at = "approved", ctx.actor.id, ctx.now
    session.add(story)
    await live.changed(session, Subject.STORY, story.id, ctx.now, replacing=ctx)  # the other reviewers' copies
    contributors = await story_store.list_contributors(session=session, story_id=story.id)
    rows = [
        dict(key=f"story:{story.id}:featured:{p.id}", kind=MessageKind.STORY_FEATURED, subject_id=story.id, person_id=p.id, not_before=ctx.now)
        for p in contributors
    ]
    if ctx.policy.stories_channel:
        rows.append(
            dict(key=f"story:{story.id}:post", kind=MessageKind.STORY_POST, subject_id=story.id, channel=ctx.policy.stories_channel, not_before=ctx.now)
        )
    told = {p.id for p in contributors} | {ctx.actor.id}
    if story.submitted_by_id and story.submitted_by_id not in told:
        rows.append(
            dict(key=f"story:{story.id}:decided", kind=MessageKind.STORY_DECIDED, subject_id=story.id, person_id=story.submitted_by_id, not_before=ctx.now)
        )
    await delivery_store.create_messages(session=session, rows=rows)
    where = f" to {ctx.policy.stories_channel}" if ctx.policy.stories_channel else " (no stories channel is configured, so only the contributors are told)"
    return Reply(await review_view(session, story, note=f"Approved by {ctx.actor.display_name}; posting{where}."), ReplyMode.REPLACE)


async def handle_edit(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Open a pending story in the form, to be edited before approval."""
    found = await _pending_for_review(session, ctx, value)
    if isinstance(found, Reply):
        return found
    story, model = found
    contributors = list(await story_store.list_contributors(session=session, story_id=story.id))
    return await _form_reply(session, ctx, story=story, model=model, contributors=contributors, state=f"story:{story.id}")


def decline_form(story: SuccessStory) -> Form:
    """Return the form that declines a story, with an optional reason for the submitter."""
    return Form(
        form=FormId.STORY_DECLINE,
        title="Decline the story",
        intro=f"“{story.headline}” will not be posted. The person who submitted it is told.",
        state=str(story.id),
        submit_label="Decline",
        inputs=(Input("reason", "Why? (shown to the submitter)", InputKind.LONG_TEXT, required=False, max_length=DECLINE_LIMIT),),
    )


async def handle_decline(session: AsyncSession, ctx: Context, value: str) -> Reply:
    """Open the decline form of a pending story."""
    found = await _pending_for_review(session, ctx, value)
    return found if isinstance(found, Reply) else Reply(decline_form(found[0]), ReplyMode.FORM)


async def handle_decline_submit(session: AsyncSession, ctx: Context, state: str, values: dict[str, str]) -> Reply:
    """Decline a story and tell its submitter why."""
    found = await _pending_for_review(session, ctx, state)
    if isinstance(found, Reply):
        return found
    story, _ = found
    reason = (values.get("reason") or "").strip() or None
    if error := too_long(reason, DECLINE_LIMIT):
        return form_errors(decline_form(story), {"reason": error}, values)
    story.status, story.decided_by_id, story.decline_reason = "declined", ctx.actor.id, reason
    session.add(story)
    await live.changed(session, Subject.STORY, story.id, ctx.now, replacing=ctx)
    if story.submitted_by_id and story.submitted_by_id != ctx.actor.id:
        await delivery_store.create_message(
            session=session,
            key=f"story:{story.id}:decided",
            kind=MessageKind.STORY_DECIDED,
            subject_id=story.id,
            person_id=story.submitted_by_id,
            not_before=ctx.now,
        )
    return Reply(await review_view(session, story, note=f"Declined by {ctx.actor.display_name}."), ReplyMode.REPLACE)


OUTBOUND = (MessageKind.STORY_REVIEW, MessageKind.STORY_POST, MessageKind.STORY_FEATURED, MessageKind.STORY_DECIDED)


async def render_outbound(session: AsyncSession, out: Outgoing) -> Message | None:
    """Return the view of a story message, or None when it is moot; an update shows the story as it stands now."""
    kind, update = out.kind, out.update
    story = await story_store.get_story(session=session, story_id=out.subject_id)
    if story is None:
        return None
    if kind == MessageKind.STORY_REVIEW:
        return await review_view(session, story) if update or story.status == "pending" else None
    if kind == MessageKind.STORY_POST:
        return await story_view(session, story) if story.status == "approved" else None
    model = await portfolio_store.must_get_model(session=session, model_id=story.model_id)
    if kind == MessageKind.STORY_FEATURED:
        if story.status != "approved":
            return None
        view = await story_view(session, story)
        return Message("Your work was featured 🎉", f"A success story about {model.name} credits you: “{story.headline}”. Thank you!", view.sections[:1])
    if kind == MessageKind.STORY_DECIDED:
        if story.status == "approved":
            return Message("Your story was approved 🎉", f"“{story.headline}” about {model.name} has been posted. Thank you for sharing it!")
        reason = f"\nThe reason given: {story.decline_reason}" if story.decline_reason else ""
        return Message("Your story was not approved", f"“{story.headline}” about {model.name} will not be posted this time.{reason}")
    raise ValueError(f"unknown story message kind {kind!r}")


COMMAND = Command(
    "mlstory",
    handle_story_command,
    description="Share a success story about a model",
    usage_hint="[model]",
    help=(("/mlstory [model]", "share a success story; the model's owner approves it before it is posted"),),
    words=("story",),
    suggestions=(("story", "Share a success story; the model's owner approves it before it is posted"),),
)
