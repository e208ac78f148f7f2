"""Routes that check the caller before anything else: FastAPI reads and decodes the body before
it resolves any dependency, so a request without a key and with a broken body answered 422; the
caller must learn first that they are not let in (401), whatever else is wrong."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response

from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.service import Principal
from voucherd.http.idempotency import IdempotentRoute

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_NEEDS: dict[Callable[..., Any], Permission] = {}


def permission(needed: Permission) -> Callable[[Endpoint], Endpoint]:
    """The permission a route needs instead of its router's (put it under the route decorator)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        _NEEDS[endpoint] = needed
        return endpoint

    return mark


def authenticate_first(
    check: Callable[[Request], Awaitable[Principal]], needed: Permission
) -> type[IdempotentRoute]:
    """A route class (idempotent where marked, as :class:`IdempotentRoute`) whose routes await
    ``check(request)``, the dialect's authentication, before FastAPI reads the request, and
    refuse a caller without the ``needed`` permission (or the route's own, :func:`permission`);
    ``check`` should answer from a cache when it can, since the route's own dependency checks
    again."""

    class AuthenticatedRoute(IdempotentRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()
            route_needs = _NEEDS.get(self.endpoint, needed)

            async def checked(request: Request) -> Response:
                require(await check(request), route_needs)
                return await handler(request)

            return checked

    return AuthenticatedRoute
