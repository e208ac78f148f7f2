"""Bulk work in the session's transaction. Inserts: PostgreSQL gets a binary COPY on the session's
own connection, SQLite an executemany. A 10,000-recipient upload writes five tables this way: COPY
costs about a tenth of SQLAlchemy's parameter processing and the driver round trips. Lookups of
thousands of values: one join against an array on PostgreSQL, IN lists elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import ARRAY, JSON, ColumnElement, Row, Select, Table, bindparam, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.db.session import driver_of

IN_LIST_LENGTH = 500  # values per IN (...) list where arrays are not available


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


async def select_matching(
    session: AsyncSession, query: Select[Any], column: ColumnElement[Any], values: Sequence[Any]
) -> list[Row[Any]]:
    """The rows of ``query`` whose ``column`` is one of ``values`` (thousands of them).

    On PostgreSQL one statement joins the values sent as one array. ``column IN ($1, ..., $500)``
    let the planner, whose statistics still called a table empty right after a bulk insert, scan
    the rows and compare each with the 500 parameters: a retried upload of 10,000 recipients spent
    3 s looking itself up that way, against 0.1 s with the join. Elsewhere IN lists of 500."""
    values = list(dict.fromkeys(values))  # a repeated value must not repeat the rows it matches
    if not values:
        return []
    if session.get_bind().dialect.name == "postgresql":
        sent = (
            func.unnest(bindparam("matching", values, type_=ARRAY(column.type)))
            .table_valued("value")
            .render_derived(name="matching")
        )
        return list(await session.execute(query.join(sent, column == sent.c.value)))
    rows: list[Row[Any]] = []
    for start in range(0, len(values), IN_LIST_LENGTH):
        rows.extend(await session.execute(query.where(column.in_(values[start : start + IN_LIST_LENGTH]))))
    return rows
