"""Bot layer: who is who on Teams, and where the bot can reach them later.

A Teams user is known by their Azure AD object id. One the bot has not seen before is
looked up in the conversation's roster (`TeamsInfo.get_member`) for their email: a
person declared in app.yaml with that email gets the identity; anyone else becomes a
new, undeclared person with the name and time zone Teams gives.

Every activity also leaves a conversation reference behind: a personal chat's under
the person, a channel's under the channel (with its name, so app.yaml can say
`teams:ml-digest`). Those are what proactive check-ins and posts go through. When a
person's first reference arrives, whatever failed to reach them earlier is queued again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from zoneinfo import available_timezones

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity, ChannelAccount, ConversationReference

from bot.runtime import Runtime
from storage import conversations as conversation_store
from storage import people as people_store
from storage.db import DATABASE_ERRORS, run_in_transaction
from storage.models import Person

log = logging.getLogger(__name__)
PLATFORM = "teams"
GENERAL = "General"


def user_id_of(account: ChannelAccount) -> str:
    """Return the id mlpulse knows a Teams user by: the AAD object id (the emulator has only `id`)."""
    return account.aad_object_id or account.id


def channel_of(activity: Activity) -> tuple[str, str | None] | None:
    """Return (channel id, name) of a team channel activity, or None outside team channels."""
    data = activity.channel_data or {}
    channel, team = data.get("channel") or {}, data.get("team") or {}
    if not channel.get("id"):
        return None
    name = channel.get("name") or (GENERAL if channel["id"] == team.get("id") else None)
    return channel["id"], name


def reference_json(reference: ConversationReference) -> str:
    return json.dumps(reference.serialize(), sort_keys=True)


def reference_from_json(text: str) -> ConversationReference:
    return ConversationReference().deserialize(json.loads(text))


class TeamsDirectory:
    """Maps Teams users to people, and keeps the conversation references."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._known: dict[str, Person] = {}
        # The reference last stored for each (scope, id): most messages bring the same one,
        # and need no write.
        self._stored: dict[tuple[str, str], str] = {}

    async def person_for(self, context: TurnContext) -> Person:
        """Return the person who sent this activity, recording them if they are new."""
        user_id = user_id_of(context.activity.from_property)
        person = await self._known_person(user_id) or await self._learn(context, user_id)
        self._known[user_id] = person
        return person

    async def find_person(self, context: TurnContext) -> Person | None:
        """Return the sender if mlpulse knows them (by identity or declared email), writing nothing."""
        person = await self._known_person(user_id_of(context.activity.from_property))
        if person is None:
            email, _ = await self._profile(context)
            async with self.runtime.sessions() as session:
                person = await people_store.get_person_by_email(session=session, email=email) if email else None
        return person

    async def _known_person(self, user_id: str) -> Person | None:
        if user_id in self._known:
            return self._known[user_id]
        async with self.runtime.sessions() as session:
            return await people_store.get_person_by_identity(session=session, platform=PLATFORM, external_id=user_id)

    async def _profile(self, context: TurnContext) -> tuple[str | None, str | None]:
        """Return the sender's (email, name) from the roster; (None, name on the activity) if it cannot be read."""
        sender = context.activity.from_property
        try:
            member = await TeamsInfo.get_member(context, sender.id)
        except Exception as exc:  # a roster lookup is a nicety: the activity's own name will do
            log.warning("could not read a Teams member's profile: %s", exc.__class__.__name__)
            return None, sender.name
        return member.email or member.user_principal_name, member.name or sender.name

    async def _learn(self, context: TurnContext, user_id: str) -> Person:
        email, name = await self._profile(context)
        timezone = context.activity.local_timezone if context.activity.local_timezone in available_timezones() else self.runtime.policy.timezone

        async def learn(session) -> Person:
            return await people_store.create_person_with_identity(
                session=session,
                platform=PLATFORM,
                external_id=user_id,
                email=email,
                key=f"teams-{user_id.lower()}",
                display_name=name or user_id,
                timezone=timezone,
                now=self.runtime.clock.now(),
            )

        return await run_in_transaction(self.runtime.sessions, learn)

    async def remember(self, context: TurnContext, person: Person | None, fresh: bool = False) -> bool:
        """Store where this activity came from, so the bot can write there later; return True if it is new.

        Unless `fresh` (an install, which another replica may have seen removed), a
        reference this process stored before, unchanged, is not written again.
        """
        activity = context.activity
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None  # later messages start afresh; they do not reply to this one
        kind = (activity.conversation.conversation_type or "personal") if activity.conversation else "personal"
        now = self.runtime.clock.now()
        if kind == "personal":
            scope, scope_id, name = conversation_store.PERSON, user_id_of(activity.from_property), None
        elif (channel := channel_of(activity)) is not None:
            scope, (scope_id, name) = conversation_store.CHANNEL, channel
            reference.conversation.id = scope_id  # posting to the channel's own id starts a new thread there
        else:  # a group chat
            scope, scope_id, name = conversation_store.CHANNEL, activity.conversation.id, activity.conversation.name

        text = reference_json(reference)
        if not fresh and self._stored.get((scope, scope_id)) == text:
            return False

        async def store(session) -> bool:
            new = await conversation_store.update_reference(
                session=session,
                platform=PLATFORM,
                scope=scope,
                scope_id=scope_id,
                conversation_id=reference.conversation.id,
                reference=text,
                now=now,
                name=name,
            )
            if new and scope == conversation_store.PERSON and person is not None and person.id is not None:
                queued = await conversation_store.update_unreachable_messages(session=session, person_id=person.id, now=now)
                if queued:
                    log.info("%s can be reached in Teams now; %d waiting messages queued again", person.key, queued)
            return new

        try:
            new = await run_in_transaction(self.runtime.sessions, store)
        except DATABASE_ERRORS as exc:  # the next activity will store it
            log.error("could not store a Teams conversation reference: %s", exc.__class__.__name__)
            return False
        self._stored[(scope, scope_id)] = text
        return new

    async def remember_channels(self, context: TurnContext) -> None:
        """Store a reference to every channel of the team this activity came from, so app.yaml can name any of them."""
        team_id = ((context.activity.channel_data or {}).get("team") or {}).get("id")
        try:
            # botbuilder's Teams client is synchronous (TeamsInfo.get_team_channels would block
            # the event loop for the whole HTTP call), so it runs in a thread.
            client = await TeamsInfo.get_teams_connector_client(context)
            channels = (await asyncio.to_thread(client.teams.get_teams_channels, team_id)).conversations
        except Exception as exc:  # the channel the app was added in is known already
            log.warning("could not list the team's channels: %s", exc.__class__.__name__)
            return
        reference = TurnContext.get_conversation_reference(context.activity)
        reference.activity_id = None
        now = self.runtime.clock.now()

        async def store(session) -> None:
            for channel in channels:
                reference.conversation.id = channel.id
                await conversation_store.update_reference(
                    session=session,
                    platform=PLATFORM,
                    scope=conversation_store.CHANNEL,
                    scope_id=channel.id,
                    conversation_id=channel.id,
                    reference=reference_json(reference),
                    now=now,
                    name=channel.name or (GENERAL if channel.id == team_id else None),
                )

        await run_in_transaction(self.runtime.sessions, store)

    async def forget(self, context: TurnContext) -> None:
        """Drop the reference of a person or channel that uninstalled the app."""
        activity = context.activity
        channel = channel_of(activity)
        scope, scope_id = (conversation_store.CHANNEL, channel[0]) if channel else (conversation_store.PERSON, user_id_of(activity.from_property))

        self._stored.pop((scope, scope_id), None)

        async def drop(session) -> None:
            await conversation_store.delete_reference(session=session, platform=PLATFORM, scope=scope, scope_id=scope_id)

        await run_in_transaction(self.runtime.sessions, drop)

    async def reference_for(self, person: Person | None = None, channel: str | None = None, conversation_id: str | None = None) -> ConversationReference | None:
        """Return the stored reference to a person's chat, a channel (by id or name) or a conversation."""
        async with self.runtime.sessions() as session:
            if person is not None:
                text = await conversation_store.get_person_reference(session=session, platform=PLATFORM, person_id=person.id)
            elif channel is not None:
                text = await conversation_store.get_channel_reference(session=session, platform=PLATFORM, channel=channel.lstrip("#"))
            else:
                text = await conversation_store.get_reference_by_conversation(session=session, platform=PLATFORM, conversation_id=conversation_id)
        return reference_from_json(text) if text else None

    async def users_for(self, person_ids: set[int]) -> dict[int, tuple[str, str]]:
        """Return the Teams ids and names of the people who have one (to @-mention them)."""
        if not person_ids:
            return {}
        async with self.runtime.sessions() as session:
            people = await people_store.list_people(session=session, ids=sorted(person_ids))
            found = {p.id: (await people_store.get_identity(session=session, person_id=p.id, platform=PLATFORM), p.display_name) for p in people}
        return {person_id: (user, name) for person_id, (user, name) in found.items() if user}
