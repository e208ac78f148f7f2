"""Routes that check the caller before anything else: FastAPI reads and decodes the body before
it resolves any dependency, so a request without a key and with a broken body answered 422; the
caller must learn first that they are not let in (401), whatever else is wrong."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from voucherd.http.idempotency import IdempotentRoute


def authenticate_first(check: Callable[[Request], Awaitable[Any]]) -> type[IdempotentRoute]:
    """A route class (idempotent where marked, as :class:`IdempotentRoute`) whose routes await
    ``check(request)``, the dialect's authentication, before FastAPI reads the request; ``check``
    should answer from a cache when it can, since the route's own dependency checks again."""

    class AuthenticatedRoute(IdempotentRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def checked(request: Request) -> Response:
                await check(request)
                return await handler(request)

            return checked

    return AuthenticatedRoute
