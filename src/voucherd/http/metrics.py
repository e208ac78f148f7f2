"""Each request counted and timed (``voucherd_http_request_duration_seconds``) by dialect, route
template, method and status, and the ``/metrics`` page itself with its access rule."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from voucherd import metrics
from voucherd.config import get_settings
from voucherd.db import get_database

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    """Records each request (given by :class:`RequestIdMiddleware` when it ends) by dialect,
    route template (``unmatched`` when no route matched, so unknown paths cannot make new
    series), method and status."""

    def __init__(self, mounts: Sequence[tuple[str, str]]) -> None:
        self.mounts = mounts  # (path prefix, dialect name)
        # Each series' child, looked up once (``labels()`` costs some 3 us a request); bounded,
        # as every label is.
        self._series: dict[tuple[str, str, str, int], Any] = {}

    def __call__(self, scope: Scope, status: int, seconds: float) -> None:
        template = getattr(scope.get("route"), "path_format", None) or "unmatched"
        method = scope["method"] if scope["method"] in METHODS else "other"
        key = (self._dialect(scope["path"]), template, method, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = metrics.REQUESTS.labels(*key[:3], str(status))
        series.observe(seconds)

    def _dialect(self, path: str) -> str:
        for prefix, name in self.mounts:
            if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                return name
        return "host"


def allowed(request: Request) -> bool:
    """``VOUCHERD_METRICS``: ``off``, ``loopback`` (the default: only from this machine, for a
    local Prometheus or an agent) or ``token`` (``Authorization: Bearer VOUCHERD_METRICS_TOKEN``)."""
    settings = get_settings()
    if settings.metrics == "off":
        return False
    if settings.metrics == "token":
        given = request.headers.get("authorization", "")
        expected = f"Bearer {settings.metrics_token}" if settings.metrics_token else ""
        return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
    if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
        return False  # through a proxy on this machine: the caller is elsewhere
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def page(request: Request) -> Response:
    if not allowed(request):
        return Response("Not Found", status_code=404, media_type="text/plain")
    snapshot = await metrics.snapshot(get_database())
    return Response(metrics.exposition(snapshot), media_type=CONTENT_TYPE)
