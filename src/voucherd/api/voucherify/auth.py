"""How Voucherify callers authenticate: the application pair ``X-App-Id`` (one of our API keys'
``api_key_id``) and ``X-App-Token`` (the key itself), as ``voucherd keys create --json`` prints
them. The pair must match: a key presented with another key's id is refused."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from voucherd.accounts.credentials import resolve
from voucherd.accounts.permissions import Permission
from voucherd.accounts.service import Principal
from voucherd.api.voucherify.versions import settle
from voucherd.core.errors import Unauthenticated
from voucherd.http.routes import authenticate_first

APP_ID = "X-App-Id"
CLIENT_ID = "X-Client-Application-Id"
CLIENT_TOKEN = "X-Client-Token"  # noqa: S105 (a header name)
APP_TOKEN = "X-App-Token"  # noqa: S105 (a header name)
SECURITY_SCHEMES = {
    "AppId": {"type": "apiKey", "in": "header", "name": APP_ID, "description": "Your key's api_key_id"},
    "AppToken": {"type": "apiKey", "in": "header", "name": APP_TOKEN, "description": "Your API key"},
}


async def application(request: Request) -> Principal:
    """The caller of a server-side (``/v1``) route."""
    app_id = request.headers.get(APP_ID, "").strip()
    token = request.headers.get(APP_TOKEN, "").strip()
    if not app_id or not token:
        raise Unauthenticated("Send the application's X-App-Id and X-App-Token headers.")
    principal = await resolve(token)
    if str(principal.subject.id) != app_id.lower():
        raise Unauthenticated("X-App-Id is not the id of the key sent as X-App-Token.")
    settle(request, principal)
    return principal


async def client_caller(request: Request) -> Principal:
    """The caller of a client-side (``/client/v1``) route: a publishable key, or the application
    pair, sent as the client pair (or as the application pair)."""
    app_id = (request.headers.get(CLIENT_ID) or request.headers.get(APP_ID) or "").strip()
    token = (request.headers.get(CLIENT_TOKEN) or request.headers.get(APP_TOKEN) or "").strip()
    if not app_id or not token:
        raise Unauthenticated("Send the X-Client-Application-Id and X-Client-Token headers.")
    principal = await resolve(token, client_side=True)
    if str(principal.subject.id) != app_id.lower():
        raise Unauthenticated("X-Client-Application-Id is not the id of the key sent as X-Client-Token.")
    settle(request, principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(application, scope="function")]
# Server-side routes: the pair is checked before the request is read (401 before 400); the pair
# acts for its whole client.
ApplicationRoute = authenticate_first(application, Permission.MANAGE)
