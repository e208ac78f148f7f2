"""What every application (each dialect, the pages) refuses at its edge, before any route sees the
request, the same on SQLite and PostgreSQL.

- An unexpected exception is answered (the application's 500) and the connection kept.
- A body larger than its route takes (:data:`DEFAULT_BODY_LIMIT`, 1 MB, unless the route says
  :func:`body_limit`): 413, before it is read whole.
- With ``json_bodies``, a JSON body sent with another content type (``curl -d``) is read as JSON.
- A NUL character: PostgreSQL cannot store one in text or JSONB (asyncpg raises, a 500), while
  SQLite keeps it; so it is refused in the path and the query (before routing) and in request bodies
  (``\\u0000`` in JSON, ``%00`` in a form), while the body streams in.

Plain ASGI (a ``BaseHTTPMiddleware`` costs about 0.5 ms a request). Installed with
:func:`install` inside the application's error layers, so that each application renders a refusal
through its own exception handlers, in its own format."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NUL_MESSAGE = "Text must not contain the NUL character (U+0000)."

# ``\u0000`` in JSON, unless its backslash is itself escaped (``\\u0000`` is the six characters).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_FORM_NUL = b"%00"
_TAIL = 64  # bytes of the previous chunk searched again, for a NUL escape split across chunks

# A body larger than its route takes is refused (413) before it is read whole; routes that take
# more say so with @body_limit (the recipient upload).
DEFAULT_BODY_LIMIT = 1_000_000
_BODY_LIMITS: dict[Any, int] = {}
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


class Refused(HTTPException):
    """A request refused at the edge; each application renders it as its other HTTP errors, with
    ``code`` as its stable error code."""

    def __init__(self, status_code: int, message: str, *, code: str) -> None:
        super().__init__(status_code, message)
        self.code = code


class Boundary:
    def __init__(
        self, app: ASGIApp, *, owner: FastAPI, nul_in_path_status: int | None, json_bodies: bool
    ) -> None:
        self.app = app
        self.owner = owner
        self.nul_in_path_status = nul_in_path_status
        self.json_bodies = json_bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        inner_receive = receive
        if self.nul_in_path_status is not None:
            if "\x00" in scope["path"] or _FORM_NUL in scope["query_string"]:
                status = self.nul_in_path_status
                await self._render(scope, receive, send, Refused(status, NUL_MESSAGE, code="invalid_input"))
                return
            if _may_have_body(scope):  # most checkout calls (validate) have none: skip the wrapping
                if self.json_bodies:
                    receive = await _as_json(scope, receive)
                inner_receive = _checked_body(scope, receive)
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, inner_receive, send_tracked)
        except Exception as error:
            # The application's own 500, rendered here rather than by Starlette's
            # ServerErrorMiddleware, which re-raises after answering, so that uvicorn then drops
            # the keep-alive connection (a pooled client's next request gets no answer). A reply
            # already under way cannot be mended: then the connection must go.
            if started:
                raise
            await self._render(scope, receive, send, error)

    async def _render(self, scope: Scope, receive: Receive, send: Send, error: Exception) -> None:
        # The handler of the error's nearest class (every application here handles Exception).
        handlers: dict[Any, Any] = self.owner.exception_handlers
        handler = next(handlers[kind] for kind in type(error).__mro__ if kind in handlers)
        response = await handler(Request(scope, receive), error)
        await response(scope, receive, send)


def _may_have_body(scope: Scope) -> bool:
    """Whether the request says it brings a body (HTTP/1.1: a Content-Length above 0, or a
    Transfer-Encoding); without either there is none to check."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"0", b"")):
            return True
    return False


async def _as_json(scope: Scope, receive: Receive) -> Receive:
    """Call a body JSON whatever its ``Content-Type`` says (``curl -d`` sends JSON as a form;
    ``text/plain`` clients exist), unless it is a real form: multipart, or form-encoded and not
    starting like JSON. Only the content type changes; a body that is not JSON then answers the
    dialect's "not valid JSON" 422, which names the problem, rather than a list of missing fields."""
    content_type = _header(scope, b"content-type").lower()
    media_type = content_type.partition(b";")[0].strip()
    if not media_type or media_type.endswith((b"/json", b"+json")) or media_type.startswith(b"multipart/"):
        return receive
    first = await receive()  # a peek at the first chunk, handed on unchanged
    looks_like_json = first.get("body", b"").lstrip()[:1] in (b"{", b"[")
    if media_type == b"application/x-www-form-urlencoded" and not looks_like_json:
        return _replaying(first, receive)
    scope["headers"] = [
        (name, b"application/json" if name == b"content-type" else value) for name, value in scope["headers"]
    ]
    return _replaying(first, receive)


def _replaying(first: Message, receive: Receive) -> Receive:
    pending: Message | None = first

    async def replay() -> Message:
        nonlocal pending
        if pending is None:
            return await receive()
        message, pending = pending, None
        return message

    return replay


def body_limit(limit: int) -> Callable[[Endpoint], Endpoint]:
    """Let a route take bodies up to ``limit`` bytes instead of :data:`DEFAULT_BODY_LIMIT` (put it
    under the ``@router.post`` decorator)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        _BODY_LIMITS[endpoint] = limit
        return endpoint

    return mark


def _too_large(limit: int) -> Refused:
    return Refused(
        413, f"The request body is larger than this route takes ({limit:,} bytes).", code="body_too_large"
    )


def _header(scope: Scope, wanted: bytes) -> bytes:
    for name, value in scope["headers"]:
        if name == wanted:
            return bytes(value)
    return b""


def _checked_body(scope: Scope, receive: Receive) -> Receive:
    """``receive``, raising :class:`Refused` when the body is larger than the route's limit (at
    once from ``Content-Length``, else when the streamed bytes pass it) or a chunk brings a NUL;
    FastAPI lets an ``HTTPException`` raised while it reads the body through to the application's
    handler, which renders it in the application's format. The route is known by then: the router
    sets ``scope["endpoint"]`` before the route reads its body."""
    content_type = _header(scope, b"content-type").lower()
    # Multipart files are opaque bytes; no route takes multipart text into the database.
    scan = not content_type.startswith(b"multipart/")
    form = content_type.startswith(b"application/x-www-form-urlencoded")
    tail = b""
    limit = -1  # known at the first read
    received = 0

    async def checked() -> Message:
        nonlocal tail, limit, received
        if limit < 0:
            limit = _BODY_LIMITS.get(scope.get("endpoint"), DEFAULT_BODY_LIMIT)
            declared = _header(scope, b"content-length")
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(limit)
        message = await receive()
        chunk: bytes = message.get("body", b"")
        if chunk:
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            if scan:
                window = tail + chunk
                if (_FORM_NUL in window) if form else (b"\\u0000" in window and _JSON_NUL.search(window)):
                    raise Refused(422, NUL_MESSAGE, code="invalid_input")
                tail = window[-_TAIL:]
        return message

    return checked


def install(app: FastAPI, *, nul_in_path_status: int | None = 422, json_bodies: bool = False) -> None:
    """Put the boundary inside ``app``'s error layers. ``nul_in_path_status``: what a NUL in the
    path or query answers (the pages answer 404: no page has such an address); ``None`` leaves
    NULs to the applications the host hands them to. ``json_bodies``: every body that is not a
    real form is JSON, whatever its ``Content-Type`` (a JSON API; not an application taking forms)."""
    app.add_middleware(Boundary, owner=app, nul_in_path_status=nul_in_path_status, json_bodies=json_bodies)
