"""Wrapping a write route in ``Idempotency-Key`` handling."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.api.responses import JSON
from voucherd.idempotency import service as idempotency

IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


async def idempotent(
    request: Request,
    session: AsyncSession | None,
    principal: Principal,
    produce: Callable[[], Awaitable[JSON]],
) -> Response:
    """Run ``produce`` once per key; later requests with the key get the stored reply. Only
    successful replies are stored: a refused write changed nothing and may simply be retried."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        return await produce()
    if session is None:  # pragma: no cover - the checkout opens a session for keyed requests
        raise RuntimeError("an Idempotency-Key needs the request's session")
    body = await request.body()
    fingerprint = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
    ).hexdigest()
    stored = await idempotency.begin(session, principal.client_id, key, fingerprint)
    if stored is not None:
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type="application/json",
            headers={REPLAYED: "true"},
        )
    response = await produce()
    if response.status_code < 400:
        await idempotency.finish(
            session, principal.client_id, key, status_code=response.status_code, body=bytes(response.body)
        )
    return response
