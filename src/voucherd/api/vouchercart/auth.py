"""How VoucherCart callers authenticate: ``Authorization: Bearer <token>``, where the token is a
staff member's access token (from ``/authorize``) or one of our API keys (``vd_live_...``), as
the seed says either works ("the API key (or JWT token)")."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from voucherd.accounts.credentials import principal_for, resolve
from voucherd.accounts.errors import LoginRefused
from voucherd.accounts.permissions import Permission
from voucherd.accounts.service import Principal
from voucherd.config import get_settings
from voucherd.core.errors import Unauthenticated
from voucherd.http.openapi import BEARER_SCHEME
from voucherd.http.routes import authenticate_first
from voucherd.http.session import SessionDep

SECURITY_SCHEMES = {"Bearer": BEARER_SCHEME}


def bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send Authorization: Bearer <access token or API key>.")
    return token.strip()


async def authenticated(request: Request, session: SessionDep) -> Principal:
    return await principal_for(session, bearer(request), cache_ttl=get_settings().api_key_cache_seconds)


def basic_credentials(request: Request) -> tuple[str, str]:
    """``Authorization: Basic base64(email:password)``, as ``curl -u`` sends it."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise LoginRefused("Send the staff member's email and password as Basic authorization.")
    try:
        email, colon, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise LoginRefused("The Basic authorization is not base64 of email:password.") from None
    if not colon or not email:
        raise LoginRefused("The Basic authorization is not base64 of email:password.")
    return email, password


PrincipalDep = Annotated[Principal, Depends(authenticated, scope="function")]


async def caller(request: Request) -> Principal:
    """The caller, checked before the request is read (401 before 422): from the credential cache,
    else with one read of its own."""
    return await resolve(bearer(request))


# Every login may look codes up and redeem them; a route marked @permission needs more.
StaffRoute = authenticate_first(caller, Permission.REDEEM)
