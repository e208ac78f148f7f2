"""Tracking links for mail merge, for email platforms without webhooks: an open pixel and a click
link that leads on to the voucher page. Both are public; the recipient id (random, 122 bits) is
the credential, and an unknown id gets the same pixel (the pixel reveals nothing)."""

from __future__ import annotations

import base64
import contextlib
import uuid

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from voucherd.core import links
from voucherd.http.ratelimit import rate_limit
from voucherd.http.session import SessionDep, writes
from voucherd.recipients.errors import RecipientNotFound
from voucherd.tracking import service as tracking
from voucherd.tracking.service import Signal

# Per client IP: every open and click writes a row, so a script must not be able to flood them.
# Generous, since a mail provider's image proxy fetches the pixels of many readers from few IPs.
router = APIRouter(include_in_schema=False, dependencies=[rate_limit("tracking_per_ip", per="ip")])

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")  # 1x1 transparent GIF
_NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}
NOT_FOUND_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8>"
    '<meta name=viewport content="width=device-width, initial-scale=1">'
    "<title>Voucher not found</title><body><main><h1>Voucher not found</h1>"
    "<p>Check the link or the code and try again.</p></main></body></html>"
)


def _recipient_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.removesuffix(".gif"))
    except ValueError:
        return None


@router.get("/t/o/{pixel}")
@writes
async def open_pixel(pixel: str, session: SessionDep) -> Response:
    recipient_id = _recipient_id(pixel)
    if recipient_id is not None:
        with contextlib.suppress(RecipientNotFound):  # the same pixel for every unknown id
            await tracking.track(session, recipient_id, Signal.OPENED, client_id=None)
    return Response(PIXEL, media_type="image/gif", headers=_NO_STORE)


@router.get("/t/c/{recipient}")
@writes
async def click(recipient: str, session: SessionDep) -> Response:
    recipient_id = _recipient_id(recipient)
    if recipient_id is not None:
        try:
            tracked = await tracking.track(session, recipient_id, Signal.CLICKED, client_id=None)
        except RecipientNotFound:
            pass
        else:
            return RedirectResponse(
                links.redemption_url(tracked.voucher_code), status_code=302, headers=_NO_STORE
            )
    return HTMLResponse(NOT_FOUND_PAGE, status_code=404, headers=_NO_STORE)
