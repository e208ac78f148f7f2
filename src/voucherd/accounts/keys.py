"""API key format: ``vd_live_`` + 32 base62 characters + a 6-character base62 CRC32 of those 32.

The checksum lets us reject mistyped or forged keys before any database lookup, and lets secret
scanners recognise our keys with few false positives (as GitHub's ``ghp_`` tokens do). Only the
SHA-256 of the whole key and a short visible prefix are stored."""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib

from voucherd.core.errors import InvalidInput

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LIVE = "vd_live_"
TEST = "vd_test_"
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6
VISIBLE_LENGTH = 8  # random characters kept in clear after the type tag
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?", re.IGNORECASE)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate(*, test: bool = False) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return (TEST if test else LIVE) + body + _checksum(body)


def is_well_formed(key: str) -> bool:
    """Shape and checksum only; says nothing about whether the key exists."""
    if len(key) != len(LIVE) + BODY_LENGTH + CHECKSUM_LENGTH or key[: len(LIVE)] not in (LIVE, TEST):
        return False
    rest = key[len(LIVE) :]
    if not all(c in ALPHABET for c in rest):
        return False
    body, checksum = rest[:BODY_LENGTH], rest[BODY_LENGTH:]
    return secrets.compare_digest(_checksum(body), checksum)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def visible_prefix(key: str) -> str:
    return key[: len(LIVE) + VISIBLE_LENGTH]


def checked_origins(origins: list[str]) -> list[str]:
    """The origins a publishable key may be used from: ``scheme://host[:port]`` each (as a browser
    sends ``Origin``), or ``*`` for any (development only). At least one."""
    if not origins:
        raise InvalidInput(
            "A publishable key needs allowed_origins, such as https://shop.example (or * for development).",
            field="allowed_origins",
        )
    checked = []
    for origin in origins:
        origin = origin.strip().rstrip("/")
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise InvalidInput(
                f"allowed_origins: {origin!r} is not an origin such as https://shop.example.",
                field="allowed_origins",
            )
        checked.append(origin.lower())
    return sorted(set(checked))


def origin_allowed(origin: str | None, allowed: list[str] | None) -> bool:
    if not origin or not allowed:
        return False
    return "*" in allowed or origin.strip().rstrip("/").lower() in allowed
