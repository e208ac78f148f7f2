"""CORS for the client-side routes: a browser at an allowed origin may call them (the origin was
checked against the publishable key, or the preflight against every live publishable key)."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from fastapi.responses import Response

from voucherd.api.voucherify.auth import CLIENT_ID, CLIENT_TOKEN
from voucherd.api.voucherify.versions import HEADER

ALLOWED_HEADERS = ", ".join(
    [CLIENT_ID, CLIENT_TOKEN, "Content-Type", "Accept", "X-Voucherify-Channel", HEADER, "Idempotency-Key"]
)
Answer = TypeVar("Answer", bound=Response)


def with_cors(request: Request, response: Answer, *, preflight: bool = False) -> Answer:
    origin = request.headers.get("origin")
    if not origin:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
    if preflight:
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    return response
