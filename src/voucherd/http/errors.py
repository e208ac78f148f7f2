"""The answer to an error no handler knows: one shape for the host and every JSON dialect that
has no envelope of its own, naming the request so that support can find its log line."""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from fastapi import Request
from sqlalchemy.exc import StatementError

from voucherd.core.errors import DomainError
from voucherd.db.errors import is_unavailable
from voucherd.http.responses import JSON

log = structlog.get_logger("voucherd.http")

INTERNAL_ERROR = "Internal error; it has been logged."
UNAVAILABLE = "The database cannot be reached for now; try again in a moment."
# A failover or a restart takes seconds: a client that waits this long and retries (with the
# same order reference or Idempotency-Key) gets one result, never two.
RETRY_AFTER = {"Retry-After": "1"}


def status_in(table: Mapping[type[DomainError], int], error: DomainError) -> int:
    """The status a dialect's table gives the error's nearest category (500 for none)."""
    for category in type(error).__mro__:
        if category in table:
            return table[category]
    return 500


def logged_path(request: Request) -> str:
    """The request's path as a log line may show it: the route's template (``/giftcards/{code}``)
    under its mount, never the code or key a path carries (RELIABILITY S4); a path no route
    matched keeps only the first 4 characters of each segment longer than 8."""
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str):
        return str(request.scope.get("root_path", "")) + template
    return "/".join(part if len(part) <= 8 else part[:4] + "…" for part in request.url.path.split("/"))


def error_text(error: BaseException) -> str:
    """An exception's message as a log line may show it: a database error keeps the driver's
    message but not SQLAlchemy's statement and the values bound to it (a code, an email: RELIABILITY
    S4)."""
    if isinstance(error, StatementError) and error.orig is not None:
        return f"{type(error.orig).__name__}: {error.orig}"[:500]
    return str(error)[:500]


def log_failure(request: Request, error: Exception) -> str | None:
    """Log an unexpected exception as one line of JSON (the request id, where, the exception's
    type and message), and its traceback at debug level only; return the request id. A database
    that cannot be reached is logged as ``request.database_unavailable``."""
    request_id: str | None = getattr(request.state, "request_id", None)
    where = f"{request.method} {logged_path(request)}"
    log.error(
        "request.database_unavailable" if is_unavailable(error) else "request.failed",
        request_id=request_id,
        path=where,
        error_type=type(error).__name__,
        error=error_text(error),
    )
    log.debug("request.failed.traceback", request_id=request_id, exc_info=error)
    return request_id


async def internal_error(request: Request, error: Exception) -> JSON:
    request_id = log_failure(request, error)
    if is_unavailable(error):
        return JSON(
            {"error": UNAVAILABLE, "error_code": "database_unavailable", "request_id": request_id},
            status_code=503,
            headers=RETRY_AFTER,
        )
    return JSON(
        {"error": INTERNAL_ERROR, "error_code": "internal_error", "request_id": request_id},
        status_code=500,
    )
