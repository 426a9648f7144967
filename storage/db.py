"""Storage layer: the async engine, sessions, and the schema-version check.

`DATABASE_URL` picks the database. SQLite (through aiosqlite) is the embedded
default; PostgreSQL goes through asyncpg. The plain `sqlite:///` and `postgresql://`
forms are accepted and mapped to those drivers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlmodel.ext.asyncio.session import AsyncSession

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./mlpulse.db"
T = TypeVar("T")

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
}


# What a database that is down, unreachable or too slow raises, through SQLAlchemy or the driver.
DATABASE_ERRORS = (OperationalError, DBAPIError, OSError, ConnectionError, TimeoutError)
# How long a connection may take to open, and a statement to answer, before it is given
# up: a database that stopped answering fails a request in seconds instead of hanging it.
CONNECT_TIMEOUT = 5.0
STATEMENT_TIMEOUT = 30.0


class DatabaseNotReady(RuntimeError):
    """The database cannot be used as it is; the message says what to run."""


def normalize_url(url: str | None) -> str:
    """Return `url` with an async driver, or the embedded default when empty."""
    if not url:
        return DEFAULT_DATABASE_URL
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername)
    if driver not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ValueError(f"unsupported DATABASE_URL driver {parsed.drivername!r}: use sqlite:///path.db or postgresql://user@host/db")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    """Tell whether a database URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str | None = None, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for a database URL, tuned for its backend."""
    url = normalize_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if not database or database == ":memory:":
            # One connection shared by everyone, or each would see its own empty database.
            kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_timeout", CONNECT_TIMEOUT)
    # `timeout` bounds connecting and `command_timeout` every statement, on the client:
    # a server that is frozen (not down) answers neither, and no server-side timeout
    # could fire. The server-side ones end what a vanished client left behind.
    kwargs.setdefault(
        "connect_args",
        {
            "timeout": CONNECT_TIMEOUT,
            "command_timeout": STATEMENT_TIMEOUT,
            "server_settings": {"statement_timeout": str(int(STATEMENT_TIMEOUT * 1000)), "idle_in_transaction_session_timeout": "60000"},
        },
    )
    return create_async_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: Any) -> None:
    # WAL lets the shell and a running tick read while the other writes; foreign keys
    # are off by default in SQLite and on in PostgreSQL, and both must behave alike.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # Take transactions into our own hands (see _sqlite_begin).
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    # Two deferred transactions that both read and then write deadlock, and SQLite
    # breaks the tie by failing one at once with "database is locked". Starting every
    # transaction IMMEDIATE makes writers queue on the busy timeout instead, so the
    # shell and a `mlpulse tick` from cron can share one file safely.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session maker that the wiring uses to open one session per unit of work."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Open a session, commit it if the block succeeds and roll it back if it raises."""
    async with sessions() as session:
        try:
            yield session
            session.info["committing"] = True  # from here on, only the database knows whether it lands (see run_within)
            await session.commit()
        except BaseException:
            # Shielded: a task cancelled twice (a shutdown, a task group) must still let go
            # of its transaction, or on SQLite its write lock outlives it.
            await asyncio.shield(session.rollback())
            raise


# Deadlock detected, serialization failure: PostgreSQL aborted the transaction and
# running it again is the documented cure.
RETRYABLE_SQLSTATES = {"40P01", "40001"}


def is_retryable(exc: BaseException) -> bool:
    """Tell whether a database error means "roll back and run the transaction again"."""
    for candidate in (exc, getattr(exc, "orig", None), getattr(getattr(exc, "orig", None), "__cause__", None)):
        if getattr(candidate, "sqlstate", None) in RETRYABLE_SQLSTATES or getattr(candidate, "pgcode", None) in RETRYABLE_SQLSTATES:
            return True
    return False


