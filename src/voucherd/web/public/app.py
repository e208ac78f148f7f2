"""The public pages (voucher pages, landing pages, tracking links) as their own application. The
host serves it for every path no dialect claims, so its errors are pages for people, not JSON."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from voucherd.http import boundary
from voucherd.http.errors import log_failure
from voucherd.http.ratelimit import RateLimited, RateLimiter
from voucherd.web.public import brand, pages, tracking
from voucherd.web.public.pages import render
from voucherd.web.shop import routes as shop


def create_public_app(limiter: RateLimiter) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.rate_limiter = limiter
    app.add_exception_handler(RateLimited, _too_many)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    boundary.install(app, nul_in_path_status=404)
    app.include_router(tracking.router)
    app.include_router(brand.router)
    app.include_router(shop.router)
    app.include_router(pages.router)
    return app


async def _too_many(request: Request, error: Exception) -> HTMLResponse:
    assert isinstance(error, RateLimited)
    response = render(
        "message.html",
        429,
        heading="Too many requests",
        message=f"Please wait {error.retry_after} seconds and try again.",
    )
    response.headers["Retry-After"] = str(error.retry_after)
    return response


async def _bad_request(request: Request, error: Exception) -> HTMLResponse:
    return render(
        "message.html", 400, heading="Something is missing", message="Check the form and try again."
    )


async def _http_error(request: Request, error: Exception) -> HTMLResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 404:
        return render("message.html", 404, heading="Page not found", message="Check the link and try again.")
    response = render(
        "message.html", error.status_code, heading="This page cannot do that", message=str(error.detail)
    )
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


async def _unexpected(request: Request, error: Exception) -> HTMLResponse:
    request_id = log_failure(request, error)
    return render(
        "message.html",
        500,
        heading="Something went wrong on our side",
        message=f"Please try again in a moment. If it keeps happening, quote reference {request_id}.",
    )
