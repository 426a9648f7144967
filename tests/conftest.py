"""Shared fixtures: a fresh database per test, on SQLite or on PostgreSQL.

Handler and storage tests run on in-memory SQLite. When MLPULSE_TEST_DATABASE_URL is
set (CI sets it to the local PostgreSQL), the same tests run there instead: the
schema is created once and every table is emptied before each test.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from handlers.context import Policy
from handlers.periods import Cadence
from storage.db import create_engine, is_sqlite, normalize_url, session_factory

TEST_DATABASE_URL = os.environ.get("MLPULSE_TEST_DATABASE_URL")
ON_POSTGRES = bool(TEST_DATABASE_URL) and not is_sqlite(normalize_url(TEST_DATABASE_URL))
_schema_ready = False

# A Monday; the default test cadence asks every Tuesday at 10:00, so TUESDAY is the
# first instant anything falls due (for people on UTC; Tokyo's comes nine hours earlier).
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
POLICY = Policy(
    timezone="UTC",
    default_cadence=Cadence(every=1, unit="week", weekdays=(1,)),
    reminder_after=timedelta(days=1),
    max_reminders=2,
)


async def _prepare(engine) -> None:
    global _schema_ready
    if engine.dialect.name == "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all)
        return
    async with engine.begin() as connection:
        if not _schema_ready:
            await connection.run_sync(SQLModel.metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            await connection.run_sync(SQLModel.metadata.create_all)
            _schema_ready = True
        names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def engine():
    """An empty database with the current schema."""
    engine = create_engine(TEST_DATABASE_URL or "sqlite+aiosqlite://")
    await _prepare(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


@pytest.fixture
async def session(sessions):
    async with sessions() as session:
        yield session


@pytest.fixture
async def shared_engines(tmp_path):
    """Two engines (two connection pools) on one database, as two bot processes would have."""
    url = TEST_DATABASE_URL if ON_POSTGRES else f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first, second = create_engine(url), create_engine(url)
    await _prepare(first)
    yield first, second
    await first.dispose()
    await second.dispose()


@pytest.fixture
async def replica_engines(tmp_path):
    """Five engines (five connection pools) on one database, as two replicas and three `mlpulse tick` runs would have."""
    url = TEST_DATABASE_URL if ON_POSTGRES else f"sqlite+aiosqlite:///{tmp_path / 'replicas.db'}"
    engines = [create_engine(url) for _ in range(5)]
    await _prepare(engines[0])
    yield engines
    for engine in engines:
        await engine.dispose()


@pytest.fixture(autouse=True)
async def nothing_left_running():
    """Fail a test that leaves work running once its fixtures are torn down (it would die mid-way when the loop closes, or hang it)."""
    yield
    current = asyncio.current_task()
    left = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    if left:
        _, pending = await asyncio.wait(left, timeout=10)
        for task in pending:
            task.print_stack()
        assert not pending, f"{len(pending)} task(s) still running after the test: {sorted(str(t.get_coro()) for t in pending)}"
