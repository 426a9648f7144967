"""The Teams app end to end: real Bot Framework activities into the real server, cards out to the fake connector."""

from __future__ import annotations

import json
from datetime import timedelta

import aiohttp
from sqlmodel import select

from bot.config import Settings
from bot.delivery import MessageRef
from bot.runtime import TRY_AGAIN
from bot.server import build_web_app, start_server
from bot.teams.app import build_teams, command_of
from handlers.views import Message
from storage.models import CheckIn, CheckInAnswer, ConversationReference, FailureReport, OutboundMessage
from tests.bot.teams import activities as a
from tests.conftest import TUESDAY
from tests.helpers import held


def texts(card: dict) -> str:
    """Return all the text a card shows, in order (enough to assert on what it says)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("text", "title", "label", "value"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card.get("body", []))
    walk(card.get("actions", []))
    return "\n".join(found)


def buttons(card: dict) -> list[dict]:
    """Return every Action.Submit of a card, in reading order."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "Action.Submit":
                found.append(node)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    return found


def test_typed_commands_map_to_the_router():
    assert command_of("mlstatus churn") == "/mlstatus churn"
    assert command_of("  Report  churn ") == "/mlreport churn"
    assert command_of("/mlforum list") == "/mlforum list"
    assert command_of("away until 2026-12-24") == "/mlpulse away until 2026-12-24"
    assert command_of("help") == "/mlpulse help" and command_of("") == "/mlpulse help"
    assert command_of("story&nbsp;churn") == "/mlstory churn"


async def test_help_in_a_personal_chat_answers_with_a_card_and_keeps_the_reference(bot, connector, sessions):
    response = await bot(a.message(connector.url, "ana", "help"))
    assert response.status == 201
    [reply] = connector.sent("reply")
    assert reply.conversation == "a:personal-29:ana"
    [card] = connector.cards("reply")
    assert card["body"][0]["text"] == "mlpulse: what I can do" and "/mlstatus" in texts(card)
    async with sessions() as session:
        [ref] = (await session.exec(select(ConversationReference))).all()
    assert (ref.platform, ref.scope, ref.scope_id, ref.conversation_id) == ("teams", "person", "aad-ana", "a:personal-29:ana")
    assert json.loads(ref.reference)["serviceUrl"] == connector.url


async def test_install_greets_once_and_the_check_in_arrives_proactively_and_is_answered_in_place(bot, connector, teams, sessions):
    # Teams announces a personal install twice: as installationUpdate and as conversationUpdate.
    assert (await bot(a.installed(connector.url, "ana"))).status == 201
    assert (await bot(a.bot_added(connector.url, "ana"))).status == 201
    greetings = connector.cards("reply")
    assert len(greetings) == 1 and greetings[0]["body"][0]["text"] == "Hi Ana, I'm mlpulse"

    await teams.runtime.tick(TUESDAY)
    to_ana = [c for c in connector.sent("send") if c.conversation == "a:personal-29:ana"]
    assert len(to_ana) == 2  # churn and demand
    question = next(c for c in to_ana if "Churn predictor" in texts(c.body["attachments"][0]["content"]))
    card = question.body["attachments"][0]["content"]
    works = next(b for b in buttons(card) if b["title"] == "Yes, works well")

    press = a.submit(connector.url, "ana", works["data"], question.activity_id)
    for _ in range(2):  # Teams redelivers an activity the bot was slow to answer: same id
        assert (await bot(press)).status == 201
    updates = connector.sent("update")
    assert updates and all(u.activity_id == question.activity_id for u in updates)
    assert "Recorded: Yes, works well, by Ana" in texts(connector.activities[("a:personal-29:ana", question.activity_id)]["attachments"][0]["content"])
    async with sessions() as session:
        answers = (await session.exec(select(CheckInAnswer))).all()
    assert len(answers) == 1


