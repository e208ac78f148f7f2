"""The VoucherTrack dialect's error table and its one handler.

Envelope: ``{"error": <message a person can act on>, "error_code": <stable code>}``, plus
``field`` for bad input, plus what the route put in ``request.state.error_extra`` (the checkout
routes add their documented ``valid``/``code`` or ``success``/``voucher_code``)."""

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
from voucherd.http.errors import internal_error, status_in
from voucherd.http.methods import allowed_methods
from voucherd.http.ratelimit import MESSAGE as RATE_LIMIT_MESSAGE
from voucherd.http.ratelimit import RateLimited
from voucherd.http.responses import JSON

STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    InvalidInput: 422,
    Conflict: 409,
    NotRedeemable: 409,
    QuotaExceeded: 409,
    Unauthenticated: 401,
    PermissionDenied: 403,
}


def status_for(error: DomainError) -> int:
    return status_in(STATUS, error)


def error_code(error: DomainError) -> str:
    return getattr(error, "reason", None) if isinstance(error, NotRedeemable) else error.code  # type: ignore[return-value]


def error_body(request: Request, message: str, code: str, **more: Any) -> dict[str, Any]:
    extra: dict[str, Any] = getattr(request.state, "error_extra", {})
    return {**extra, "error": message, "error_code": code, **more}


async def _domain_error(request: Request, error: Exception) -> JSON:
    assert isinstance(error, DomainError)
    more: dict[str, Any] = {}
    if isinstance(error, InvalidInput) and error.field:
        more["field"] = error.field
    if isinstance(error, InvalidInput) and "errors" in error.details:
        more["errors"] = error.details["errors"]  # every bad row of a bulk request
    headers = {"WWW-Authenticate": "ApiKey"} if isinstance(error, Unauthenticated) else None
    return JSON(
        error_body(request, error.message, error_code(error), **more),
        status_code=status_for(error),
        headers=headers,
    )


def _describe(error: dict[str, Any]) -> str:
    location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    where = ".".join(location)
    message = str(error.get("msg", "is not valid"))
    return f"{where}: {message}" if where else message


_NOT_JSON = "The request body is not valid JSON."


def _unreadable_body(request: Request) -> JSON:
    """One answer for a body that cannot be read as JSON, whatever the cause (bad syntax, bytes
    that are not UTF-8): FastAPI answers the first 422 and the second 400."""
    return JSON(
        error_body(request, _NOT_JSON, "invalid_input", field=None, problems=[_NOT_JSON]), status_code=422
    )


async def _validation_error(request: Request, error: Exception) -> JSON:
    assert isinstance(error, RequestValidationError)
    if any(item.get("type") == "json_invalid" for item in error.errors()):
        return _unreadable_body(request)
    problems = [_describe(dict(item)) for item in error.errors()]
    first = error.errors()[0] if error.errors() else {}
    field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    return JSON(
        error_body(
            request,
            "; ".join(problems) or "The request is not valid.",
            "invalid_input",
            field=field or None,
            problems=problems,
        ),
        status_code=422,
    )


async def _http_error(request: Request, error: Exception) -> JSON:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400:  # "There was an error parsing the body"
        return _unreadable_body(request)
    headers = dict(getattr(error, "headers", None) or {})
    if error.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return JSON(
        error_body(request, str(error.detail), getattr(error, "code", "http_error")),
        status_code=error.status_code,
        headers=headers,
    )


async def _too_many(request: Request, error: Exception) -> JSON:
    """429 with ``Retry-After`` and ``{"code": 429, "message": ...}``: the body the Voucherify
    conventions document, which VoucherTrack integrations already handle (docs/decisions.md)."""
    assert isinstance(error, RateLimited)
    return JSON(
        {"code": 429, "message": RATE_LIMIT_MESSAGE},
        status_code=429,
        headers={"Retry-After": str(error.retry_after)},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RateLimited, _too_many)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, internal_error)
