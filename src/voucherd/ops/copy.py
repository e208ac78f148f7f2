"""``voucherd copy --to postgresql+asyncpg://...``: a whole SQLite install into PostgreSQL.

Every table is copied in dependency order (parents first), in batches of rows ordered by primary
key, each batch one transaction on PostgreSQL (one CSV ``COPY`` of the values as SQLite stores
them). That order makes the copy
resumable: a rerun reads the last key each table holds on PostgreSQL and goes on after it, so an
interrupted copy loses at most the batch it was writing, which its rollback discarded.

Each batch runs with ``session_replication_role = replica``, which turns off PostgreSQL's triggers
for the transaction: the figure triggers of migration 0018 would otherwise count every copied
code, redemption and recipient a second time into ``campaign_figures``, which is copied too. (It
also skips the foreign keys' checks; parents are copied first anyway, and the verification
compares everything.) Setting it needs a superuser or, from PostgreSQL 15, a role granted
``SET`` on that parameter.

Then the copy is verified: per table, the row count and a checksum of the rows (each row's
canonical text hashed, the hashes summed, so the order in which each side returns rows does not
matter), computed from the values as SQLAlchemy reads them on each side: another path than the
copy's, so a value the copy wrote wrong shows as a difference. Last, every sequence
(``staff.number``) is moved past the largest value copied.

The source must be quiet: stop the servers and workers first (anything written during the copy
would be missed, and the verification would say so)."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Column, ColumnElement, String, Table, bindparam, func, select, text, tuple_
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core.errors import Conflict, InvalidInput, PermissionDenied
from voucherd.db import Database, unit_of_work
from voucherd.db.session import driver_of
from voucherd.models import Base

BATCH = 10_000
_MODULUS = 2**128

Progress = Callable[[str, int, int], None]  # (table, rows done, rows in all)


@dataclass(frozen=True)
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_sum: str
    target_sum: str

    @property
    def matches(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sum == self.target_sum


def tables() -> list[Table]:
    """Every table voucherd keeps, parents first."""
    return list(Base.metadata.sorted_tables)


def _key(table: Table, *, postgres: bool) -> list[ColumnElement[Any]]:
    """The primary key's columns, compared as SQLite compares them: text in byte order (``C``)
    on PostgreSQL, whose database collation may sort otherwise; UUIDs sort by their bytes on
    PostgreSQL and by their hex text on SQLite, which is the same order."""
    columns: list[ColumnElement[Any]] = []
    for column in table.primary_key.columns:
        columns.append(column.collate("C") if postgres and isinstance(column.type, String) else column)
    return columns


def _after(table: Table, last: Sequence[Any] | None, *, postgres: bool) -> Any:
    key = _key(table, postgres=postgres)
    query = select(table).order_by(*key)
    if last is None:
        return query
    if len(key) == 1:
        return query.where(key[0] > last[0])
    # Typed parameters: each value bound as its column binds it (a UUID as SQLite's hex text).
    values = [
        bindparam(None, value, type_=column.type)
        for value, column in zip(last, table.primary_key.columns, strict=True)
    ]
    return query.where(tuple_(*key) > tuple_(*values))


async def _count(database: Database, table: Table) -> int:
    async with unit_of_work(database, write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def _last_key(database: Database, table: Table) -> tuple[Any, ...] | None:
    key = _key(table, postgres=True)
    columns = list(table.primary_key.columns)
    async with unit_of_work(database, write=False) as session:
        row = (await session.execute(select(*columns).order_by(*(c.desc() for c in key)).limit(1))).first()
    return None if row is None else tuple(row)


async def _revision(database: Database) -> str | None:
    try:
        async with unit_of_work(database, write=False) as session:
            revision = await session.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:
        return None
    return None if revision is None else str(revision)


async def check_target(source: Database, target: Database) -> None:
    """Refuse a target that is not PostgreSQL, not migrated to the source's schema, or that
    holds clients the source does not have (another install's data)."""
    if not source.is_sqlite:
        raise InvalidInput("voucherd copy moves a SQLite install: set VOUCHERD_DATABASE_URL to it.")
    if not target.is_postgres:
        raise InvalidInput("--to must be a PostgreSQL URL: postgresql+asyncpg://user@host/db", field="to")
    source_revision, target_revision = await _revision(source), await _revision(target)
    if source_revision != target_revision:
        raise Conflict(
            f"The schemas differ (SQLite at {source_revision}, PostgreSQL at {target_revision}): run "
            "voucherd migrate on both (VOUCHERD_DATABASE_URL=each) with this release first."
        )
    clients = Base.metadata.tables["clients"]
    async with unit_of_work(target, write=False) as session:
        theirs = set(await session.scalars(select(clients.c.id)))
    async with unit_of_work(source, write=False) as session:
        ours = set(await session.scalars(select(clients.c.id)))
    if theirs - ours:
        raise Conflict(
            "The PostgreSQL database holds clients this install does not have: copy into an empty one."
        )


async def _set_replica(session: AsyncSession) -> None:
    try:
        await session.execute(text("SET LOCAL session_replication_role = replica"))
    except DBAPIError as error:
        raise PermissionDenied(
            "The copy turns PostgreSQL's triggers off while it writes (session_replication_role), "
            "which needs a superuser (or, from PostgreSQL 15, GRANT SET ON PARAMETER "
            "session_replication_role TO the role): connect --to as one."
        ) from error


def _stored(table: Table, last: Sequence[Any] | None, *, typed: bool) -> Any:
    """The rows after ``last`` as SQLite stores them: columns without SQLAlchemy's types, so
    that no value is converted to Python and back (a UUID stays its 32 hex digits, a time its
    text in UTC, JSON its text, a boolean 0 or 1: each is what PostgreSQL reads in its CSV
    input too). ``typed``: ``last`` holds Python values (read from PostgreSQL) to bind as the
    columns bind them; otherwise values read by this query."""
    names = [column.name for column in table.columns]
    stored = sql_table(table.name, *(sql_column(name) for name in names))
    key = [stored.c[column.name] for column in table.primary_key.columns]
    query = select(*(stored.c[name] for name in names)).order_by(*key)
    if last is None:
        return query
    columns = list(table.primary_key.columns)
    values = [
        bindparam(None, value, type_=column.type if typed else None)
        for value, column in zip(last, columns, strict=True)
    ]
    if len(key) == 1:
        return query.where(key[0] > values[0])
    return query.where(tuple_(*key) > tuple_(*values))


def _csv_field(value: Any) -> str:
    if value is None:
        return ""  # unquoted: NULL
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, bytes):
        return f'"\\x{value.hex()}"'
    return '"' + str(value).replace('"', '""') + '"'


