"""The VoucherTrack dialect (seeds 000, 001) as its own application, mounted by the host at
``/api``: its routes, its error table, its key transport and its own OpenAPI document
(``/api/openapi.json``, ``/api/docs``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from voucherd import __version__
from voucherd.api.vouchertrack import checkout, distribution, errors, integrations, management, webhooks
from voucherd.api.vouchertrack.auth import SECURITY_SCHEMES
from voucherd.http import boundary
from voucherd.http.ratelimit import RateLimiter

MOUNT = "/api"
DESCRIPTION = """
voucherd's native API (VoucherTrack): campaigns, unique voucher codes, distribution, and checkout
validation and redemption.

Authenticate with your API key in the `X-API-Key` header (or the `api_key` query parameter).
Errors are JSON: `{"error": "<what is wrong>", "error_code": "<stable code>"}`.
"""


def create_vouchertrack_app(limiter: RateLimiter) -> FastAPI:
    app = FastAPI(
        title="voucherd: VoucherTrack API",
        version=__version__,
        description=DESCRIPTION,
        # Integrations post JSON without a Content-Type too (curl -d, some PHP clients).
        strict_content_type=False,
    )
    app.state.rate_limiter = limiter
    errors.install(app)
    # Its bodies are JSON whatever the Content-Type says: the README's curl -d examples send a form's.
    boundary.install(app, json_bodies=True)
    for module in (checkout, management, distribution, integrations, webhooks):
        app.include_router(module.router)
    _document_security(app)
    return app


def _document_security(app: FastAPI) -> None:
    """Every route takes the API key; say so once in the OpenAPI schema."""

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
            requirement: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation["security"] = requirement
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
