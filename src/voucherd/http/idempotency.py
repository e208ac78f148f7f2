"""``Idempotency-Key`` on write routes, as a route dependency.

A route that takes ``dependencies=[idempotent(principal)]`` (``principal``: the dialect's
authentication dependency) and is served by an :class:`IdempotentRoute` router gets the whole
behaviour: the first request with a key runs and its reply is stored in the request's own
transaction; a later request with the same key and body gets the stored reply
(``Idempotent-Replayed: true``) without running the route; the same key with another body is
refused (``idempotency.service.IdempotencyKeyReused``). Only successful replies are stored: a
refused write changed nothing and may simply be retried."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.http.session import SessionDep
from voucherd.idempotency import service as idempotency

IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


@dataclass(frozen=True, slots=True)
class Claim:
    """A key this request holds: its reply is stored when the route succeeds."""

    session: AsyncSession
    client_id: uuid.UUID
    key: str


class Replay(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("replay")
        self.response = response


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


async def claim(request: Request, session: AsyncSession, client_id: uuid.UUID) -> Claim | Response | None:
    """``None`` without a key; the stored reply for a key seen before; else the claim this
    request now holds (in ``session``'s transaction), which :func:`finish` completes."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        return None
    body = await request.body()
    stored = await idempotency.begin(
        session, client_id, key, fingerprint(request.method, request.url.path, body)
    )
    if stored is not None:
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type="application/json",
            headers={REPLAYED: "true"},
        )
    return Claim(session, client_id, key)


async def finish(held: Claim, response: Response) -> None:
    if response.status_code < 400:
        await idempotency.finish(
            held.session,
            held.client_id,
            held.key,
            status_code=response.status_code,
            body=bytes(response.body),
        )


_CLAIM = "idempotency_claim"


_MARKERS: set[Callable[..., Any]] = set()  # the dependencies idempotent() made


def idempotent(principal: Callable[..., Any]) -> DependsParam:
    """The dependency that makes a write route idempotent per ``Idempotency-Key`` (see the
    module); ``principal`` is the dialect's authentication dependency."""

    # A default rather than ``Annotated``: FastAPI resolves this module's string annotations in
    # its globals, where the local ``principal`` is not.
    async def take_key(
        request: Request,
        session: SessionDep,
        caller: Any = Depends(principal, scope="function"),  # noqa: B008
    ) -> None:
        found = await claim(request, session, caller.client_id)
        if isinstance(found, Response):
            raise Replay(found)
        if found is not None:
            request.scope.setdefault("state", {})[_CLAIM] = found

    marker: DependsParam = Depends(take_key, scope="function")
    _MARKERS.add(take_key)
    return marker


class IdempotentRoute(APIRoute):
    """Routes that take :func:`idempotent` store their reply, or replay one, around the route's
    own handler: inside the request's unit of work, before it commits. Other routes run as they
    are, with no extra layer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not any(getattr(d, "dependency", None) in _MARKERS for d in self.dependencies):
            return handler

        async def idempotent_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except Replay as replay:
                return replay.response
            held: Claim | None = request.scope.get("state", {}).get(_CLAIM)
            if held is not None:
                await finish(held, response)
            return response

        return idempotent_handler
