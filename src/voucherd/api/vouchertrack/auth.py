"""How VoucherTrack callers authenticate: an API key in the ``X-API-Key`` header or the
``api_key`` query parameter (seed 001).

The key is read here from the request rather than through FastAPI's security classes: each
dependency costs FastAPI about 0.1 ms per request to resolve, a tenth of a checkout call.
``SECURITY_SCHEMES`` documents both ways in the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from voucherd.accounts.service import Principal, authenticate, cached_principal
from voucherd.config import get_settings
from voucherd.db import unit_of_work
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
}


def raw_key(request: Request) -> str | None:
    return request.headers.get(API_KEY_HEADER) or request.query_params.get(API_KEY_QUERY)


async def authenticated(request: Request, session: SessionDep) -> Principal:
    """The caller, in the request's session (every route but the checkout's)."""
    return await authenticate(session, raw_key(request), cache_ttl=get_settings().api_key_cache_seconds)


async def checkout_principal(request: Request) -> Principal:
    """The caller of a checkout route: from the key cache, else with one read of its own (the
    checkout opens its unit of work only once it knows the caller)."""
    key = raw_key(request)
    found = cached_principal(key)
    if found is not None:
        return found
    async with unit_of_work(write=False) as session:
        return await authenticate(session, key, cache_ttl=get_settings().api_key_cache_seconds)


PrincipalDep = Annotated[Principal, Depends(authenticated, scope="function")]


# The routers' route class: the key is checked before the request is read (401 before 422).
AuthenticatedRoute = authenticate_first(checkout_principal)
