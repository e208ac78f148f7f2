"""Pure webhook rules: which URLs may receive, how bodies are signed, when to try again.

Signing (both on every delivery, see docs/decisions.md "Webhooks"):
- ``X-VoucherTrack-Signature: sha256=<hex HMAC-SHA256(key, raw body)>``, the documented header. The
  key is the endpoint's secret exactly as shown at creation (``whsec_...``), as UTF-8 bytes.
- Standard Webhooks: ``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``
  where the key is the base64-decoded part of the secret after ``whsec_``.
During a rotation overlap both secrets sign: each header lists two signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from voucherd.core.errors import InvalidInput

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret
SECRET_BYTES = 32
MAX_URL_LENGTH = 2048
JITTER = 0.1
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeUrl(InvalidInput):
    code = "webhook_url_not_allowed"


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes (the Standard Webhooks secret format)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _standard_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def vouchertrack_signature(secrets_: Sequence[str], body: bytes) -> str:
    """``sha256=<hex>`` per secret, newest first, joined by ``,`` (one value outside rotations)."""
    return ",".join(
        "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest() for secret in secrets_
    )


def standard_signature(secrets_: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>`` per secret, space-separated (Standard Webhooks 1.0)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(_standard_key(s), signed, hashlib.sha256).digest()).decode("ascii")
        for s in secrets_
    )


def verify_vouchertrack(secret: str, body: bytes, header: str) -> bool:
    """The receiver's recipe: accept when any listed signature matches (constant-time compare).
    Any header is only matched or not: compared as UTF-8 bytes, since ``compare_digest`` refuses
    ``str`` with non-ASCII characters (a TypeError, found by fuzzing)."""
    expected = b"sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().encode()
    found = False
    for candidate in header.split(","):
        found |= hmac.compare_digest(candidate.strip().encode("utf-8", "surrogatepass"), expected)
    return found


# --- retry schedule ---------------------------------------------------------------------------


def next_delay(schedule: Sequence[float], attempt: int, *, retry_after: float | None = None) -> float | None:
    """Seconds until the attempt after ``attempt`` (1-based), with up to 10% jitter either way;
    ``None`` when the schedule is exhausted. A receiver's ``Retry-After`` is honoured when longer."""
    if attempt > len(schedule):
        return None
    base = float(schedule[attempt - 1])
    delay = base * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def parse_retry_after(value: str | None, *, limit: float = 86400.0) -> float | None:
    """Seconds from ``Retry-After`` (delta-seconds only; dates are ignored), capped at a day."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds < 0 or seconds != seconds:
        return None
    return min(seconds, limit)


# --- outbound URL safety (SSRF) ---------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A checked URL: scheme, host name, port, and the path with query to request."""

    scheme: str
    host: str
    port: int
    path: str


def parse_url(url: str) -> Target:
    """Shape checks that need no DNS: http(s), a host, no user info, a sane length."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeUrl("url is required.", field="url")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"url must be at most {MAX_URL_LENGTH} characters.", field="url")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrl(f"url is not a valid URL ({error}).", field="url") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("url must start with https:// (or http://).", field="url")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeUrl("url must not contain a user name or password.", field="url")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("url must name a host.", field="url")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), path=path)


def is_allowed_address(address: IPAddress, allowed: Iterable[Network] = ()) -> bool:
    """Publicly routable, or inside an explicitly allowed network."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for network in allowed:
        if address.version == network.version and address in network:
            return True
    return address.is_global and not address.is_multicast


def allowed_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally, in every form a resolver accepts (``127.1``,
    ``2130706433``, ``0177.0.0.1``, ``[::1]``), or ``None`` for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_addresses(host: str, addresses: Sequence[IPAddress], allowed: Iterable[Network]) -> None:
    """Refuse when any address the host resolves to is not allowed (private, loopback, link-local,
    metadata, reserved)."""
    networks = tuple(allowed)
    for address in addresses:
        if not is_allowed_address(address, networks):
            raise UnsafeUrl(
                f"url must point to a public address; {host} resolves to {address}, which is "
                "private, loopback, link-local or reserved.",
                field="url",
            )
