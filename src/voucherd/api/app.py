"""The application factory."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uuid_utils
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voucherd import __version__
from voucherd.api import ratelimit
from voucherd.api.deps import SECURITY_SCHEMES
from voucherd.api.vouchertrack import checkout, distribution, errors, integrations, management, webhooks
from voucherd.config import get_settings
from voucherd.core import qr
from voucherd.db import get_database
from voucherd.jobs.runner import run_worker
from voucherd.logging import REQUEST_ID
from voucherd.logging import configure as configure_logging
from voucherd.web import pages as web_pages
from voucherd.web import tracking as web_tracking

DESCRIPTION = """
voucherd: campaigns, unique voucher codes, and checkout validation and redemption.

Authenticate with your API key in the `X-API-Key` header (or the `api_key` query parameter).
Errors are JSON: `{"error": "<what is wrong>", "error_code": "<stable code>"}`.
"""


class RequestIdMiddleware:
    """Gives each request an id (``X-Request-Id``, taken from the caller when it sends a usable
    one) for the logs and the response. Plain ASGI: a ``BaseHTTPMiddleware`` costs about 0.5 ms
    per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _caller_request_id(scope) or uuid_utils.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


MAX_REQUEST_ID_LENGTH = 128


def _caller_request_id(scope: Scope) -> str | None:
    """The caller's ``X-Request-Id``, if it is printable ASCII of at most 128 characters; other
    values are replaced rather than copied into the logs."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            usable = 0 < len(text) <= MAX_REQUEST_ID_LENGTH and text.isascii() and text.isprintable()
            return text if usable else None
    return None


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    database = get_database()
    stop = asyncio.Event()
    worker: asyncio.Task[None] | None = None
    if settings.run_embedded_worker and app.state.embedded_worker:
        worker = asyncio.create_task(run_worker(database, stop))
    warming = asyncio.create_task(qr.warm_up()) if app.state.warm_qr_pool else None
    # What is alive now (modules, the app, SQLAlchemy's and pydantic's machinery: some 130,000
    # objects) lives as long as the server: keep the garbage collector from walking it again on
    # every full collection while requests run.
    gc.freeze()
    try:
        yield
    finally:
        stop.set()
        if worker is not None:
            await worker
        if warming is not None:
            warming.cancel()
        qr.shutdown()
        await database.dispose()


def _document_security(app: FastAPI) -> None:
    """Every route under ``/api`` takes the API key; say so once in the OpenAPI schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            requirement: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
            for path, operations in schema.get("paths", {}).items():
                if path.startswith("/api/"):
                    for operation in operations.values():
                        operation["security"] = requirement
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def serve_app() -> FastAPI:
    """The app ``voucherd serve`` runs: as :func:`create_app`, with the QR pool started at once."""
    return create_app(warm_qr_pool=True)


def create_app(*, embedded_worker: bool = True, warm_qr_pool: bool = False) -> FastAPI:
    configure_logging()
    app = FastAPI(
        title="voucherd",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan,
        # Integrations post JSON without a Content-Type too (curl -d, some PHP clients).
        strict_content_type=False,
    )
    app.state.embedded_worker = embedded_worker
    app.state.warm_qr_pool = warm_qr_pool
    errors.install(app)
    ratelimit.install(app)
    app.state.rate_limiter = ratelimit.RateLimiter(get_settings())
    app.add_middleware(RequestIdMiddleware)
    app.include_router(checkout.router)
    app.include_router(management.router)
    app.include_router(distribution.router)
    app.include_router(integrations.router)
    app.include_router(webhooks.router)
    app.include_router(web_tracking.router)
    app.include_router(web_pages.router)

    _document_security(app)

    @app.get("/healthz", include_in_schema=False)
    async def _health() -> dict[str, str]:
        return {"status": "ok"}

    return app
