"""Staff access tokens (JWT, HS256) and refresh tokens.

An access token carries ``jti`` (the answer's ``identifiedBy``), integer ``iat`` and ``exp``,
``aud`` (the client, as ``client<number>``), ``iss``, ``sub`` (the staff member's id) and
``user`` (their number, as VoucherCart's example shows) and ``gen`` (their token generation, which
a password change moves on). Decoding requires every one of them and
accepts HS256 only, so ``alg=none``, other algorithms, a key id (``kid``: we name none), a future
``nbf`` and tokens without ``exp`` are refused (RELIABILITY S12).

A refresh token is ``RT`` and 256 random bits; the database keeps its SHA-256 only. Its
successor is derived from it (an HMAC under the secret key), so a client that sends the same
refresh token twice within the grace period gets the same new one back although no token is
stored in clear (RELIABILITY S13)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import jwt

from voucherd.config import get_settings

ALGORITHM = "HS256"
ISSUER = "voucherd"
REFRESH_PREFIX = "RT"
_REQUIRED = ["exp", "iat", "jti", "aud", "iss", "sub", "gen"]


@cache
def secret_key() -> bytes:
    """``VOUCHERD_SECRET_KEY`` itself, else the key kept in the data directory, made on first use."""
    settings = get_settings()
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret_key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    try:  # two processes starting at once: the first file wins, the other reads it
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as file:
        file.write(key)
    return key


def audience(client_number: int) -> str:
    return f"client{client_number}"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    token_id: uuid.UUID
    staff_id: uuid.UUID
    audience: str
    issued_at: int
    generation: int


def issue_access(
    *,
    token_id: uuid.UUID,
    generation: int,
    staff_id: uuid.UUID,
    staff_number: int,
    client_number: int,
    now: datetime,
) -> str:
    issued = int(now.timestamp())
    claims = {
        "jti": str(token_id),
        "iat": issued,
        "exp": issued + get_settings().access_token_seconds,
        "aud": audience(client_number),
        "iss": ISSUER,
        "sub": str(staff_id),
        "user": staff_number,
        "gen": generation,  # the member's token generation: a password change ends every token
    }
    return jwt.encode(claims, secret_key(), algorithm=ALGORITHM)


def read_access(token: str, *, verify_expiry: bool = True) -> AccessClaims | None:
    """The claims of a token we signed, else ``None`` (bad signature or algorithm, a missing
    claim, expired or not yet valid). ``aud`` is returned for the caller to check against the
    staff member's client; a refresh reads an expired token (``verify_expiry=False``)."""
    try:
        if jwt.get_unverified_header(token).get("kid") is not None:
            return None  # we sign with one key and name none: a key id is someone else's token
        claims: dict[str, Any] = jwt.decode(
            token,
            secret_key(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": _REQUIRED, "verify_aud": False, "verify_exp": verify_expiry},
        )
        return AccessClaims(
            token_id=uuid.UUID(str(claims["jti"])),
            staff_id=uuid.UUID(str(claims["sub"])),
            audience=str(claims["aud"]),
            issued_at=int(claims["iat"]),
            generation=int(claims["gen"]),
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def new_refresh_token() -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def successor(refresh_token: str) -> str:
    """The refresh token that replaces ``refresh_token``: the same every time it is asked for."""
    mac = hmac.new(secret_key(), b"refresh:" + refresh_token.encode(), hashlib.sha256).digest()
    return REFRESH_PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def digest(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()
