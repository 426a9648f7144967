"""The model registry: app.yaml sync (insert, update, never delete) and retirement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from handlers import router
from handlers.actions import ActionId
from handlers.outbound import handle_outbound
from storage.models import CheckIn, MessageKind, OutboundMessage, PlatformIdentity, Stakeholder
from tests import factories as f
from tests.conftest import NOW, TUESDAY
from tests.helpers import run_tick


async def test_sync_inserts_then_updates_and_is_idempotent(sessions):
    portfolio = f.small_portfolio()
    async with sessions() as session:
        first = await f.sync(session, portfolio)
        again = await f.sync(session, portfolio)
    assert len(first.created) == 5 + 2 + 3 and first.updated == [] and first.retired == []
    assert (again.created, again.updated, again.retired) == ([], [], [])
    changed = portfolio.model_dump()
    changed["models"][0]["name"] = "Churn predictor v2"
    changed["people"][2]["timezone"] = "America/Denver"
    async with sessions() as session:
        report = await f.sync(session, f.decl(**changed))
        assert report.updated == ["person ana", "model churn"]
        assert (await f.model(session, "churn")).name == "Churn predictor v2"
        ana = await f.person(session, "ana")
        links = (await session.exec(select(Stakeholder).where(Stakeholder.person_id == ana.id))).all()
    # Ana moved to Denver: her next check-ins are at 10:00 there.
    assert {link.next_due_at for link in links} == {datetime(2026, 3, 3, 17, 0, tzinfo=UTC)}


async def test_a_model_removed_from_the_file_is_retired_not_deleted_and_can_come_back(sessions):
    portfolio = f.small_portfolio()
    async with sessions() as session:
        await f.sync(session, portfolio)
    await run_tick(sessions, TUESDAY)
    trimmed = portfolio.model_dump()
    trimmed["models"] = trimmed["models"][1:]
    async with sessions() as session:
        report = await f.sync(session, f.decl(**trimmed), now=TUESDAY + timedelta(hours=1))
        churn = await f.model(session, "churn")
        open_left = (await session.exec(select(CheckIn).where(CheckIn.model_id == churn.id, CheckIn.status == "open"))).all()
    assert report.retired == ["model churn"]
    assert churn.status == "retired" and open_left == []
    async with sessions() as session:
        back = await f.sync(session, portfolio, now=TUESDAY + timedelta(days=1))
        assert back.updated == ["model churn (back from retirement)"]
        assert (await f.model(session, "churn")).status == "active"


async def test_people_keep_their_platform_identities(sessions):
    portfolio = f.decl(people=[{"key": "ana", "name": "Ana", "slack": "U0ANA", "teams": "aad-1"}])
    async with sessions() as session:
        await f.sync(session, portfolio)
        ids = {(i.platform, i.external_id) for i in (await session.exec(select(PlatformIdentity))).all()}
    assert ids == {("slack", "U0ANA"), ("teams", "aad-1")}


async def test_only_leads_retire_and_retiring_stops_check_ins(sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
        churn, ana, lead = await f.model(session, "churn"), await f.person(session, "ana"), await f.person(session, "lead")
        refused = await router.handle_action(session, f.ctx(ana), ActionId.MODEL_RETIRE_CONFIRM, str(churn.id))
        assert refused.view.text.startswith("Only ML leads can retire models.")
        await session.commit()
    async with sessions() as session:
        assert (await f.model(session, "churn")).status == "active"
        prompt = await router.handle_action(session, f.ctx(lead), ActionId.MODEL_RETIRE, str(churn.id))
        assert prompt.view.buttons[0].action == ActionId.MODEL_RETIRE_CONFIRM
        candidate = await f.model(session, "churn")
        candidate.deprecation_candidate_since, candidate.deprecation_reason = NOW, "stopped twice"
        done = await router.handle_action(session, f.ctx(lead), ActionId.MODEL_RETIRE_CONFIRM, str(churn.id))
        assert done.view.title == "Churn predictor is retired"
        assert candidate.deprecation_candidate_since is None  # decided: /mlstatus no longer calls it a candidate
        await session.commit()
    report = await run_tick(sessions, TUESDAY)
    assert report.created == 2  # fraud and demand only
    async with sessions() as session:
        retired = await f.model(session, "churn")
        assert retired.retired_by_id == lead.id
        # A lead's retirement sticks: the file still lists churn, but sync does not revive it.
        await f.sync(session, f.small_portfolio(), now=NOW + timedelta(days=2))
        assert (await f.model(session, "churn")).status == "retired"


async def test_a_lead_brings_a_retired_model_back_from_chat_and_it_sticks(sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
        churn, lead, ana = await f.model(session, "churn"), await f.person(session, "lead"), await f.person(session, "ana")
        await router.handle_action(session, f.ctx(lead), ActionId.MODEL_RETIRE_CONFIRM, str(churn.id))
        await session.commit()
    async with sessions() as session:
        shown = await router.handle_command(session, f.ctx(lead), "/mlstatus churn")
        [back] = [b for b in shown.view.all_buttons() if b.action == ActionId.MODEL_RESTORE]
        refused = await router.handle_action(session, f.ctx(ana), ActionId.MODEL_RESTORE, back.value)
        assert refused.view.text.startswith("Only ML leads can bring models back.")
        done = await router.handle_action(session, f.ctx(lead), ActionId.MODEL_RESTORE, back.value)
        assert done.view.title == "Churn predictor is back"
        await session.commit()
    async with sessions() as session:
        await f.sync(session, f.small_portfolio(), now=NOW + timedelta(days=2))  # the next start
        assert (await f.model(session, "churn")).status == "active"
    report = await run_tick(sessions, TUESDAY)
    assert report.created == 4  # churn's two stakeholders are asked again, with fraud and demand


async def test_a_model_the_sync_retired_comes_back_through_app_yaml_only(sessions):
    fewer = f.small_portfolio().model_dump()
    fewer["models"] = [m for m in fewer["models"] if m["key"] != "churn"]
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
        await f.sync(session, f.decl(**fewer))
        churn, lead = await f.model(session, "churn"), await f.person(session, "lead")
        assert churn.status == "retired"
        reply = await router.handle_action(session, f.ctx(lead), ActionId.MODEL_RESTORE, str(churn.id))
    assert "app.yaml no longer declares it" in reply.view.text
    async with sessions() as session:
        assert (await f.model(session, "churn")).status == "retired"


async def test_retire_it_on_the_deprecation_message_asks_first(sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
        churn = await f.model(session, "churn")
        churn.deprecation_candidate_since, churn.deprecation_reason = NOW, "stopped twice"
        session.add(churn)
        await session.commit()
        message = OutboundMessage(key="k", kind=MessageKind.MODEL_DEPRECATION, subject_id=churn.id, not_before=NOW)
        view = await handle_outbound(session, message, f.POLICY, NOW)
    retire = next(b for b in view.buttons if b.label == "Retire it…")
    assert retire.action == ActionId.MODEL_RETIRE  # the prompt, not the retirement


async def test_model_list_shows_keys_and_retired_models(sessions):
    async with sessions() as session:
        await f.sync(session, f.small_portfolio())
        lead = await f.person(session, "lead")
        reply = await router.handle_command(session, f.ctx(lead), "/mlpulse models")
    assert reply.view.title == "Models (3)"
    assert reply.view.text.splitlines()[0] == "❔ churn · Churn predictor · Sales · Owner"
