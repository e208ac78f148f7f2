"""The checkout's unit of work, opened by its routes themselves rather than as dependencies (each
dependency costs FastAPI about 0.1 ms to resolve, and the checkout is the hot path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.db import get_database, unit_of_work
from voucherd.http.session import after_commit
from voucherd.redemptions.repository import CheckoutStore, PostgresStore, SessionStore


@dataclass(frozen=True, slots=True)
class Checkout:
    principal: Principal
    store: CheckoutStore
    session: AsyncSession | None  # set when the request's writes go through SQLAlchemy


@asynccontextmanager
async def checkout(principal: Principal, *, write: bool, keyed: bool) -> AsyncIterator[Checkout]:
    """On PostgreSQL the checkout runs on a connection straight from asyncpg
    (:class:`PostgresStore`), unless the request carries an ``Idempotency-Key`` (``keyed``), whose
    record must commit with the write; then, and on SQLite, it is one SQLAlchemy session
    (:class:`SessionStore`), as every other route."""
    database = get_database()
    if database.is_postgres and not keyed:
        async with (await database.driver()).acquire() as connection:
            yield Checkout(principal, PostgresStore(connection), None)
    else:
        async with unit_of_work(database, write=write) as session:
            yield Checkout(principal, SessionStore(session), session)
    after_commit(write)
