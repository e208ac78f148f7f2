"""One transaction per request or job. Services never commit; the unit of work does, on success,
and rolls back on any exception."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
