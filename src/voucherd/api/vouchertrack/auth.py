"""How VoucherTrack callers authenticate: an API key in the ``X-API-Key`` header or the
``api_key`` query parameter (seed 001), or ``Authorization: Bearer`` with an API key or a staff
member's access token (one login for every dialect), whose role then applies
(``accounts.permissions``).

The key is read here from the request rather than through FastAPI's security classes: each
dependency costs FastAPI about 0.1 ms per request to resolve, a tenth of a checkout call.
``SECURITY_SCHEMES`` documents both ways in the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from voucherd.accounts.credentials import principal_for, resolve
from voucherd.accounts.permissions import Permission
from voucherd.accounts.service import Principal
from voucherd.config import get_settings
from voucherd.http.openapi import BEARER_SCHEME
from voucherd.http.routes import authenticate_first
from voucherd.http.session import SessionDep

API_KEY_HEADER = "X-API-Key"
API_KEY_QUERY = "api_key"
SECURITY_SCHEMES = {
    "APIKeyHeader": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER, "description": "Your API key"},
    "APIKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": API_KEY_QUERY,
        "description": "Your API key (alternative)",
    },
    "Bearer": BEARER_SCHEME,
}


def raw_key(request: Request) -> str | None:
    key = request.headers.get(API_KEY_HEADER) or request.query_params.get(API_KEY_QUERY)
    if key is None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return token
    return key


async def authenticated(request: Request, session: SessionDep) -> Principal:
    """The caller, in the request's session (every route but the checkout's)."""
    return await principal_for(session, raw_key(request), cache_ttl=get_settings().api_key_cache_seconds)


async def checkout_principal(request: Request) -> Principal:
    """The caller of a checkout route: from the key cache, else with one read of its own (the
    checkout opens its unit of work only once it knows the caller)."""
    return await resolve(raw_key(request))


PrincipalDep = Annotated[Principal, Depends(authenticated, scope="function")]


# The routers' route classes: the caller is checked before the request is read (401 before 422),
# with the permission its routes need (a route marked @permission needs that one instead).
AuthenticatedRoute = authenticate_first(checkout_principal, Permission.MANAGE)
AdministeredRoute = authenticate_first(checkout_principal, Permission.ADMINISTER)
