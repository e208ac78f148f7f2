"""Rate limits with the ``limits`` library: per API key or per client IP, named and configured in
settings (``VOUCHERD_RATE_LIMIT_<NAME>``). Counters live in this process's memory by default, and in
Redis when ``VOUCHERD_REDIS_URL`` is set, so that every server process shares one limit.

Over the limit: 429 with ``Retry-After`` (seconds) and ``{"code": 429, "message": "..."}``, the body
the Voucherify conventions document. Attach a limit to a route or router::

    @router.post(..., dependencies=[rate_limit("recipient_upload", per="key")])

where ``recipient_upload`` names the setting ``rate_limit_recipient_upload`` ("10/minute")."""

from __future__ import annotations

import math
import time
from typing import Annotated, Any, Literal, cast

import structlog
from fastapi import Depends, FastAPI, Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from voucherd.accounts.service import Principal
from voucherd.api.deps import _principal
from voucherd.api.responses import JSON
from voucherd.config import Settings, get_settings

log = structlog.get_logger(__name__)

MESSAGE = "Too many requests hit the API too quickly."


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(MESSAGE)
        self.retry_after = retry_after


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


def rate_limit(name: str, *, per: Literal["key", "ip"]) -> Any:
    """A dependency counting requests per API key (after authentication) or per client IP
    (before it) against the setting ``rate_limit_<name>``."""
    _limit(name)  # fail at import time for a misspelt name

    if per == "key":

        async def per_key(
            request: Request, principal: Annotated[Principal, Depends(_principal, scope="function")]
        ) -> None:
            await limiter(request.app).hit(name, _limit(name), f"key:{principal.api_key_id}")

        return Depends(per_key)

    async def per_ip(request: Request) -> None:
        await limiter(request.app).hit(name, _limit(name), f"ip:{client_ip(request)}")

    return Depends(per_ip)


async def _too_many(request: Request, error: Exception) -> JSON:
    assert isinstance(error, RateLimited)
    return JSON(
        {"code": 429, "message": MESSAGE},
        status_code=429,
        headers={"Retry-After": str(error.retry_after)},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RateLimited, _too_many)