async def test_a_person_without_the_app_is_reported_not_reachable_until_they_install_it(bot, connector, teams, sessions):
    await teams.runtime.tick(TUESDAY)
    async with sessions() as session:
        failed = (await session.exec(select(OutboundMessage).where(OutboundMessage.status == "failed"))).all()
    checkins = [m for m in failed if m.kind == "checkin.ask"]
    assert len(checkins) == 4 and all("not reachable in Teams until the app is installed for them" in m.last_error for m in checkins)
    assert not connector.sent("send")

    await bot(a.message(connector.url, "lead", "mlstatus churn"))
    detail = texts(connector.cards("reply")[-1])
    assert "Not reachable in Teams until the app is installed for them: Ana, Bo" in detail
    await bot(a.message(connector.url, "lead", "mlstatus"))
    assert "3 stakeholders are not reachable in Teams until the app is installed for them" in texts(connector.cards("reply")[-1])

    await bot(a.installed(connector.url, "bo"))  # Bo installs the app: his waiting check-in goes out now
    to_bo = [c for c in connector.sent("send") if c.conversation == "a:personal-29:bo"]
    assert len(to_bo) == 1 and "Churn predictor" in texts(to_bo[0].body["attachments"][0]["content"])
    async with sessions() as session:
        checkin = (
            await session.exec(
                select(CheckIn).join(OutboundMessage, OutboundMessage.subject_id == CheckIn.id).where(OutboundMessage.conversation_id == "a:personal-29:bo")
            )
        ).first()
    assert checkin is not None and checkin.status == "open"


async def test_a_mention_in_a_channel_answers_in_the_personal_chat_and_says_so_in_the_thread(bot, connector):
    thread = a.channel(thread="1700000000000")
    await bot(a.message(connector.url, "lead", "mlstatus churn", conversation=thread, mention=True))
    [created] = connector.sent("create")
    assert created.body["members"] == [{"id": "29:lead"}] and created.body["channelData"]["tenant"]["id"] == a.TENANT
    private = [c for c in connector.sent("send") if c.conversation == "a:personal-29:lead"]
    assert len(private) == 1 and "Churn predictor" in texts(private[0].body["attachments"][0]["content"])
    [note] = connector.sent("reply")  # the thread is replied to; the private answer is a new message
    assert note.conversation == thread["id"] and note.body["text"] == "I sent you the answer in our personal chat."


async def test_a_form_shows_errors_inline_on_the_same_card_then_is_replaced_by_the_receipt(bot, connector, sessions):
    await bot(a.message(connector.url, "ana", "report churn"))
    [form_call] = connector.sent("reply")
    form = form_call.body["attachments"][0]["content"]
    [submit] = [b for b in buttons(form) if b["data"]["mlpulse"].get("form") == "report.file"]
    ids = {item["id"] for item in form["body"] if item.get("id")}
    assert {"model", "what_happened", "impact"} <= ids

    bad = a.submit(connector.url, "ana", {**submit["data"], "model": "churn", "what_happened": "", "impact": "critical"}, form_call.activity_id)
    await bot(bad)
    [update] = connector.sent("update")
    shown = update.body["attachments"][0]["content"]
    assert update.activity_id == form_call.activity_id
    assert any(b.get("color") == "Attention" for b in shown["body"]) and "Please correct the fields marked below." in texts(shown)

    good = a.submit(connector.url, "ana", {**submit["data"], "model": "churn", "what_happened": "Scores are all 0.5", "impact": "major"}, form_call.activity_id)
    for _ in range(2):  # the same submit delivered twice records once
        await bot(good)
    final = connector.activities[("a:personal-29:ana", form_call.activity_id)]["attachments"][0]["content"]
    assert "Scores are all 0.5" not in json.dumps(final["body"][:1]) and not [b for b in buttons(final) if b["data"]["mlpulse"].get("form")]
    async with sessions() as session:
        reports = (await session.exec(select(FailureReport))).all()
    assert len(reports) == 1 and reports[0].what_happened == "Scores are all 0.5"


async def test_a_team_install_learns_its_channels_and_the_digest_posts_there(bot, connector, teams, sessions):
    await bot(a.installed(connector.url))
    greeting = connector.sent("reply")
    assert len(greeting) == 1 and greeting[0].conversation == a.TEAM
    async with sessions() as session:
        names = {r.name for r in (await session.exec(select(ConversationReference).where(ConversationReference.scope == "channel"))).all()}
    assert names == {"General", "ml-digest", "sales-ml"}

    first_digest = TUESDAY + timedelta(days=6, hours=-1)  # the first Monday 09:00 after the install (synced on a Monday at noon)
    await teams.runtime.tick(first_digest)  # into the channel app.yaml names (teams:ml-digest)
    posted = [c for c in connector.sent("send") if c.conversation == "19:digest@thread.tacv2"]
    assert len(posted) == 1 and "digest" in texts(posted[0].body["attachments"][0]["content"]).lower()
    await teams.runtime.tick(first_digest + timedelta(hours=1))
    assert len([c for c in connector.sent("send") if c.conversation == "19:digest@thread.tacv2"]) == 1

    # An announcement's RSVP counts are rewritten in place through the outbox: the same post is updated.
    ref = MessageRef("teams", "19:digest@thread.tacv2", posted[0].activity_id)
    await teams.runtime.messenger.update(ref, Message("Forum: Sales", "Going: 3"))
    [update] = connector.sent("update")
    assert (update.conversation, update.activity_id) == ("19:digest@thread.tacv2", posted[0].activity_id)
    assert "Going: 3" in texts(update.body["attachments"][0]["content"])


