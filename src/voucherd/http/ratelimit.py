"""Rate limits with the ``limits`` library: per caller (whatever authenticated it: an API key, a
staff login) or per client IP, named and configured in settings (``VOUCHERD_RATE_LIMIT_<NAME>``).
Counters live in this process's memory by default, and in Redis when ``VOUCHERD_REDIS_URL`` is set,
so that every server process shares one limit.

Over the limit the dependency raises :class:`RateLimited` (with ``retry_after`` seconds); each
dialect renders its own 429 from it. Attach a limit to a route or router::

    @router.post(..., dependencies=[rate_limit("recipient_upload", per=authenticated)])

where ``recipient_upload`` names the setting ``rate_limit_recipient_upload`` ("10/minute") and
``principal`` is the dialect's authentication dependency (anything with a ``rate_key``), or
``per="ip"`` to count before authentication."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol, cast

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from voucherd.config import Settings, get_settings

log = structlog.get_logger(__name__)

MESSAGE = "Too many requests hit the API too quickly."


class RateLimited(Exception):
    """Over a limit; ``retry_after`` is in seconds. Each dialect renders its own 429 from it."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(MESSAGE)
        self.retry_after = retry_after


class RateKeyed(Protocol):
    """Whatever a dialect's authentication returns: it names the caller's own counter."""

    @property
    def rate_key(self) -> str: ...


class RateLimiter:
    """One per application: memory counters, or Redis counters shared by every instance."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits_enabled
        storage: Storage
        if settings.redis_url:
            url = settings.redis_url
            if not url.startswith("async+"):
                url = "async+" + url
            storage = cast(Storage, storage_from_string(url, implementation="redispy", key_prefix="voucherd"))
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.strategy = SlidingWindowCounterRateLimiter(storage)
        self._items: dict[str, RateLimitItem] = {}

    def item(self, limit: str) -> RateLimitItem:
        found = self._items.get(limit)
        if found is None:
            found = self._items[limit] = parse(limit)
        return found

    async def hit(self, name: str, limit: str, identity: str) -> None:
        """Count one request; raise :class:`RateLimited` when over the limit. A Redis outage lets
        requests through (logged): limits protect the service, they must not take it down."""
        if not self.enabled:
            return
        item = self.item(limit)
        try:
            if await self.strategy.hit(item, name, identity):
                return
            stats = await self.strategy.get_window_stats(item, name, identity)
        except Exception as error:  # the storage is down
            log.warning("ratelimit.storage_error", error=repr(error))
            return
        raise RateLimited(max(1, math.ceil(stats.reset_time - time.time())))


def limiter(app: FastAPI) -> RateLimiter:
    """The limiter the host handed to this (sub-)application: one per process, shared by every
    dialect and the pages, so that one client IP has one counter per limit."""
    found: RateLimiter | None = getattr(app.state, "rate_limiter", None)
    if found is None:
        found = app.state.rate_limiter = RateLimiter(get_settings())
    return found


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limit(name: str) -> str:
    value = getattr(get_settings(), f"rate_limit_{name}", None)
    if not isinstance(value, str):
        raise LookupError(f"no setting rate_limit_{name}")
    return value


async def check(request: Request, name: str, identity: str) -> None:
    """Count one request against the setting ``rate_limit_<name>`` inline, for the checkout routes,
    which open their unit of work themselves rather than through dependencies."""
    await limiter(request.app).hit(name, _limit(name), identity)


_LIMITERS: set[Callable[..., Any]] = set()  # the dependencies rate_limit() made


def is_rate_limited(route: APIRoute) -> bool:
    """Whether a :func:`rate_limit` dependency guards the route (for its OpenAPI document)."""
    return any(getattr(d, "dependency", None) in _LIMITERS for d in route.dependencies)


def rate_limit(name: str, *, per: Literal["ip"] | Callable[..., Any]) -> DependsParam:
    """A dependency counting requests against the setting ``rate_limit_<name>``: per client IP
    (``per="ip"``, before authentication), or per caller, where ``per`` is the dialect's
    authentication dependency and the caller's ``rate_key`` names the counter."""
    _limit(name)  # fail at import time for a misspelt name

    if per == "ip":

        async def per_ip(request: Request) -> None:
            await limiter(request.app).hit(name, _limit(name), f"ip:{client_ip(request)}")

        by_ip: DependsParam = Depends(per_ip)
        _LIMITERS.add(per_ip)
        return by_ip

    # A default rather than ``Annotated``: this module's annotations are strings, and FastAPI
    # resolves them in the module's globals, where the local ``per`` is not.
    async def per_caller(request: Request, caller: RateKeyed = Depends(per, scope="function")) -> None:  # noqa: B008
        await limiter(request.app).hit(name, _limit(name), caller.rate_key)

    by_caller: DependsParam = Depends(per_caller)
    _LIMITERS.add(per_caller)
    return by_caller
