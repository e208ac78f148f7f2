"""A client's branding on its public pages: the accent colour as a stylesheet that sets the
``--accent`` custom property (the CSP forbids inline styles, so a page links
``/brand/accent-1f5eff.css``: the colour is the file's name, so it needs no lookup and is cached
for good), and the logo at ``/brand/{client number}/logo`` (``?v=`` its digest, so a new logo
is a new URL)."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import Response

from voucherd.accounts import branding
from voucherd.http.session import SessionDep

router = APIRouter(include_in_schema=False)
_HEX = re.compile(r"[0-9a-f]{6}")
IMMUTABLE = "public, max-age=31536000, immutable"


@router.get("/brand/accent-{color}.css")
async def accent_css(color: str) -> Response:
    if not _HEX.fullmatch(color):
        return Response("/* not a colour */", status_code=404, media_type="text/css")
    return Response(
        f":root{{--accent:#{color}}}\n", media_type="text/css", headers={"Cache-Control": IMMUTABLE}
    )


@router.get("/brand/{client_number}/logo")
async def logo(client_number: int, session: SessionDep, v: str = "") -> Response:
    found = await branding.logo_of(session, client_number) if 0 < client_number < 2**31 else None
    if found is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    # A URL naming the current digest never changes; any other is served, but briefly cached.
    current = v and found.digest.startswith(v)
    return Response(
        found.data,
        media_type=found.content_type,
        headers={
            "Cache-Control": IMMUTABLE if current else "public, max-age=300",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "X-Content-Type-Options": "nosniff",
        },
    )
