"""Voucherify's dated API versions (seed 004): a request may name the version it was written for
in ``X-Voucherify-API-Version``; without one, the version the client pinned applies
(``voucherd clients set-api-version``), else ours. Every answer says which version produced it.
One version is served today; a later breaking change adds its date to
:mod:`voucherd.accounts.api_versions` and branches, where its behaviour differs, on the version
:func:`settle` leaves in ``request.state.voucherify_api_version``."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voucherd.accounts import api_versions
from voucherd.accounts.service import Principal

HEADER = "X-Voucherify-API-Version"
PINNED = api_versions.PINNED
SERVED = api_versions.SERVED
_HEADER_KEY = HEADER.lower().encode()
_STATE = "voucherify_api_version"


class UnknownVersion(Exception):
    def __init__(self, version: str) -> None:
        super().__init__(version)
        self.version = version


def requested(scope: Scope) -> str | None:
    """The version the request names (``None``: none); :class:`UnknownVersion` for one not served."""
    for key, value in scope.get("headers", ()):
        if key == _HEADER_KEY:
            version = str(value.decode("latin-1")).strip()
            if not api_versions.is_served(version):
                raise UnknownVersion(version)
            return version
    return None


def settle(request: Request, principal: Principal) -> None:
    """Once the caller is known: a request that named no version gets its client's pinned one."""
    if getattr(request.state, _STATE, None) is None:
        setattr(request.state, _STATE, principal.api_version or PINNED)


class VersionLayer:
    """Checks the version a request names (an unknown one answers ``refuse``'s 400) and echoes the
    version on every answer. Plain ASGI: a ``BaseHTTPMiddleware`` costs about 0.5 ms a request."""

    def __init__(self, app: ASGIApp, refuse: Callable[[Scope, str], ASGIApp]) -> None:
        self.app = app
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        try:
            state[_STATE] = requested(scope)
        except UnknownVersion as unknown:
            answer = self.refuse(scope, unknown.version)
        else:
            answer = self.app

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                version = state.get(_STATE) or PINNED
                message["headers"] = [*message.get("headers", []), (_HEADER_KEY, version.encode())]
            await send(message)

        await answer(scope, receive, send_with_version)
