"""Bulk inserts: PostgreSQL gets a binary COPY on the session's own connection (in its
transaction), SQLite an executemany. A 10,000-recipient upload writes five tables this way: COPY
costs about a tenth of SQLAlchemy's parameter processing and the driver round trips."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.db.session import driver_of


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert plain rows (every dict with the same keys). A broken constraint raises
    :class:`IntegrityError` on both backends."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(table.insert(), list(rows))
        return
    import asyncpg  # type: ignore[import-untyped]

    columns = list(rows[0])
    as_json = [name for name in columns if isinstance(table.c[name].type, JSON)]
    if as_json:  # JSON goes as text; the other values as they are
        rows = [
            {
                **row,
                **{name: None if row[name] is None else orjson.dumps(row[name]).decode() for name in as_json},
            }
            for row in rows
        ]
    records = [tuple(row.values()) for row in rows]
    driver = await driver_of(session)
    try:
        await driver.copy_records_to_table(table.name, columns=columns, records=records)
    except asyncpg.IntegrityConstraintViolationError as error:
        raise IntegrityError(f"COPY {table.name}", None, error) from error
