"""Request dependencies: one transaction per request, and the calling tenant.

The session dependency uses FastAPI's ``scope="function"`` so that the commit happens before the
response is sent: a client never sees success for a transaction that did not commit. GET and HEAD
run in a read transaction (on SQLite a DEFERRED one, beside writers); every other method writes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal, authenticate, cached_principal
from voucherd.api.idempotency import IDEMPOTENCY_KEY
from voucherd.config import get_settings
from voucherd.db import get_database, unit_of_work
from voucherd.redemptions.repository import CheckoutStore, PostgresStore, SessionStore

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    write = request.method not in _READ_METHODS
    async with unit_of_work(write=write) as session:
        yield session
    if write and get_settings().fault == "after_commit_before_response":
        os._exit(137)  # test-only fault point: the commit happened, the reply never leaves


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]

# The key comes in the ``X-API-Key`` header or the ``api_key`` query parameter. Read here from the
# request rather than through FastAPI's security classes: each dependency costs FastAPI about
# 0.1 ms per request to resolve, a tenth of a checkout call. ``SECURITY_SCHEMES`` documents both
# ways in the OpenAPI schema (see ``api.app``).
API_KEY_HEADER = "X-API-Key"
API_KEY_QUERY = "api_key"
SECURITY_SCHEMES = {
    "APIKeyHeader": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER, "description": "Your API key"},
    "APIKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": API_KEY_QUERY,
        "description": "Your API key (alternative)",
    },
}


def _raw_key(request: Request) -> str | None:
    return request.headers.get(API_KEY_HEADER) or request.query_params.get(API_KEY_QUERY)


async def _principal(request: Request, session: SessionDep) -> Principal:
    return await authenticate(session, _raw_key(request), cache_ttl=get_settings().api_key_cache_seconds)


PrincipalDep = Annotated[Principal, Depends(_principal, scope="function")]


@dataclass(frozen=True, slots=True)
class Checkout:
    principal: Principal
    store: CheckoutStore
    session: AsyncSession | None  # set when the request's writes go through SQLAlchemy


@asynccontextmanager
async def checkout(request: Request) -> AsyncIterator[Checkout]:
    """The checkout's unit of work, opened by its routes themselves rather than as dependencies
    (each one costs FastAPI about 0.1 ms to resolve, and the checkout is the hot path).

    On PostgreSQL it runs on a connection straight from asyncpg (:class:`PostgresStore`), unless
    the request carries an ``Idempotency-Key``, whose record must commit with the write; then, and
    on SQLite, it is one SQLAlchemy session (:class:`SessionStore`), as every other route."""
    raw_key = _raw_key(request)
    settings = get_settings()
    principal = cached_principal(raw_key)
    if principal is None:
        async with unit_of_work(write=False) as session:
            principal = await authenticate(session, raw_key, cache_ttl=settings.api_key_cache_seconds)
    database = get_database()
    write = request.method not in _READ_METHODS
    if database.is_postgres and IDEMPOTENCY_KEY not in request.headers:
        async with (await database.driver()).acquire() as connection:
            yield Checkout(principal, PostgresStore(connection), None)
    else:
        async with unit_of_work(database, write=write) as session:
            yield Checkout(principal, SessionStore(session), session)
    if write and settings.fault == "after_commit_before_response":
        os._exit(137)