def _csv(rows: Sequence[Sequence[Any]]) -> bytes:
    return "".join(",".join(_csv_field(value) for value in row) + "\n" for row in rows).encode()


async def copy_table(
    source: Database,
    target: Database,
    table: Table,
    *,
    batch: int = BATCH,
    on_progress: Progress | None = None,
) -> int:
    """Copy the rows of ``table`` that the target lacks (those after its last key); the rows
    copied by this call. Each batch goes in as one CSV ``COPY`` in UTC."""
    total = await _count(source, table)
    done = await _count(target, table)
    if on_progress:
        on_progress(table.name, done, total)
    last: Sequence[Any] | None = await _last_key(target, table)
    typed = True
    names = [column.name for column in table.columns]
    key_positions = [names.index(column.name) for column in table.primary_key.columns]
    copied = 0
    while True:
        async with unit_of_work(source, write=False) as session:
            rows = list(await session.execute(_stored(table, last, typed=typed).limit(batch)))
        if not rows:
            return copied
        async with unit_of_work(target) as session:
            await _set_replica(session)
            await session.execute(text("SET LOCAL TimeZone = 'UTC'"))  # SQLite's times are UTC
            driver = await driver_of(session)
            await driver.copy_to_table(table.name, source=io.BytesIO(_csv(rows)), columns=names, format="csv")
        last, typed = tuple(rows[-1][n] for n in key_positions), False
        copied += len(rows)
        if on_progress:
            on_progress(table.name, done + copied, total)


def _canonical(value: Any) -> str:
    """One value's text, the same for what SQLite and PostgreSQL hand back."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | uuid.UUID | Decimal | int | str):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float):
        return repr(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()  # JSON (JSONB orders its keys)


async def checksum(database: Database, table: Table, *, batch: int = BATCH) -> tuple[int, str]:
    """(rows, checksum): the sum of each row's SHA-256 (of its values' canonical text, column by
    column), modulo 2**128, in hex."""
    columns: list[Column[Any]] = list(table.columns)
    total = 0
    rows = 0
    postgres = database.is_postgres
    last: tuple[Any, ...] | None = None
    key_names = [column.name for column in table.primary_key.columns]
    while True:
        async with unit_of_work(database, write=False) as session:
            found = list(await session.execute(_after(table, last, postgres=postgres).limit(batch)))
        if not found:
            return rows, f"{total:032x}"
        for row in found:
            line = "\x1f".join(_canonical(row._mapping[column.name]) for column in columns)
            total = (total + int.from_bytes(hashlib.sha256(line.encode()).digest()[:16], "big")) % _MODULUS
        rows += len(found)
        last = tuple(found[-1]._mapping[name] for name in key_names)


async def verify(
    source: Database, target: Database, *, on_progress: Progress | None = None
) -> list[TableCheck]:
    checks = []
    every = tables()
    for n, table in enumerate(every):
        source_rows, source_sum = await checksum(source, table)
        target_rows, target_sum = await checksum(target, table)
        checks.append(TableCheck(table.name, source_rows, target_rows, source_sum, target_sum))
        if on_progress:
            on_progress("verify", n + 1, len(every))
    return checks


async def set_sequences(target: Database) -> list[tuple[str, str, int]]:
    """Move every sequence that numbers a column past the column's largest value: (table,
    column, its next value)."""
    moved = []
    async with unit_of_work(target) as session:
        owned = list(
            await session.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() "
                    "AND (column_default LIKE 'nextval(%' OR is_identity = 'YES') ORDER BY 1, 2"
                )
            )
        )
        for table_name, column_name in owned:
            largest = await session.scalar(text(f'SELECT max("{column_name}") FROM "{table_name}"'))  # noqa: S608 - names from information_schema
            following = int(largest or 0) + 1
            await session.execute(
                text("SELECT setval(pg_get_serial_sequence(:table, :column), :value, false)"),
                {"table": table_name, "column": column_name, "value": following},
            )
            moved.append((table_name, column_name, following))
    return moved


async def copy_install(
    source: Database, target: Database, *, batch: int = BATCH, on_progress: Progress | None = None
) -> int:
    """Copy every table (resuming where a previous run stopped) and set the sequences; the rows
    this run copied."""
    await check_target(source, target)
    copied = 0
    for table in tables():
        copied += await copy_table(source, target, table, batch=batch, on_progress=on_progress)
    await set_sequences(target)
    return copied
