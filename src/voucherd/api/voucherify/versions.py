"""Voucherify's dated API versions (seed 004): a request may name the version it was written for
in ``X-Voucherify-API-Version``; without one, the version pinned for the project applies. Every
answer says which version produced it. One version is served today; a later breaking change adds
its date here and branches on ``version_of(request)`` where its behaviour differs."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Voucherify-API-Version"
PINNED = "v2018-08-01"  # what the SDK 6.1.1 speaks, and what a project without a choice gets
SERVED = frozenset({PINNED})
_HEADER_KEY = HEADER.lower().encode()


class UnknownVersion(Exception):
    def __init__(self, version: str) -> None:
        super().__init__(version)
        self.version = version


def requested(scope: Scope) -> str:
    """The version the request names, or the pinned one; :class:`UnknownVersion` for another."""
    for key, value in scope.get("headers", ()):
        if key == _HEADER_KEY:
            version = str(value.decode("latin-1")).strip()
            if version not in SERVED:
                raise UnknownVersion(version)
            return version
    return PINNED


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
        try:
            version = requested(scope)
        except UnknownVersion as unknown:
            version, answer = PINNED, self.refuse(scope, unknown.version)
        else:
            answer = self.app
        header = (_HEADER_KEY, version.encode())

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await answer(scope, receive, send_with_version)
