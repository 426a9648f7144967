"""The engine, URLs, UTC datetimes, and migrations that match the tables."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from storage import people as people_store
from storage.common import MissingRow
from storage.db import DatabaseNotReady, create_engine, ensure_migrated, normalize_url, run_in_transaction, session_factory
from storage.migrate import head_revision, upgrade
from storage.models import BusinessUnit
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL


@pytest.mark.parametrize(
    "given, expected",
    [
        (None, "sqlite+aiosqlite:///./mlpulse.db"),
        ("", "sqlite+aiosqlite:///./mlpulse.db"),
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("sqlite+aiosqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_urls_map_to_async_drivers(given, expected):
    assert normalize_url(given) == expected


def test_unsupported_driver_is_named():
    with pytest.raises(ValueError, match="unsupported DATABASE_URL driver 'mysql'"):
        normalize_url("mysql://u@h/db")


async def test_datetimes_come_back_aware_and_in_utc(sessions):
    berlin = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    async with sessions() as session:
        unit = BusinessUnit(name="X", timezone="Europe/Berlin", created_at=berlin)
        session.add(unit)
        await session.commit()
    async with sessions() as session:
        loaded = await session.get(BusinessUnit, unit.id, populate_existing=True)
    assert loaded.created_at == berlin
    assert loaded.created_at.tzinfo == UTC and loaded.created_at.hour == 10


async def test_work_given_no_attempt_is_refused_not_skipped(sessions):
    ran = []

    async def work(session):
        ran.append(session)
        return "done"

    with pytest.raises(ValueError, match="attempts must be at least 1, not 0"):
        await run_in_transaction(sessions, work, attempts=0)
    assert ran == []
    assert await run_in_transaction(sessions, work, attempts=1) == "done"


async def test_a_row_a_foreign_key_guarantees_is_named_when_missing_and_an_optional_one_is_none(sessions):
    async with sessions() as session:
        unit = BusinessUnit(name="X", timezone="UTC")
        session.add(unit)
        await session.flush()
        assert await people_store.must_get_unit(session=session, unit_id=unit.id) is unit
        assert await people_store.get_unit(session=session, unit_id=unit.id + 1) is None
        with pytest.raises(MissingRow, match=f"BusinessUnit {unit.id + 1} is missing"):
            await people_store.must_get_unit(session=session, unit_id=unit.id + 1)


async def test_naive_datetimes_are_refused(sessions):
    async with sessions() as session:
        session.add(BusinessUnit(name="Y", timezone="UTC", created_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive datetime"):
            await session.commit()


@pytest.fixture
async def migration_url(tmp_path):
    """An empty database to migrate: a file for SQLite, a scratch database on PostgreSQL."""
    if not ON_POSTGRES:
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
        return
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text("DROP DATABASE IF EXISTS mlpulse_migration_test"))
        await connection.execute(text("CREATE DATABASE mlpulse_migration_test"))
    url = admin.url.set(database="mlpulse_migration_test").render_as_string(hide_password=False)
    yield url
    async with admin.connect() as connection:
        await connection.execute(text("DROP DATABASE IF EXISTS mlpulse_migration_test WITH (FORCE)"))
    await admin.dispose()


async def test_migrations_build_exactly_the_tables_and_the_app_accepts_them(migration_url):
    engine = create_engine(migration_url)
    try:
        with pytest.raises(DatabaseNotReady, match="has no schema yet. Run: mlpulse db upgrade"):
            await ensure_migrated(engine)
        await asyncio.to_thread(upgrade, migration_url)
        await ensure_migrated(engine)

        def differences(connection):
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, SQLModel.metadata)

        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
            assert (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one() == head_revision()
        # Upgrading again is harmless.
        await asyncio.to_thread(upgrade, migration_url)
        async with session_factory(engine)() as session:
            session.add(BusinessUnit(name="Z", timezone="UTC"))
            await session.commit()
    finally:
        await engine.dispose()


async def test_an_older_schema_is_refused_with_the_command_to_run(migration_url):
    engine = create_engine(migration_url)
    try:
        await asyncio.to_thread(upgrade, migration_url)
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = 'old'"))
        with pytest.raises(DatabaseNotReady, match=f"is at migration old, the code needs {head_revision()}. Run: mlpulse db upgrade"):
            await ensure_migrated(engine)
    finally:
        await engine.dispose()


async def test_an_unreachable_database_is_reported_as_such():
    engine = create_engine("postgresql://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(DatabaseNotReady, match="cannot reach the database at postgresql\\+asyncpg://nobody@127.0.0.1:1/none"):
            await ensure_migrated(engine)
    finally:
        await engine.dispose()
