"""One credential, whichever kind: an API key (``vd_live_...``, ``vd_test_...``) or a staff
member's access token, both resolved through the same one-second cache, so every dialect accepts
both and staff logins work on our own API too."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts import keys
from voucherd.accounts.service import Principal, authenticate, cached_principal, remember
from voucherd.accounts.staff import principal_for_access_token
from voucherd.core.errors import Unauthenticated


async def principal_for(session: AsyncSession, credential: str | None, *, cache_ttl: float) -> Principal:
    credential = (credential or "").strip()
    if not credential:
        raise Unauthenticated()
    if credential.startswith((keys.LIVE, keys.TEST)):
        return await authenticate(session, credential, cache_ttl=cache_ttl)
    principal = cached_principal(credential)
    if principal is None:
        principal = await principal_for_access_token(session, credential)
        remember(credential, principal, cache_ttl)
    return principal
