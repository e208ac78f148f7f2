"""One transaction per request or job. Services never commit; the unit of work does, on success,
and rolls back on any exception."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.db.engine import Database, get_database


@asynccontextmanager
async def unit_of_work(
    database: Database | None = None, *, write: bool = True
) -> AsyncIterator[AsyncSession]:
    database = database or get_database()
    factory = database.write_sessions if write else database.read_sessions
    async with factory() as session, session.begin():
        yield session


async def driver_of(session: AsyncSession) -> Any:
    """The session's own asyncpg connection, for what SQLAlchemy cannot send (COPY, arrays of a
    million values), inside the session's transaction. SQLAlchemy's adapter sends BEGIN with the
    first statement that goes through it: a statement sent straight to the driver before that would
    run outside the transaction, committed on its own. So when BEGIN has not been sent yet, one
    statement goes through SQLAlchemy first."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    if not driver.is_in_transaction():
        await session.execute(text("SELECT 1"))
    return driver
