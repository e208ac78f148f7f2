"""The staff screen as its own application, mounted at ``/staff``: its errors are pages for
people (a 403 page for what a role may not do, the login form for a visitor without a login)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from voucherd.core.errors import Conflict, DomainError, NotFound, NotRedeemable, PermissionDenied
from voucherd.http import boundary
from voucherd.http.errors import log_failure
from voucherd.http.ratelimit import RateLimited, RateLimiter
from voucherd.web.session import HEADERS, CsrfRefused, LoginRequired, PageRefused
from voucherd.web.staff import routes
from voucherd.web.staff.routes import view

MOUNT = "/staff"


def create_staff_app(limiter: RateLimiter) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.rate_limiter = limiter
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(CsrfRefused, _csrf)
    app.add_exception_handler(PageRefused, _refused)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RateLimited, _too_many)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    boundary.install(app, nul_in_path_status=404)
    app.include_router(routes.router)
    return app


def _message(request: Request, status: int, heading: str, message: str) -> Response:
    return view.render(request, "message.html", status, heading=heading, message=message)


async def _to_login(request: Request, error: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{MOUNT}/login?next={quote(target)}", status_code=303, headers=HEADERS)


async def _csrf(request: Request, error: Exception) -> Response:
    return _message(
        request,
        403,
        "This form has expired",
        "Nothing was changed. Go back, reload the page and try again.",
    )


async def _refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageRefused)
    return _message(request, 403, "Not allowed for your login", error.message)


async def _domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    if isinstance(error, PermissionDenied):
        return _message(request, 403, "Not allowed for your login", error.message)
    if isinstance(error, NotFound):
        return _message(request, 404, "Not found", error.message)
    status = 409 if isinstance(error, Conflict | NotRedeemable) else 422
    return _message(request, status, "That did not work", error.message)


async def _too_many(request: Request, error: Exception) -> Response:
    assert isinstance(error, RateLimited)
    response = _message(
        request, 429, "Too many attempts", f"Please wait {error.retry_after} seconds and try again."
    )
    response.headers["Retry-After"] = str(error.retry_after)
    return response


async def _bad_request(request: Request, error: Exception) -> Response:
    return _message(request, 400, "Something is missing", "Check the form and try again.")


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 404:
        return _message(request, 404, "Page not found", "Check the address and try again.")
    return _message(request, error.status_code, "This page cannot do that", str(error.detail))


async def _unexpected(request: Request, error: Exception) -> Response:
    request_id = log_failure(request, error)
    return _message(
        request,
        500,
        "Something went wrong on our side",
        f"Please try again in a moment. If it keeps happening, quote reference {request_id}.",
    )
