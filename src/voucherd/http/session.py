"""The request's unit of work: one transaction per request.

The session dependency uses FastAPI's ``scope="function"`` so that the commit happens before the
response is sent: a client never sees success for a transaction that did not commit. GET and HEAD
run in a read transaction (on SQLite a DEFERRED one, beside writers), unless the route is marked
:func:`writes` (an export that records itself, a tracking pixel); every other method writes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.config import get_settings
from voucherd.db import unit_of_work

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITING_READS: set[Callable[..., Any]] = set()
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def writes(endpoint: Endpoint) -> Endpoint:
    """Mark a GET route whose request writes, so that its session is a write transaction (put
    it under the ``@router.get`` decorator)."""
    _WRITING_READS.add(endpoint)
    return endpoint


def is_write(request: Request) -> bool:
    return request.method not in READ_METHODS or request.scope.get("endpoint") in _WRITING_READS


def after_commit(write: bool) -> None:
    """Test-only fault point: the commit happened, the reply never leaves."""
    if write and get_settings().fault == "after_commit_before_response":
        os._exit(137)


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    write = is_write(request)
    async with unit_of_work(write=write) as session:
        yield session
    after_commit(write)


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
