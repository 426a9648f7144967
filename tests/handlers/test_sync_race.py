"""Start-up sync under concurrency: replicas and ticks that start at once all come up, and the data is what app.yaml says.

Every start (a replica, a `mlpulse tick`, `mlpulse models import`) syncs app.yaml into the
database. Here two replicas and three ticks start at once, each with its own engine (its
own connection pool) on one shared database, as separate processes would: ten rounds on a
fresh database and ten on a synced one. A last round starts real `mlpulse` processes.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, select

from bot.config import load_portfolio
from handlers.declarations import PortfolioDecl
from handlers.registry import SyncReport, handle_sync
from storage.db import create_engine, session_factory, transaction
from storage.migrate import upgrade
from storage.models import BusinessUnit, ForumSession, MLModel, Person, PlatformIdentity, ReviewForum, Stakeholder, UnitContact
from tests import factories as f
from tests.conftest import NOW, ON_POSTGRES, POLICY, TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 10
PROCESS_TIMEOUT = 120  # seconds for the five `mlpulse` processes together: a lock that never lets go must fail the test, not hang it


def portfolio() -> PortfolioDecl:
    """The small portfolio, plus a forum and platform identities, so that every part of the sync runs."""
    spec = f.small_portfolio().model_dump()
    spec["units"][0]["forum"] = {"every": "1 month", "on": "first tue", "at": "15:00"}
    spec["people"][2]["slack"] = "U0ANA1"
    spec["people"][4]["teams"] = "aad-cy"
    return f.decl(**spec)


def declared(decl: PortfolioDecl) -> dict[str, list]:
    """Return what the database must hold after syncing `decl`, table by table, as sorted rows."""
    tz = decl.workspace.timezone
    forums = [u.name for u in decl.units if u.forum]
    return {
        "people": sorted((p.key, p.name, p.email, p.timezone or tz, p.key in decl.leads, True) for p in decl.people),
        "identities": sorted((p.key, platform, external) for p in decl.people for platform, external in (("slack", p.slack), ("teams", p.teams)) if external),
        "units": sorted((u.name, u.channel, u.timezone or tz) for u in decl.units),
        "contacts": sorted((u.name, key) for u in decl.units for key in u.contacts),
        "forums": sorted((name, True, True) for name in forums),
        "next sessions": sorted(forums),
        "models": sorted((m.key, m.name, m.unit, m.owner, "active") for m in decl.models),
        "stakeholders": sorted((m.key, key) for m in decl.models for key in m.stakeholders),
    }


async def stored(sessions) -> dict[str, list]:
    """Return what the database holds, in the shape of `declared`."""
    async with sessions() as session:
        tables = (Person, PlatformIdentity, BusinessUnit, UnitContact, ReviewForum, ForumSession, MLModel, Stakeholder)
        rows = [(await session.exec(select(table))).all() for table in tables]
    people, identities, units, contacts, forums, forum_sessions, models, stakeholders = rows
    person = {p.id: p.key for p in people}
    unit = {u.id: u.name for u in units}
    forum_unit = {r.id: unit[r.unit_id] for r in forums}
    model = {m.id: m.key for m in models}
    return {
        "people": sorted((p.key, p.display_name, p.email, p.timezone, p.is_lead, p.declared) for p in people),
        "identities": sorted((person[i.person_id], i.platform, i.external_id) for i in identities),
        "units": sorted((u.name, u.channel, u.timezone) for u in units),
        "contacts": sorted((unit[c.unit_id], person[c.person_id]) for c in contacts),
        "forums": sorted((unit[r.unit_id], r.active, r.from_config) for r in forums),
        "next sessions": sorted(forum_unit[s.forum_id] for s in forum_sessions if s.status == "scheduled"),
        "models": sorted((m.key, m.name, unit[m.unit_id], person[m.owner_id], m.status) for m in models),
        "stakeholders": sorted((model[s.model_id], person[s.person_id]) for s in stakeholders),
    }


WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


async def start(engine, decl: PortfolioDecl, now: datetime) -> tuple[SyncReport, list[str]]:
    """Start one process: sync app.yaml in one transaction; return the report and each statement that wrote a row.

    There is no retry: the sync's lock and its diffing must make the race impossible on their own.
    """
    writes: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        # The driver's row count: 0 for a DELETE that matched nothing or an INSERT that met its
        # conflict, -1 (also a write) for a batch whose count asyncpg does not report.
        if WRITE.match(statement) and cursor.rowcount != 0:
            writes.append(" ".join(statement.split()[:3]))

    event.listen(engine.sync_engine, "after_cursor_execute", record)
    try:
        async with transaction(session_factory(engine)) as session:
            return await handle_sync(session, decl, POLICY, now), writes  # the commit's flush still lands in `writes`
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", record)


async def start_at_once(engines, decl: PortfolioDecl, now: datetime) -> list[tuple[SyncReport, list[str]]]:
    """Start one process per engine at the same moment; every one of them must come up."""
    results = await asyncio.gather(*(start(e, decl, now) for e in engines), return_exceptions=True)
    # The driver's own message names the constraint; SQLAlchemy's wraps it in the whole statement.
    failures = [f"{type(r).__name__}: {str(getattr(r, 'orig', r)).splitlines()[0]}" for r in results if isinstance(r, BaseException)]
    assert not failures, failures
    return results


def changed(report: SyncReport) -> list[str]:
    return report.created + report.updated + report.retired


async def empty(engine) -> None:
    """Delete every row, keeping the schema: a fresh database."""
    async with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            await connection.execute(table.delete())


async def test_two_replicas_and_three_ticks_starting_at_once_on_a_fresh_database_all_come_up(replica_engines):
    decl, sessions = portfolio(), session_factory(replica_engines[0])
    for round_ in range(ROUNDS):
        await empty(replica_engines[0])
        results = await start_at_once(replica_engines, decl, NOW + timedelta(minutes=round_))
        assert await stored(sessions) == declared(decl), f"round {round_}"
        # One start created everything; the other four waited for it, found it all in place and wrote nothing.
        first, *others = sorted(results, key=lambda r: not r[0].created)
        assert len(first[0].created) == len(decl.people) + len(decl.units) + len(decl.models), f"round {round_}"
        assert [(changed(report), written) for report, written in others] == [([], [])] * 4, f"round {round_}"


async def test_two_replicas_and_three_ticks_starting_at_once_on_a_synced_database_write_nothing(replica_engines):
    decl, sessions = portfolio(), session_factory(replica_engines[0])
    await start(replica_engines[0], decl, NOW)
    for round_ in range(ROUNDS):
        results = await start_at_once(replica_engines, decl, NOW + timedelta(hours=1, minutes=round_))
        assert [(changed(report), written) for report, written in results] == [([], [])] * 5, f"round {round_}"
        assert await stored(sessions) == declared(decl), f"round {round_}"


async def test_a_changed_contact_list_writes_only_the_contacts_that_changed(engine):
    decl = portfolio()
    await start(engine, decl, NOW)
    spec = decl.model_dump()
    spec["units"][0]["contacts"] = ["ana", "bo"]  # bo added
    spec["units"][1]["contacts"] = []  # cy removed
    changed_decl = f.decl(**spec)
    report, writes = await start(engine, changed_decl, NOW)
    assert (changed(report), sorted(writes)) == ([], ["DELETE FROM unitcontact", "INSERT INTO unitcontact"])
    assert await stored(session_factory(engine)) == declared(changed_decl)


@pytest.fixture
async def cli_database(tmp_path):
    """A database migrated by Alembic, as `mlpulse db upgrade` leaves it: a file in tmp_path, or a PostgreSQL database of its own."""
    if not ON_POSTGRES:
        url = f"sqlite+aiosqlite:///{tmp_path / 'mlpulse.db'}"
        upgrade(url)
        yield url
        return
    # The test database's schema comes from create_all, not Alembic, and the CLI refuses it.
    name = f"{make_url(TEST_DATABASE_URL).database}_cli"
    url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(url)
        yield url
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def _error_line(stderr: bytes) -> str:
    lines = stderr.decode().strip().splitlines() or [""]
    return next((line for line in reversed(lines) if "Error" in line), lines[-1])


async def test_five_mlpulse_processes_importing_at_once_all_exit_0(tmp_path, cli_database):
    config = tmp_path / "app.yaml"
    config.write_text((ROOT / "app.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "DATABASE_URL", "MLPULSE_"))}
    env["DATABASE_URL"] = cli_database
    command = [sys.executable, "-m", "bot.cli", "--config", str(config), "models", "import"]
    pipe = asyncio.subprocess.PIPE
    processes = [await asyncio.create_subprocess_exec(*command, cwd=tmp_path, env=env, stdout=pipe, stderr=pipe) for _ in range(5)]
    try:
        outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), PROCESS_TIMEOUT)
    finally:
        for p in processes:
            if p.returncode is None:
                p.kill()
                await p.wait()
    assert [p.returncode for p in processes] == [0] * 5, [_error_line(err) for (_, err), p in zip(outputs, processes, strict=True) if p.returncode]
    added = sorted(int(re.search(r"Imported .*app.yaml: (\d+) added, 0 updated, 0 retired\.", out.decode())[1]) for out, _ in outputs)
    assert added == [0, 0, 0, 0, 26]  # the first did everything; the rest found it done
    engine = create_engine(cli_database)
    try:
        assert await stored(session_factory(engine)) == declared(load_portfolio(config))
    finally:
        await engine.dispose()
