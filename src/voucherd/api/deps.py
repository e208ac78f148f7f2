"""Request dependencies: one transaction per request, and the calling tenant.

The session dependency uses FastAPI's ``scope="function"`` so that the commit happens before the
response is sent: a client never sees success for a transaction that did not commit. GET and HEAD
run in a read transaction (on SQLite a DEFERRED one, beside writers); every other method writes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, APIKeyQuery
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal, authenticate
from voucherd.config import get_settings
from voucherd.db import unit_of_work

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    write = request.method not in _READ_METHODS
    async with unit_of_work(write=write) as session:
        yield session
    if write and get_settings().fault == "after_commit_before_response":
        os._exit(137)  # test-only fault point: the commit happened, the reply never leaves


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]

_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Your API key")
_query = APIKeyQuery(name="api_key", auto_error=False, description="Your API key (alternative)")


async def _principal(
    session: SessionDep,
    header_key: Annotated[str | None, Depends(_header)],
    query_key: Annotated[str | None, Depends(_query)],
) -> Principal:
    return await authenticate(
        session, header_key or query_key, cache_ttl=get_settings().api_key_cache_seconds
    )


PrincipalDep = Annotated[Principal, Depends(_principal, scope="function")]
