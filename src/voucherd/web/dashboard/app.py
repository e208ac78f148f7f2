"""The client's dashboard as its own application, mounted at ``/dashboard``: its errors are pages
for people (:mod:`voucherd.web.errors`)."""

from __future__ import annotations

from fastapi import FastAPI

from voucherd.http.ratelimit import RateLimiter
from voucherd.web import errors
from voucherd.web.dashboard import routes
from voucherd.web.dashboard.pages import view

MOUNT = view.mount


def create_dashboard_app(limiter: RateLimiter) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.rate_limiter = limiter
    errors.install(app, view)
    app.include_router(routes.router)
    return app
