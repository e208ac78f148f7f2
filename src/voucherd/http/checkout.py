"""The checkout's unit of work, opened by its routes themselves rather than as dependencies (each
dependency costs FastAPI about 0.1 ms to resolve, and the checkout is the hot path)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.db import get_database, unit_of_work
from voucherd.db.session import driver_of
from voucherd.http.session import after_commit
from voucherd.redemptions.errors import NeedsSession
from voucherd.redemptions.repository import CheckoutStore, PostgresStore, SessionStore


@dataclass(frozen=True, slots=True)
class Checkout:
    principal: Principal
    store: CheckoutStore
    session: AsyncSession | None  # set when the request's writes go through SQLAlchemy


T = TypeVar("T")


@asynccontextmanager
async def checkout(principal: Principal, *, write: bool, transaction: bool) -> AsyncIterator[Checkout]:
    """On PostgreSQL the checkout runs on a connection straight from asyncpg
    (:class:`PostgresStore`): one of the checkout's own pool, where each statement is atomic by
    itself, or, when a second write must commit with the redemption (``transaction``: an
    idempotency record, a customer the redemption names), the connection of a session, in its
    transaction. On SQLite it is one SQLAlchemy session (:class:`SessionStore`), as every other
    route."""
    database = get_database()
    if database.is_postgres and not transaction:
        async with (await database.driver()).acquire() as connection:
            try:
                yield Checkout(principal, PostgresStore(connection), None)
            except TimeoutError:
                # No answer within the statement timeout (a silent line): drop the connection, or
                # its release waits as long again for the cancel of a statement that went nowhere.
                connection.terminate()
                raise
    else:
        async with unit_of_work(database, write=write) as session:
            store: CheckoutStore = (
                PostgresStore(await driver_of(session), session)
                if database.is_postgres
                else SessionStore(session)
            )
            yield Checkout(principal, store, session)
    after_commit(write)


async def run_checkout(
    principal: Principal, work: Callable[[Checkout], Awaitable[T]], *, write: bool, transaction: bool
) -> T:
    """``work`` in a :func:`checkout`; again in a transaction if the code it met turned out to
    be a gift voucher, whose balance moves through the session (the first run wrote nothing)."""
    if not transaction:
        try:
            async with checkout(principal, write=write, transaction=False) as unit:
                return await work(unit)
        except NeedsSession:
            pass
    async with checkout(principal, write=write, transaction=True) as unit:
        return await work(unit)
