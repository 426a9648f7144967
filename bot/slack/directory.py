"""Bot layer: who is who on Slack.

A Slack user id maps to a person through the stored identity. A user the bot has
never seen is looked up with `users.info`: if their email matches a person declared
in app.yaml, the identity is stored; otherwise they become a new, undeclared person,
with the name and time zone Slack has for them. Going the other way, a person
declared with an email but no Slack id is found with `users.lookupByEmail`.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from storage import people as people_store
from storage.db import run_in_transaction
from storage.models import Person

log = logging.getLogger(__name__)
PLATFORM = "slack"


class SlackDirectory:
    """Maps Slack user ids to people and back, learning as it goes."""

    def __init__(self, runtime: Runtime, client: AsyncWebClient):
        self.runtime, self.client = runtime, client
        # A Slack id always means the same person, so what was learned once is kept.
        self._known: dict[str, Person] = {}

    async def person_for(self, user_id: str) -> Person:
        """Return the person behind a Slack user id, recording them if they are new."""
        if user_id in self._known:
            return self._known[user_id]
        async with self.runtime.sessions() as session:
            person = await people_store.get_person_by_identity(session=session, platform=PLATFORM, external_id=user_id)
        if person is None:
            person = await self._learn(user_id)
        self._known[user_id] = person
        return person

    async def find_person(self, user_id: str) -> Person | None:
        """Return the person behind a Slack user id if mlpulse knows them, writing nothing.

        For what may be anonymous (a failure report), so a newcomer leaves no trace: a
        stored identity or a declared email is used, a stranger is None (a guest).
        """
        if user_id in self._known:
            return self._known[user_id]
        async with self.runtime.sessions() as session:
            person = await people_store.get_person_by_identity(session=session, platform=PLATFORM, external_id=user_id)
            if person is None:
                email = ((await self.client.users_info(user=user_id))["user"].get("profile") or {}).get("email")
                person = await people_store.get_person_by_email(session=session, email=email) if email else None
        return person

    async def _learn(self, user_id: str) -> Person:
        user = (await self.client.users_info(user=user_id))["user"]
        profile = user.get("profile", {})
        email = profile.get("email")

        async def learn(session) -> Person:
            return await people_store.create_person_with_identity(
                session=session,
                platform=PLATFORM,
                external_id=user_id,
                email=email,
                key=f"slack-{user_id.lower()}",
                display_name=profile.get("real_name") or user.get("real_name") or user.get("name") or user_id,
                timezone=user.get("tz") or self.runtime.policy.timezone,
                now=self.runtime.clock.now(),
            )

        return await run_in_transaction(self.runtime.sessions, learn)

    async def user_id_for(self, person: Person) -> str | None:
        """Return a person's Slack user id, looking it up by email the first time."""
        async with self.runtime.sessions() as session:
            known = await people_store.get_identity(session=session, person_id=person.id, platform=PLATFORM)
        if known or not person.email:
            return known
        try:
            user = (await self.client.users_lookupByEmail(email=person.email))["user"]
        except SlackApiError as exc:
            log.warning("%s is not on this Slack workspace: %s", person.key, exc)
            return None

        async def remember(session) -> None:
            if not await people_store.get_identity(session=session, person_id=person.id, platform=PLATFORM):
                await people_store.create_identity(session=session, person_id=person.id, platform=PLATFORM, external_id=user["id"])

        await run_in_transaction(self.runtime.sessions, remember)
        return user["id"]

    async def user_ids_for_keys(self, keys: list[str]) -> dict[str, str]:
        """Return the Slack user ids of the people with these keys who have one (to prefill a people picker)."""
        if not keys:
            return {}
        async with self.runtime.sessions() as session:
            people = await people_store.list_people_with_keys(session=session, keys=keys)
        found = {person.key: await self.user_id_for(person) for person in people}
        return {key: user for key, user in found.items() if user}

    async def user_ids_for(self, person_ids: set[int]) -> dict[int, str]:
        """Return the Slack user ids of the people who have one (to @-mention them)."""
        if not person_ids:
            return {}
        async with self.runtime.sessions() as session:
            people = await people_store.list_people(session=session, ids=sorted(person_ids))
        found = {person.id: await self.user_id_for(person) for person in people}
        return {person_id: user for person_id, user in found.items() if user}
