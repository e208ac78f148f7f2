"""A client's branding: an accent colour and a logo, shown on its public voucher and landing
pages, its shop and its mails. Owners (and API keys) change them.

- The accent is ``#rrggbb`` and must carry white text at WCAG 2.2 AA (a contrast of 4.5:1 or
  more): pages put white text on it (buttons, the header band) and use it for links on white, the
  same ratio. A colour too light is refused, and the message offers the nearest darker shade
  that passes (the owner decides; nothing is changed behind their back).
- The logo is a PNG, JPEG or WebP of at most :data:`MAX_LOGO_BYTES`, checked by its content (its
  signature, then decoded by Pillow), never by the name or type the browser sent; SVG is refused
  (it can carry scripts). It is kept in the client's row and served from our own origin."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.service import Principal, get_client
from voucherd.core.errors import InvalidInput
from voucherd.models import Client

MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_SIDE = 4096  # pixels: a bigger image is a mistake (or a decompression bomb)
MIN_CONTRAST = 4.5  # WCAG 2.2 AA, normal text
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")
# Signature -> (Pillow's format name, the Content-Type we serve).
_LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Brand:
    """What a page or a mail needs of a client's branding (``None``: not set)."""

    number: int | None
    accent: str | None  # "#1f5eff"
    logo_version: str | None  # a short digest of the logo, for its URL (cache busting)

    @property
    def accent_hex(self) -> str | None:
        """The accent without its ``#`` (``1f5eff``), as its stylesheet's URL names it."""
        return self.accent[1:] if self.accent else None

    @property
    def has_logo(self) -> bool:
        return self.number is not None and self.logo_version is not None


NO_BRAND = Brand(None, None, None)


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_with_white(color: str) -> float:
    """The WCAG contrast ratio of white on ``color`` (1 to 21)."""
    return 1.05 / (luminance(color) + 0.05)


def darker_passing(color: str) -> str:
    """The lightest shade of ``color`` (the same hue, scaled towards black) that carries white text
    at AA."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(100, -1, -1):
        shade = "#{:02x}{:02x}{:02x}".format(*(round(c * step / 100) for c in (r, g, b)))
        if contrast_with_white(shade) >= MIN_CONTRAST:
            return shade
    return "#000000"


def check_accent(value: str) -> str:
    """``#rrggbb`` in lower case, readable under white text, or :class:`InvalidInput`."""
    found = _HEX.fullmatch(value.strip())
    if found is None:
        raise InvalidInput("The accent colour must be written #RRGGBB, such as #1f5eff.", field="accent")
    color = "#" + found.group(1).lower()
    ratio = contrast_with_white(color)
    if ratio < MIN_CONTRAST:
        raise InvalidInput(
            f"White text on {color} has a contrast of {ratio:.1f}:1; it needs {MIN_CONTRAST}:1 to be "
            f"readable (WCAG AA). Choose a darker colour, such as {darker_passing(color)}.",
            field="accent",
        )
    return color


def check_logo(data: bytes) -> str:
    """The Content-Type of a logo that is a PNG, JPEG or WebP by its content (and not too big),
    or :class:`InvalidInput`."""
    if not data:
        raise InvalidInput("Choose an image file for the logo.", field="logo")
    if len(data) > MAX_LOGO_BYTES:
        raise InvalidInput(
            f"The logo is {len(data) // 1024} KB; it may be at most {MAX_LOGO_BYTES // 1024} KB.",
            field="logo",
        )
    signed = (
        "PNG"
        if data.startswith(b"\x89PNG\r\n\x1a\n")
        else "JPEG"
        if data.startswith(b"\xff\xd8\xff")
        else "WEBP"
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        else None
    )
    refused = InvalidInput("The logo must be a PNG, JPEG or WebP image.", field="logo")
    if signed is None:
        raise refused
    from PIL import Image, UnidentifiedImageError  # 0.1 s to import: only when a logo is sent

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != signed:
                raise refused
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise refused from None
    if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE:
        raise InvalidInput(
            f"The logo is {width}×{height} pixels; it may be at most {MAX_LOGO_SIDE} on each side.",
            field="logo",
        )
    return _LOGO_TYPES[signed]


def brand_from(number: int | None, accent: str | None, logo_digest: str | None) -> Brand:
    return Brand(number, accent, logo_digest[:12] if logo_digest else None)


async def brand_of(session: AsyncSession, client_id: uuid.UUID) -> Brand:
    """The client's branding (:data:`NO_BRAND` for an unknown client)."""
    row = (
        await session.execute(
            select(Client.number, Client.accent_color, Client.logo_digest).where(Client.id == client_id)
        )
    ).first()
    return NO_BRAND if row is None else brand_from(row.number, row.accent_color, row.logo_digest)


async def set_accent(session: AsyncSession, principal: Principal, accent: str | None) -> Client:
    """A new accent colour (:func:`check_accent`), or none (``None`` or empty: the default look)."""
    require(principal, Permission.ADMINISTER)
    client = await get_client(session, principal.client_id)
    client.accent_color = check_accent(accent) if accent and accent.strip() else None
    await session.flush()
    return client


async def set_logo(session: AsyncSession, principal: Principal, data: bytes) -> Client:
    """A new logo (:func:`check_logo`), replacing the old one."""
    require(principal, Permission.ADMINISTER)
    content_type = check_logo(data)
    client = await get_client(session, principal.client_id)
    client.logo_image = data
    client.logo_type = content_type
    client.logo_digest = hashlib.sha256(data).hexdigest()
    await session.flush()
    return client


async def remove_logo(session: AsyncSession, principal: Principal) -> Client:
    require(principal, Permission.ADMINISTER)
    client = await get_client(session, principal.client_id)
    client.logo_image = client.logo_type = client.logo_digest = None
    await session.flush()
    return client


@dataclass(frozen=True)
class Logo:
    data: bytes
    content_type: str
    digest: str


async def logo_of(session: AsyncSession, client_number: int) -> Logo | None:
    """The logo of the client with this public number (for its public URL), or ``None``."""
    row = (
        await session.execute(
            select(Client.logo_image, Client.logo_type, Client.logo_digest).where(
                Client.number == client_number
            )
        )
    ).first()
    if row is None or row.logo_image is None or row.logo_type is None or row.logo_digest is None:
        return None
    return Logo(bytes(row.logo_image), row.logo_type, row.logo_digest)
