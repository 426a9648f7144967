"""The anonymity check shared by the Slack and Teams tests: after an anonymous report, nothing stored or logged leads back to its reporter.

What filing wrote is found by comparing every value of every column of every table
before and after; the log is what was captured (at DEBUG) while filing. Both are
searched for the reporter's ids, name and email, raw, URL-encoded and hashed.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote, quote_plus

from sqlalchemy import select
from sqlmodel import SQLModel

# A reporter whose name, email and ids cannot turn up by accident ("ana" would match "analysing").
NAME, EMAIL = "Zelda Quibbleworth", "zelda.q@example.com"
KEY = "zelda"


def person_decl(**ids) -> dict:
    """The reporter as app.yaml declares them (pass slack= or teams= for a named person)."""
    return {"key": KEY, "name": NAME, "email": EMAIL, "timezone": "Europe/Paris", **ids}


def needles(*values: str) -> list[str]:
    """Every form in which these values (and the reporter's name and email) could be written down."""
    found = set()
    for value in (*values, NAME, NAME.split()[-1], EMAIL, EMAIL.split("@")[0]):
        found |= {value, quote(value, safe=""), quote_plus(value)}
        found |= {h(value.encode()).hexdigest() for h in (hashlib.md5, hashlib.sha1, hashlib.sha256)}
    return sorted(found)


async def stored_values(sessions) -> set[str]:
    """Return 'table[primary key].column=value' for every value in the database."""
    found = set()
    async with sessions() as session:
        for table in SQLModel.metadata.sorted_tables:
            keys = [c.name for c in table.primary_key.columns]
            for row in (await session.exec(select(table))).mappings().all():
                where = ",".join(str(row[k]) for k in keys)
                found |= {f"{table.name}[{where}].{column}={value}" for column, value in row.items() if value is not None}
    return found


async def assert_no_trace(sessions, before: set[str], records, reporter: list[str]) -> None:
    """Fail if anything written since `before`, or any log record, holds one of the `reporter` needles."""
    written = "\n".join(sorted(await stored_values(sessions) - before)).lower()
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records).lower()
    assert "failure_report[" in written and "receipt_code=" in written, "the report itself was written (so the search looked at something)"
    assert len(records) > 0, "something was logged while filing (so the search looked at something)"
    for needle in reporter:
        assert needle.lower() not in written, f"{needle!r} is stored: " + next(line for line in written.splitlines() if needle.lower() in line)
        assert needle.lower() not in logged, f"{needle!r} is logged: " + next(line for line in logged.splitlines() if needle.lower() in line)
