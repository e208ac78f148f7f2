"""The VoucherCart dialect's error table and its one handler: every error answers
``{"status": "failed", "error": <message a person can act on>, "code": <stable code>}``."""

from __future__ import annotations

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
from voucherd.http.ratelimit import MESSAGE as RATE_LIMIT_MESSAGE
from voucherd.http.ratelimit import RateLimited
from voucherd.http.responses import JSON

STATUS: dict[type[DomainError], int] = {
    Unauthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    NotRedeemable: 409,
    QuotaExceeded: 409,
    InvalidInput: 422,
}


def failed(message: str, code: str, status: int, headers: dict[str, str] | None = None) -> JSON:
    return JSON({"status": "failed", "error": message, "code": code}, status_code=status, headers=headers)


def status_for(error: DomainError) -> int:
    return status_in(STATUS, error)


def render(error: DomainError) -> JSON:
    """The answer to a domain error, for a route that answers one without raising it (so that its
    transaction still commits)."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthenticated) else None
    code = getattr(error, "reason", error.code) if isinstance(error, NotRedeemable) else error.code
    return failed(error.message, code, status_for(error), headers)


async def _domain_error(request: Request, error: Exception) -> JSON:
    assert isinstance(error, DomainError)
    return render(error)


async def _validation_error(request: Request, error: Exception) -> JSON:
    assert isinstance(error, RequestValidationError)
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path"))
        problems.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
    return failed("; ".join(problems) or "The request is not valid.", "invalid_input", 422)


async def _http_error(request: Request, error: Exception) -> JSON:
    assert isinstance(error, StarletteHTTPException)
    headers = dict(getattr(error, "headers", None) or {})
    if error.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return failed(str(error.detail), getattr(error, "code", "http_error"), error.status_code, headers)


async def _too_many(request: Request, error: Exception) -> JSON:
    assert isinstance(error, RateLimited)
    return failed(RATE_LIMIT_MESSAGE, "rate_limited", 429, {"Retry-After": str(error.retry_after)})


async def _internal(request: Request, error: Exception) -> JSON:
    request_id = log_failure(request, error)
    if is_unavailable(error):
        return failed(f"{UNAVAILABLE} (request {request_id})", "database_unavailable", 503, RETRY_AFTER)
    return failed(f"Internal error; it has been logged (request {request_id}).", "internal_error", 500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RateLimited, _too_many)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal)
