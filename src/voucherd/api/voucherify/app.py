"""The Voucherify dialect (``voucherify-api.md``, seeds 002 and 004) as its own application,
mounted by the host at ``/voucherify``, so that ``voucherify.Configuration(host=".../voucherify")``
of the official SDK reaches ``/voucherify/v1/...`` (server side, the application pair) and
``/voucherify/client/v1/...`` (client side). Its routes, its error object, its authentication,
its dated versions and its own OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Scope

from voucherd import __version__
from voucherd.api.voucherify import (
    async_actions,
    campaigns,
    customers,
    errors,
    publications,
    redemptions,
    vouchers,
)
from voucherd.api.voucherify.auth import SECURITY_SCHEMES
from voucherd.api.voucherify.cors import ErrorCors
from voucherd.api.voucherify.requests import RawPath
from voucherd.api.voucherify.versions import HEADER, SERVED, VersionLayer
from voucherd.http import boundary
from voucherd.http.ratelimit import RateLimiter

MOUNT = "/voucherify"
DESCRIPTION = f"""
The Voucherify API (v2018-08-01) over voucherd, for the official SDKs: set the SDK's host to
`http://HOST:8000/voucherify` and its key pair to one of your API keys (`X-App-Id`: its
`api_key_id`, `X-App-Token`: the key). `{HEADER}` names the dated version a request is written for
(served: {", ".join(sorted(SERVED))}); every answer carries the version that produced it. Errors:
`{{"code", "key", "message", "details", "request_id"}}`.
"""


def _refuse_version(scope: Scope, version: str) -> ASGIApp:
    return errors.error_object(
        Request(scope),
        400,
        "invalid_api_version",
        f"API version {version!r} is not served; use one of {', '.join(sorted(SERVED))}.",
    )


def create_voucherify_app(limiter: RateLimiter) -> FastAPI:
    app = FastAPI(title="voucherd: Voucherify API", version=__version__, description=DESCRIPTION)
    app.state.rate_limiter = limiter
    errors.install(app)
    boundary.install(app, json_bodies=True)
    app.add_middleware(RawPath)
    app.add_middleware(VersionLayer, refuse=_refuse_version)
    app.add_middleware(ErrorCors)

    app.include_router(async_actions.router)
    app.include_router(redemptions.router)
    app.include_router(redemptions.client_router)
    app.include_router(vouchers.router)
    app.include_router(customers.router)
    app.include_router(campaigns.router)
    app.include_router(publications.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                servers=[{"url": MOUNT}],
            )
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation["security"] = [{"AppId": [], "AppToken": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
