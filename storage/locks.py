"""Storage layer: database locks for the work that no unique key can claim, such as syncing app.yaml."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.common import dialect

# Any fixed bigint names the lock; this one is "mlpulse" in ASCII, so it is easy to spot in pg_locks.
SYNC_LOCK_KEY = int.from_bytes(b"mlpulse", "big")


async def lock_sync(*, session: AsyncSession) -> None:
    """Wait until no other app.yaml sync is running, then hold that lock until this transaction ends."""
    # Called first in the transaction: under READ COMMITTED every later statement then sees
    # what the sync before it committed. SQLite needs nothing here, because every transaction
    # there begins IMMEDIATE (see storage/db.py) and so holds the one write lock from its first statement.
    if dialect(session) == "postgresql":
        await session.exec(select(func.pg_advisory_xact_lock(SYNC_LOCK_KEY)))
