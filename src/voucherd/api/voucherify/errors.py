"""The Voucherify dialect's error object and its one table: every 4xx and 5xx answers
``{"code": <status>, "key", "message", "details", "request_id"}`` (and ``resource_id``,
``resource_type`` where one resource is concerned), as ``voucherify-api.md`` section 2 shows."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from voucherd.core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    NotRedeemable,
    PermissionDenied,
    QuotaExceeded,
    Unauthenticated,
)
from voucherd.db.errors import is_unavailable
from voucherd.http.errors import RETRY_AFTER, UNAVAILABLE, log_failure, status_in
from voucherd.http.methods import allowed_methods
from voucherd.http.ratelimit import RateLimited
from voucherd.http.responses import JSON

STATUS: dict[type[DomainError], int] = {
    Unauthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    NotRedeemable: 400,
    QuotaExceeded: 400,
    InvalidInput: 400,
}
# Our error codes where Voucherify names the same thing otherwise.
KEYS: dict[str, str] = {
    "unauthenticated": "unauthorized",
    "permission_denied": "forbidden",
    "invalid_input": "invalid_payload",
    "voucher_exhausted": "quantity_exceeded",
    "campaign_paused": "voucher_disabled",
    "insufficient_balance": "gift_amount_exceeded",
}
MESSAGES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Resource not found",
    405: "Method Not Allowed",
    409: "Duplicated resource found",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too many requests hit the API too quickly.",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class InvalidQuery(InvalidInput):
    code = "invalid_query_params"


class UnsupportedVersion(InvalidInput):
    code = "invalid_api_version"


def error_object(
    request: Request,
    status: int,
    key: str,
    details: str,
    *,
    resource_id: str | None = None,
    resource_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSON:
    body: dict[str, Any] = {
        "code": status,
        "key": key,
        "message": MESSAGES.get(status, "Error"),
        "details": details,
        "request_id": getattr(request.state, "request_id", None) or "",
    }
    if resource_id is not None:
        body["resource_id"] = resource_id
        body["resource_type"] = resource_type
    return JSON(body, status_code=status, headers=headers)


# Voucherify names a category's errors alike (every unknown object is ``not_found``); these
# codes of ours are already Voucherify's keys and keep their own.
_CATEGORY_KEYS: tuple[tuple[type[DomainError], str], ...] = (
    (NotFound, "not_found"),
    (Unauthenticated, "unauthorized"),
    (PermissionDenied, "forbidden"),
    (QuotaExceeded, "quantity_exceeded"),
)
_OWN_KEYS = frozenset(
    {
        "invalid_query_params",
        "invalid_api_version",
        "duplicate_found",
        "no_voucher_suitable_for_publication",
        "gift_amount_exceeded",
        "voucher_disabled",
        "voucher_expired",
        "voucher_not_active",
        "already_rolled_back",
        "quantity_exceeded",
        "invalid_campaign_params",
        "invalid_code_config",
    }
)


def key_of(error: DomainError) -> str:
    code = getattr(error, "reason", error.code) if isinstance(error, NotRedeemable) else error.code
    if code in _OWN_KEYS:
        return code
    if code in KEYS:
        return KEYS[code]
    for category, key in _CATEGORY_KEYS:
        if isinstance(error, category):
            return key
    return code


def render(request: Request, error: DomainError) -> JSON:
    details = error.details
    return error_object(
        request,
        status_in(STATUS, error),
        key_of(error),
        error.message,
        resource_id=details.get("resource_id"),
        resource_type=details.get("resource_type"),
    )


async def _domain_error(request: Request, error: Exception) -> JSON:
    assert isinstance(error, DomainError)
    return render(request, error)


async def _validation_error(request: Request, error: Exception) -> JSON:
    assert isinstance(error, RequestValidationError)
    problems = []
    in_query = False
    for item in error.errors():
        location = item.get("loc", ())
        in_query = in_query or (bool(location) and location[0] == "query")
        where = ".".join(str(p) for p in location if p not in ("body", "query", "path"))
        problems.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
    key = "invalid_query_params" if in_query else "invalid_payload"
    return error_object(request, 400, key, "; ".join(problems) or "The request is not valid.")


async def _http_error(request: Request, error: Exception) -> JSON:
    assert isinstance(error, StarletteHTTPException)
    headers = dict(getattr(error, "headers", None) or {})
    if error.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    key = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        error.status_code, "error"
    )
    return error_object(request, error.status_code, key, str(error.detail), headers=headers)


async def _too_many(request: Request, error: Exception) -> JSON:
    assert isinstance(error, RateLimited)
    # Seed 004's body, exactly: {"code": 429, "message": "Too many requests hit the API too quickly."}
    return JSON(
        {"code": 429, "message": MESSAGES[429]},
        status_code=429,
        headers={"Retry-After": str(error.retry_after)},
    )


async def _internal(request: Request, error: Exception) -> JSON:
    request_id = log_failure(request, error)
    if is_unavailable(error):
        return error_object(
            request, 503, "service_unavailable", f"{UNAVAILABLE} (request {request_id})", headers=RETRY_AFTER
        )
    return error_object(
        request, 500, "internal_server_error", f"Internal error; it has been logged (request {request_id})."
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RateLimited, _too_many)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal)
