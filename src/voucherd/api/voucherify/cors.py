"""CORS for the client-side routes: a browser at an allowed origin may call them (the origin was
checked against the publishable key, or the preflight against every live publishable key), and
reads their refusals too (:class:`ErrorCors`)."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voucherd.accounts import client_side
from voucherd.api.voucherify.auth import CLIENT_ID, CLIENT_TOKEN
from voucherd.api.voucherify.versions import HEADER
from voucherd.db import unit_of_work

ALLOWED_HEADERS = ", ".join(
    [CLIENT_ID, CLIENT_TOKEN, "Content-Type", "Accept", "X-Voucherify-Channel", HEADER, "Idempotency-Key"]
)
Answer = TypeVar("Answer", bound=Response)


def with_cors(request: Request, response: Answer, *, preflight: bool = False) -> Answer:
    origin = request.headers.get("origin")
    if not origin:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
    if preflight:
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    return response


class ErrorCors:
    """A client-side error answer (401, 403, 429, 400, ...) names the caller's origin as the
    successes do when a live publishable key lists that origin, so the browser shows the error
    object instead of a bare CORS failure. Plain ASGI, outermost, so that every refusal of the
    dialect passes through it; the origin is looked up only for an error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if scope["type"] != "http" or not path.removeprefix(root).startswith("/client/"):
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400 and origin:
                headers = Headers(raw=message.get("headers", []))
                if "access-control-allow-origin" not in headers and await _known(origin):
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"vary", b"Origin"),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_cors)


async def _known(origin: str) -> bool:
    async with unit_of_work(write=False) as session:
        return await client_side.origin_known(session, origin)
