"""Recognising people on Slack: by stored id, by email, or as newcomers with Slack's name and time zone."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Person, PlatformIdentity


async def test_a_newcomer_gets_their_name_and_time_zone_from_slack(slack_runtime, fake_slack, sessions):
    fake_slack.add_user("UNEW", "nina@example.com", "Nina Patel", "Asia/Kolkata")
    person = await slack_runtime.directory.person_for("UNEW")
    assert (person.display_name, person.timezone, person.email, person.declared) == ("Nina Patel", "Asia/Kolkata", "nina@example.com", False)
    again = await slack_runtime.directory.person_for("UNEW")
    assert again.id == person.id
    assert [c.method for c in fake_slack.calls].count("users.info") == 1


async def test_a_declared_person_is_matched_by_email_not_duplicated(slack_runtime, fake_slack, sessions):
    ana = await slack_runtime.directory.person_for("UANA")
    assert ana.key == "ana" and ana.declared
    async with sessions() as session:
        people = (await session.exec(select(Person).where(Person.email == "ana@example.com"))).all()
        identity = (await session.exec(select(PlatformIdentity).where(PlatformIdentity.external_id == "UANA"))).one()
    assert len(people) == 1 and identity.person_id == ana.id
