"""Storage layer: helpers shared by the query modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

# The INSERT of either dialect: both have ON CONFLICT, DO NOTHING and DO UPDATE.
Insert = postgresql.Insert | sqlite.Insert

Row = TypeVar("Row", bound=SQLModel)


class MissingRow(LookupError):
    """A row that must exist, because another row refers to it, is not there."""


async def get_referenced(session: AsyncSession, table: type[Row], row_id: int) -> Row:
    """Return the row of `table` with this id, which a foreign key guarantees; raise MissingRow if it is gone.

    The `must_get_*` getters are built on it; the `get_*` ones, which may miss (an id a
    user typed, a button on an old message), return None instead.
    """
    row = await session.get(table, row_id)
    if row is None:
        raise MissingRow(f"{table.__name__} {row_id} is missing, though another row refers to it")
    return row


def dialect(session: AsyncSession) -> str:
    """Return the session's database dialect name ('sqlite' or 'postgresql')."""
    return session.get_bind().dialect.name


def insert_ignoring_conflict(session: AsyncSession, table: Any, values: dict[str, Any] | list[dict[str, Any]], conflict: list[str]) -> Insert:
    """Build an INSERT that silently skips rows whose unique key `conflict` already exists.

    This is how work is claimed: whoever inserts the key first owns it, and everyone
    else (another tick, a replica, a retry) inserts nothing.
    """
    return _insert(session)(table).values(values).on_conflict_do_nothing(index_elements=conflict)


def upsert(session: AsyncSession, table: Any, values: dict[str, Any], conflict: list[str], changed: dict[str, Any]) -> Insert:
    """Build an INSERT that, when the unique key `conflict` exists, updates that row with `changed`."""
    return _insert(session)(table).values(values).on_conflict_do_update(index_elements=conflict, set_=changed)


def _insert(session: AsyncSession) -> Callable[[Any], Insert]:
    return postgresql.insert if dialect(session) == "postgresql" else sqlite.insert
