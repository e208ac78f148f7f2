"""One credential, whichever kind: an API key (``vd_live_...``, ``vd_test_...``) or a staff
member's access token, both resolved through the same one-second cache, so every dialect accepts
both and staff logins work on our own API too."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts import keys
from voucherd.accounts.service import Principal, Role, authenticate, cache_epoch, cached_principal, remember
from voucherd.accounts.staff import principal_for_access_token
from voucherd.config import get_settings
from voucherd.core.errors import Unauthenticated
from voucherd.db import unit_of_work


def _checked(principal: Principal, client_side: bool) -> Principal:
    """A publishable key works on client-side endpoints only (it lives in browsers)."""
    if principal.role is Role.PUBLISHABLE and not client_side:
        raise Unauthenticated("A publishable key works only on client-side endpoints; use a secret API key.")
    return principal


async def principal_for(
    session: AsyncSession, credential: str | None, *, cache_ttl: float, client_side: bool = False
) -> Principal:
    credential = (credential or "").strip()
    if not credential:
        raise Unauthenticated()
    if credential.startswith((keys.LIVE, keys.TEST)):
        return _checked(await authenticate(session, credential, cache_ttl=cache_ttl), client_side)
    principal = cached_principal(credential)
    if principal is None:
        since = cache_epoch()
        principal = await principal_for_access_token(session, credential)
        remember(credential, principal, cache_ttl, since=since)
    return principal


async def resolve(credential: str | None, *, client_side: bool = False) -> Principal:
    """The caller before the request's own transaction exists (a route that checks who calls
    before it reads anything): from the cache, else with one read of its own."""
    found = cached_principal((credential or "").strip())
    if found is not None:
        return _checked(found, client_side)
    async with unit_of_work(write=False) as session:
        return await principal_for(
            session, credential, cache_ttl=get_settings().api_key_cache_seconds, client_side=client_side
        )
