"""The VoucherCart dialect (seed 003) as its own application, mounted by the host at
``/vouchercart/v1``: its routes, its error table, its bearer authentication (a staff access token
or an API key) and its own OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from voucherd import __version__
from voucherd.api.vouchercart import accounts, coupons, errors, giftcards
from voucherd.api.vouchercart.auth import SECURITY_SCHEMES
from voucherd.http import boundary
from voucherd.http.ratelimit import RateLimiter

MOUNT = "/vouchercart/v1"
DESCRIPTION = """
The VoucherCart API (seed 003) over voucherd: staff logins with rotating refresh tokens, clients
and their sales pages; the gift voucher catalog, orders, and codes' status, redemption and
top-up; coupons and their discount codes. Bodies are form-encoded (as `curl -d` sends them) or
JSON, with the same names. Errors:
`{"status": "failed", "error": "<what is wrong>", "code": "<stable code>"}`.
"""
OPEN = {"/register", "/user-domains", "/authorize", "/refresh"}  # no bearer token


def create_vouchercart_app(limiter: RateLimiter) -> FastAPI:
    app = FastAPI(title="voucherd: VoucherCart API", version=__version__, description=DESCRIPTION)
    app.state.rate_limiter = limiter
    errors.install(app)
    # Its bodies are forms or JSON, read by the routes (body.fields), so content types stay as sent.
    boundary.install(app)
    app.include_router(accounts.router)
    app.include_router(giftcards.router)
    app.include_router(coupons.router)

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
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    operation["security"] = [] if path in OPEN else [{"Bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
