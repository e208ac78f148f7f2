"""One credential, whichever kind: an API key (``vd_live_...``, ``vd_test_...``) or a staff
member's access token, both resolved through the same one-second cache, so every dialect accepts
both and staff logins work on our own API too."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts import keys
from voucherd.accounts.service import Principal, authenticate, cache_epoch, cached_principal, remember
from voucherd.accounts.staff import principal_for_access_token
from voucherd.config import get_settings
from voucherd.core.errors import Unauthenticated
from voucherd.db import unit_of_work


async def principal_for(session: AsyncSession, credential: str | None, *, cache_ttl: float) -> Principal:
    credential = (credential or "").strip()
    if not credential:
        raise Unauthenticated()
    if credential.startswith((keys.LIVE, keys.TEST)):
        return await authenticate(session, credential, cache_ttl=cache_ttl)
    principal = cached_principal(credential)
    if principal is None:
        since = cache_epoch()
        principal = await principal_for_access_token(session, credential)
        remember(credential, principal, cache_ttl, since=since)
    return principal


async def resolve(credential: str | None) -> Principal:
    """The caller before the request's own transaction exists (a route that checks who calls
    before it reads anything): from the cache, else with one read of its own."""
    found = cached_principal((credential or "").strip())
    if found is not None:
        return found
    async with unit_of_work(write=False) as session:
        return await principal_for(session, credential, cache_ttl=get_settings().api_key_cache_seconds)