async def test_throttling_is_waited_out_and_nothing_is_sent_twice(bot, connector, teams):
    await bot(a.installed(connector.url, "ana"))
    connector.throttle_next = 3
    connector.retry_after = 0.01
    result = await teams.runtime.tick(TUESDAY)
    throttled = [c for c in connector.calls if c.status == 429]
    to_ana = [c for c in connector.sent("send") if c.conversation == "a:personal-29:ana"]
    assert len(throttled) == 3 and len(to_ana) == 2
    assert len({json.dumps(c.body["attachments"][0]["content"]) for c in to_ana}) == 2
    assert result.delivery.sent >= 2


async def test_with_an_app_id_an_unauthenticated_request_gets_401_and_reaches_no_handler(teams, connector, sessions):
    settings = Settings(microsoft_app_id="00000000-0000-0000-0000-0000000000aa", microsoft_app_password="s3cr3t-value-from-azure")
    secured = build_teams(teams.runtime, settings)
    runner, port = await start_server(build_web_app(None, (secured.adapter, secured.wiring)), "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            forged = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2FwaS5ib3RmcmFtZXdvcmsuY29tIiwiYXVkIjoiMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMGFhIn0."
            for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Bearer {forged}"}):
                response = await http.post("/api/messages", json=a.message(connector.url, "ana", "help"), headers=headers)
                assert response.status == 401
    finally:
        await runner.cleanup()
    assert connector.calls == []
    async with sessions() as session:
        assert (await session.exec(select(ConversationReference))).all() == []


async def test_a_form_submitted_while_the_database_does_not_answer_keeps_the_card_and_says_try_again(bot, connector, teams, sessions, shared_engines):
    teams.runtime.interaction_timeout = 1.0
    await bot(a.message(connector.url, "ana", "report churn"))
    form_call = connector.sent("reply")[-1]
    [submit] = [b for b in buttons(form_call.body["attachments"][0]["content"]) if b["data"]["mlpulse"].get("form") == "report.file"]
    values = {**submit["data"], "model": "churn", "what_happened": "Every score is 0.5", "impact": "minor"}
    async with held(shared_engines[1]):
        await bot(a.submit(connector.url, "ana", values, form_call.activity_id), settle=False)
    await teams.runtime.settle()
    assert connector.sent("update") == []  # the card still holds what Ana typed
    assert TRY_AGAIN in json.dumps(connector.sent("reply")[-1].body)
    async with sessions() as session:
        assert (await session.exec(select(FailureReport))).all() == []


def channel_event(service_url: str, event: str, channel_id: str, name: str | None = None) -> dict:
    """A conversationUpdate Teams sends when a team's channel is renamed or deleted."""
    activity = a._base("conversationUpdate", service_url, a.user("lead"), a.channel(channel_id))
    activity["channelData"] |= {"eventType": event, "channel": {"id": channel_id, **({"name": name} if name else {})}}
    return activity


async def test_a_renamed_channel_keeps_getting_what_app_yaml_sends_it_and_a_deleted_one_is_forgotten(bot, connector, teams, sessions):
    await bot(a.installed(connector.url))
    digest = "19:digest@thread.tacv2"
    assert (await bot(channel_event(connector.url, "channelRenamed", digest, "ml-weekly"))).status in (200, 201)
    async with sessions() as session:
        [renamed] = (await session.exec(select(ConversationReference).where(ConversationReference.scope_id == digest))).all()
    assert (renamed.name, renamed.former_names) == ("ml-weekly", "ml-digest")

    first_digest = TUESDAY + timedelta(days=6, hours=-1)
    await teams.runtime.tick(first_digest)  # app.yaml still says teams:ml-digest
    assert len([c for c in connector.sent("send") if c.conversation == digest]) == 1

    assert (await bot(channel_event(connector.url, "channelDeleted", digest))).status in (200, 201)
    async with sessions() as session:
        assert (await session.exec(select(ConversationReference).where(ConversationReference.scope_id == digest))).all() == []