async def run_in_transaction(sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[T]], attempts: int = 5) -> T:
    """Run `await work(session)` in a transaction; re-run it if the database aborted it as a deadlock, or once after a lost race.

    A lost race is a unique key that a concurrent transaction took first (a double
    click, a retried request, two replicas): run again, the work sees the winner's row
    and answers as it did.
    """
    raced = False
    for attempt in range(1, attempts + 1):
        try:
            async with transaction(sessions) as session:
                return await work(session)
        except Exception as exc:
            if isinstance(exc, IntegrityError) and not raced and attempt < attempts:
                raced = True
                continue
            if attempt == attempts or not is_retryable(exc):
                raise
            await asyncio.sleep(0.01 * attempt)
    raise ValueError(f"attempts must be at least 1, not {attempts}")


# Work given up with nobody to wait for it: held here so that it is not collected mid-way.
_LEFT: set[asyncio.Future[Any]] = set()


class Abandoned(TimeoutError):
    """The database did not answer in time, and the work was given up before it committed: nothing it did will land."""


async def abandon_after(
    seconds: float, work: Awaitable[T], *, committing: Callable[[], bool] = lambda: False, left: set[asyncio.Future[Any]] | None = None
) -> T:
    """Return what `work` returns, or raise `Abandoned` after `seconds`, leaving it to end in the background (in `left`, if given).

    Cancelling work that waits on a frozen database would only wait again, for its
    rollback; so it is cancelled and left behind, and the caller can answer at once.
    Work that is `committing` by then is waited for instead: only the database knows
    whether a commit under way lands. Whoever owns `left` waits for it before closing
    the engine, since work cut off from its connection could never end.
    """
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
        if not done and committing():
            return await task
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        _leave_behind(task, _LEFT if left is None else left)
        raise Abandoned(f"the database did not answer within {seconds:g}s")
    return task.result()


def _leave_behind(task: asyncio.Future[Any], left: set[asyncio.Future[Any]]) -> None:
    task.cancel()
    left.add(task)

    def ended(done: asyncio.Future[Any]) -> None:
        left.discard(done)
        if not done.cancelled():
            done.exception()  # whatever it ended with (a rollback error once the database is back) was answered already

    task.add_done_callback(ended)


async def run_within(
    seconds: float, sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[T]], left: set[asyncio.Future[Any]] | None = None
) -> T:
    """Run `work` as `run_in_transaction` does, but give up after `seconds` (raising `Abandoned`) unless it is committing.

    Given up, the work is cancelled before its commit, so whenever the database answers
    again it rolls back: nothing it did lands.
    """
    begun: list[AsyncSession] = []

    async def tracked(session: AsyncSession) -> T:
        begun.append(session)
        return await work(session)

    def committing() -> bool:
        return bool(begun) and begun[-1].info.get("committing", False)

    return await abandon_after(seconds, run_in_transaction(sessions, tracked), committing=committing, left=left)


async def ensure_migrated(engine: AsyncEngine) -> None:
    """Raise `DatabaseNotReady` unless the schema is at the newest migration."""
    from storage.migrate import head_revision

    head = head_revision()
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and not Path(database).exists():
        # Connecting would create an empty file; a command that only reads must leave none behind.
        raise DatabaseNotReady(f"the database {_safe(engine)} has no schema yet. Run: mlpulse db upgrade")
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
            current = result.scalar_one_or_none()
    except Exception as exc:  # the table is missing, or the server is down
        if _looks_unreachable(exc):
            raise DatabaseNotReady(f"cannot reach the database at {_safe(engine)}: {exc.__class__.__name__}: {exc}") from exc
        current = None
    if current != head:
        state = "has no schema yet" if current is None else f"is at migration {current}, the code needs {head}"
        raise DatabaseNotReady(f"the database {_safe(engine)} {state}. Run: mlpulse db upgrade")


def _looks_unreachable(exc: Exception) -> bool:
    return isinstance(exc, (OSError, ConnectionError)) or "connect" in str(exc).lower()


def _safe(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=True)
