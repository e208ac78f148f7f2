"""The error pages every signed-in application (the staff screen, the dashboard) shows: the login
form for a visitor without a login, a 403 page for what a role may not do or an expired form,
and the domain's errors in plain words, all on the application's own layout."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from voucherd.core.errors import Conflict, DomainError, NotFound, NotRedeemable, PermissionDenied
from voucherd.http import boundary
from voucherd.http.errors import log_failure
from voucherd.http.ratelimit import RateLimited
from voucherd.web.session import HEADERS, CsrfRefused, LoginRequired, PageRefused, Pages


def install(app: FastAPI, view: Pages) -> None:
    """Every error of ``app`` as a page of ``view`` (whose mount the login redirect goes to)."""

    def message(request: Request, status: int, heading: str, text: str) -> Response:
        return view.render(request, "message.html", status, heading=heading, message=text)

    async def to_login(request: Request, error: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{view.mount}/login?next={quote(target)}", status_code=303, headers=HEADERS)

    async def csrf(request: Request, error: Exception) -> Response:
        return message(
            request,
            403,
            "This form has expired",
            "Nothing was changed. Go back, reload the page and try again.",
        )

    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, PageRefused)
        return message(request, 403, "Not allowed for your login", error.message)

    async def domain_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, DomainError)
        if isinstance(error, PermissionDenied):
            return message(request, 403, "Not allowed for your login", error.message)
        if isinstance(error, NotFound):
            return message(request, 404, "Not found", error.message)
        status = 409 if isinstance(error, Conflict | NotRedeemable) else 422
        return message(request, status, "That did not work", error.message)

    async def too_many(request: Request, error: Exception) -> Response:
        assert isinstance(error, RateLimited)
        response = message(
            request, 429, "Too many attempts", f"Please wait {error.retry_after} seconds and try again."
        )
        response.headers["Retry-After"] = str(error.retry_after)
        return response

    async def bad_request(request: Request, error: Exception) -> Response:
        return message(request, 400, "Something is missing", "Check the form and try again.")

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 404:
            return message(request, 404, "Page not found", "Check the address and try again.")
        return message(request, error.status_code, "This page cannot do that", str(error.detail))

    async def unexpected(request: Request, error: Exception) -> Response:
        request_id = log_failure(request, error)
        return message(
            request,
            500,
            "Something went wrong on our side",
            f"Please try again in a moment. If it keeps happening, quote reference {request_id}.",
        )

    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(CsrfRefused, csrf)
    app.add_exception_handler(PageRefused, refused)
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RateLimited, too_many)
    app.add_exception_handler(RequestValidationError, bad_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
    boundary.install(app, nul_in_path_status=404)
