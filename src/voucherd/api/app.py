"""The host: one process-wide setup (logging, the database, the embedded worker, the QR pool, one
rate limiter, request ids) that mounts each dialect as its own application and serves the public
pages for every other path.

Each dialect brings its routes, schemas, mappers, error table, authentication and OpenAPI
document; the host only says where it lives. ``/openapi.json`` and ``/docs`` at the root describe
every dialect in one document (each dialect also serves its own under its mount)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from voucherd import __version__
from voucherd.api.vouchercart.app import create_vouchercart_app
from voucherd.api.voucherify.app import create_voucherify_app
from voucherd.api.vouchertrack.app import create_vouchertrack_app
from voucherd.config import get_settings
from voucherd.core import qr
from voucherd.db import get_database
from voucherd.http import boundary, health
from voucherd.http.errors import internal_error
from voucherd.http.headers import with_api_headers
from voucherd.http.metrics import RequestMetrics
from voucherd.http.metrics import page as metrics_page
from voucherd.http.ratelimit import RateLimiter
from voucherd.http.request_id import RequestIdMiddleware
from voucherd.logging import configure as configure_logging
from voucherd.web.dashboard.app import MOUNT as DASHBOARD_MOUNT
from voucherd.web.dashboard.app import create_dashboard_app
from voucherd.web.public.app import create_public_app
from voucherd.web.staff.app import MOUNT as STAFF_MOUNT
from voucherd.web.staff.app import create_staff_app
from voucherd.worker import run_worker

DESCRIPTION = """
voucherd: campaigns, unique voucher codes, and checkout validation and redemption, over the APIs
of the systems it replaces. Each API is mounted under its own path with its own authentication and
error format:

- `/api`: VoucherTrack (seeds 000, 001); its own document is `/api/openapi.json`.
- `/vouchercart/v1`: VoucherCart (seed 003): staff logins, clients, sales pages, gift vouchers,
  coupons; its own document is `/vouchercart/v1/openapi.json`.
- `/voucherify`: Voucherify (v2018-08-01) for its official SDKs; its own document is
  `/voucherify/openapi.json`.
"""


@dataclass(frozen=True)
class Dialect:
    """One API mounted by the host: where, and how to build it around the shared limiter."""

    mount: str
    create: Callable[[RateLimiter], FastAPI]
    name: str  # its label in the request metrics


DIALECTS = (
    Dialect("/api", create_vouchertrack_app, "vouchertrack"),
    Dialect("/vouchercart/v1", create_vouchercart_app, "vouchercart"),
    Dialect("/voucherify", create_voucherify_app, "voucherify"),
)


class Host(FastAPI):
    """The root application. Requests under a dialect's mount go straight to that dialect's
    application, past the host's own middleware stack: behind a ``Mount`` the host's error layers
    ran again for every API request, about 15 us each in ``bench``'s terms (a tenth of a
    validation's overhead over the minimal app). Every request, the host's own included, first
    gets its request id, and is counted and timed for ``/metrics``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dialects: list[tuple[str, FastAPI]] = []
        record = None
        if get_settings().metrics != "off":  # off: not served, and not collected either
            record = RequestMetrics([(d.mount, d.name) for d in DIALECTS])
        self._entry = RequestIdMiddleware(self._dispatch, record)

    def mount_dialect(self, prefix: str, app: FastAPI) -> None:
        self.dialects.append((prefix, app))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._entry(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            path: str = scope["path"]
            for prefix, app in self.dialects:
                if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                    # What Starlette's Mount sets: the path stays whole, the root path grows.
                    root_path = scope.get("root_path", "")
                    scope["app_root_path"] = scope.get("app_root_path", root_path)
                    scope["root_path"] = root_path + prefix
                    await app(scope, receive, with_api_headers(send))
                    return
        await super().__call__(scope, receive, send)


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


def serve_app() -> FastAPI:
    """The app ``voucherd serve`` runs: as :func:`create_app`, with the QR pool started at once."""
    return create_app(warm_qr_pool=True)


def create_app(*, embedded_worker: bool = True, warm_qr_pool: bool = False) -> FastAPI:
    configure_logging()
    app = Host(title="voucherd", version=__version__, description=DESCRIPTION, lifespan=_lifespan)
    app.state.embedded_worker = embedded_worker
    app.state.warm_qr_pool = warm_qr_pool
    # One limiter for the process: a client IP has one counter per limit across every dialect.
    limiter = app.state.rate_limiter = RateLimiter(get_settings())
    app.add_exception_handler(Exception, internal_error)
    # The host's own paths keep the connection after a 500 too; NULs are the pages' to refuse.
    boundary.install(app, nul_in_path_status=None)
    for dialect in DIALECTS:
        app.mount_dialect(dialect.mount, dialect.create(limiter))
    # The staff screen and the dashboard: their own pages and error pages, past the API's (they have
    # no OpenAPI paths).
    app.mount_dialect(STAFF_MOUNT, create_staff_app(limiter))
    app.mount_dialect(DASHBOARD_MOUNT, create_dashboard_app(limiter))
    # The public pages answer every path nothing above claims (routes added to the host later,
    # as tests do, still match first).
    app.router.default = create_public_app(limiter)

    app.add_route("/healthz", health.healthz, include_in_schema=False)
    app.add_route("/readyz", health.readyz, include_in_schema=False)
    app.add_route("/metrics", metrics_page, include_in_schema=False)

    app.openapi = lambda: _combined_openapi(app, app.dialects)  # type: ignore[method-assign]
    return app


def _combined_openapi(app: FastAPI, mounted: list[tuple[str, FastAPI]]) -> dict[str, Any]:
    """Every dialect's document in one: its paths under its mount, its components kept apart by
    the dialect's name where two dialects use one name."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    paths: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {}
    for mount, sub_app in mounted:
        document = sub_app.openapi()
        renames = _component_renames(document, components, prefix=mount.strip("/").replace("/", "_"))
        document = _rewrite_refs(document, renames)
        for path, operations in document.get("paths", {}).items():
            paths[mount + path] = operations
        for kind, entries in document.get("components", {}).items():
            for name, entry in entries.items():
                components.setdefault(kind, {})[renames.get((kind, name), name)] = entry
    app.openapi_schema = {
        "openapi": "3.1.0",
        "info": {"title": app.title, "version": app.version, "description": app.description},
        "paths": paths,
        "components": components,
    }
    return app.openapi_schema


def _component_renames(
    document: dict[str, Any], taken: dict[str, dict[str, Any]], *, prefix: str
) -> dict[tuple[str, str], str]:
    renames: dict[tuple[str, str], str] = {}
    for kind, entries in document.get("components", {}).items():
        for name, entry in entries.items():
            if name in taken.get(kind, {}) and taken[kind][name] != entry:
                renames[(kind, name)] = f"{prefix}_{name}"
    return renames


def _rewrite_refs(value: Any, renames: dict[tuple[str, str], str]) -> Any:
    if not renames:
        return value
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            _, _, kind, name = ref.split("/", 3)
            if (kind, name) in renames:
                return {**value, "$ref": f"#/components/{kind}/{renames[(kind, name)]}"}
        if isinstance(value.get("security"), list):  # requirements name their schemes bare
            value = {
                **value,
                "security": [
                    {renames.get(("securitySchemes", name), name): scopes for name, scopes in item.items()}
                    for item in value["security"]
                ],
            }
        return {key: _rewrite_refs(item, renames) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite_refs(item, renames) for item in value]
    return value
