"""The application factory."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import Response

from voucherd import __version__
from voucherd.api.vouchertrack import checkout, errors, management
from voucherd.config import get_settings
from voucherd.db import get_database
from voucherd.jobs.runner import run_worker
from voucherd.logging import configure as configure_logging

DESCRIPTION = """
voucherd: campaigns, unique voucher codes, and checkout validation and redemption.

Authenticate with your API key in the `X-API-Key` header (or the `api_key` query parameter).
Errors are JSON: `{"error": "<what is wrong>", "error_code": "<stable code>"}`.
"""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    database = get_database()
    stop = asyncio.Event()
    worker: asyncio.Task[None] | None = None
    if settings.run_embedded_worker and app.state.embedded_worker:
        worker = asyncio.create_task(run_worker(database, stop))
    try:
        yield
    finally:
        stop.set()
        if worker is not None:
            await worker
        await database.dispose()


def create_app(*, embedded_worker: bool = True) -> FastAPI:
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
    errors.install(app)
    app.include_router(checkout.router)
    app.include_router(management.router)

    @app.middleware("http")
    async def _request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        request.state.request_id = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = await call_next(request)
        finally:
            structlog.contextvars.clear_contextvars()
        response.headers["X-Request-Id"] = request_id
        return response

    @app.get("/healthz", include_in_schema=False)
    async def _health() -> dict[str, str]:
        return {"status": "ok"}

    return app
