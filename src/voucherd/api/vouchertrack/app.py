"""The VoucherTrack dialect (seeds 000, 001) as its own application, mounted by the host at
``/api``: its routes, its error table, its key transport and its own OpenAPI document
(``/api/openapi.json``, ``/api/docs``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from voucherd import __version__
from voucherd.api.vouchertrack import (
    accounts,
    checkout,
    distribution,
    errors,
    giftcards,
    integrations,
    management,
    staff,
    webhooks,
)
from voucherd.api.vouchertrack.auth import SECURITY_SCHEMES
from voucherd.api.vouchertrack.schemas import RedemptionRequest
from voucherd.http import boundary
from voucherd.http.openapi import add_error_responses
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
    for module in (checkout, management, distribution, integrations, webhooks, staff, giftcards):
        app.include_router(module.router)
    for router in accounts.routers:
        app.include_router(router)
    _document(app)
    return app


_ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "What is wrong, for a person to act on"},
        "error_code": {"type": "string", "description": "A stable code for programs"},
        "field": {"type": ["string", "null"], "description": "The input at fault, for bad input"},
    },
    "required": ["error", "error_code"],
}
_TOO_MANY = {
    "type": "object",
    "properties": {"code": {"const": 429}, "message": {"type": "string"}},
    "required": ["code", "message"],
}
_DESCRIPTIONS = {
    401: "Missing or wrong API key",
    404: "Not found (another client's object is not found either)",
    413: "The request body is over the size limit",
    422: "Invalid input: `error` says what to fix, `field` where",
    429: "Over the rate limit: wait `Retry-After` seconds",
}


def _error_response(status: int) -> dict[str, Any]:
    body = {"$ref": "#/components/schemas/TooManyRequests" if status == 429 else "#/components/schemas/Error"}
    return {"description": _DESCRIPTIONS[status], "content": {"application/json": {"schema": body}}}


def _document(app: FastAPI) -> None:
    """Every route takes the API key, and can answer the shared layer's errors: say so once in the
    OpenAPI schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                servers=[{"url": MOUNT}],
            )
            components = schema.setdefault("components", {})
            components["securitySchemes"] = SECURITY_SCHEMES
            components.setdefault("schemas", {}).update(
                Error=_ERROR,
                TooManyRequests=_TOO_MANY,
                # Read by its route itself (after the key is checked), so FastAPI does not list it.
                RedemptionRequest=RedemptionRequest.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                ),
            )
            add_error_responses(schema, app.routes, _error_response, authenticated=lambda _route: True)
            requirement: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation["security"] = requirement
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
