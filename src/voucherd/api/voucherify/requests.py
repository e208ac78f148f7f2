"""How the SDK sends what it sends: JSON bodies (empty ones, with a JSON content type, mean
``{}``), ``null`` for "not given", path parameters percent-encoded with no safe characters (a code
``A/B 1`` arrives as ``A%2FB%201``), and list parameters checked as Voucherify checks them."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import orjson
from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from voucherd.api.voucherify.errors import InvalidQuery
from voucherd.core.errors import InvalidInput


class RawPath:
    """Routes on the raw path, so that an encoded ``/`` stays inside its segment: the path is
    decoded here except for ``%2F``, which routes then read back with :func:`segment`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path")
        if scope["type"] == "http" and raw and b"%2f" in raw.lower():
            root = scope.get("root_path", "")
            text = raw.decode("latin-1").split("?", 1)[0]
            text = text.replace("%2F", "%252F").replace("%2f", "%252f")
            path = unquote(text)
            scope = {**scope, "path": path[len(root) :] if root and path.startswith(root) else path}
        await self.app(scope, receive, send)


def segment(value: str) -> str:
    """A path parameter as the caller meant it (``A%2FB`` is ``A/B``)."""
    return value.replace("%2F", "/").replace("%2f", "/")


async def body(request: Request) -> dict[str, Any]:
    """The JSON object sent; ``{}`` for an empty body."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput("The request body is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return parsed


def page_of(request: Request, *, default_limit: int = 10) -> tuple[int, int]:
    """``(limit, page)``: limit 1..100 (default 10), page from 1; 400 ``invalid_query_params``
    otherwise."""
    query = request.query_params
    try:
        limit = int(query.get("limit", default_limit))
        page = int(query.get("page", 1))
    except ValueError:
        raise InvalidQuery("limit and page must be whole numbers.") from None
    if not 1 <= limit <= 100:
        raise InvalidQuery("limit must be between 1 and 100.")
    if not 1 <= page <= 100_000:
        raise InvalidQuery("page must be between 1 and 100000.")
    return limit, page


def envelope(key: str, items: list[dict[str, Any]], total: int, **extra: Any) -> dict[str, Any]:
    return {"object": "list", "data_ref": key, key: items, "total": total, **extra}
