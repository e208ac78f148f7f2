"""Outbound HTTP for deliveries, with the SSRF check at connect time.

The host is resolved here, every address is checked, and the request goes to the checked address
(the ``Host`` header and TLS SNI keep the name, so certificates still verify). A name that resolved
to a public address when the endpoint was registered and to 127.0.0.1 now (DNS rebinding) is
therefore refused before a byte is sent. Redirects are never followed."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from voucherd.webhooks import rules
from voucherd.webhooks.rules import IPAddress, Network, UnsafeUrl


class Unresolvable(Exception):
    """The host name has no address (now)."""


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (literal addresses in any accepted form, without DNS)."""
    literal = rules.literal_address(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Unresolvable(f"{host} does not resolve ({error})") from None
    addresses: list[IPAddress] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        address = ipaddress.ip_address(text)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Unresolvable(f"{host} does not resolve")
    return addresses


async def check_url(url: str, allowed: tuple[Network, ...]) -> str:
    """Registration check: the URL's shape, and every address its host resolves to now. A name
    that does not resolve yet is accepted: every connection is checked again."""
    target = rules.parse_url(url)
    try:
        addresses = await resolve(target.host, target.port)
    except Unresolvable:
        return url.strip()
    rules.check_addresses(target.host, addresses, allowed)
    return url.strip()


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    response_code: int | None
    duration_ms: int
    error: str | None = None
    retry_after: float | None = None

    @property
    def gone(self) -> bool:
        return self.response_code == 410


def new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,  # no proxy from the environment: the address we checked is the one we use
        limits=httpx.Limits(max_connections=512, max_keepalive_connections=64),
        headers={"User-Agent": "voucherd-webhooks"},
    )


async def post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,  # noqa: ASYNC109 - one deadline for resolve, connect, send and answer
    allowed: tuple[Network, ...],
) -> Outcome:
    """One attempt: resolve, check, connect to the checked address, POST, read the status."""
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        target = rules.parse_url(url)
        async with asyncio.timeout(timeout):
            addresses = await resolve(target.host, target.port)
            rules.check_addresses(target.host, addresses, allowed)
            address = addresses[0]
            host = f"[{address}]" if address.version == 6 else str(address)
            default_port = target.port == (443 if target.scheme == "https" else 80)
            host_header = target.host if default_port else f"{target.host}:{target.port}"
            if ":" in target.host:  # an IPv6 literal
                host_header = f"[{target.host}]" + ("" if default_port else f":{target.port}")
            request = client.build_request(
                "POST",
                f"{target.scheme}://{host}:{target.port}{target.path}",
                content=body,
                headers={**headers, "Host": host_header, "Content-Type": "application/json"},
                timeout=httpx.Timeout(timeout),
                extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
            )
            response = await client.send(request, stream=True)
            await response.aclose()
    except TimeoutError:
        return Outcome(False, None, elapsed(), f"timed out after {timeout:g} s")
    except UnsafeUrl as error:
        return Outcome(False, None, elapsed(), f"refused: {error.message}"[:500])
    except Unresolvable as error:
        return Outcome(False, None, elapsed(), str(error)[:500])
    except httpx.TimeoutException:
        return Outcome(False, None, elapsed(), f"timed out after {timeout:g} s")
    except httpx.HTTPError as error:
        return Outcome(False, None, elapsed(), f"{type(error).__name__}: {error}"[:500])
    except OSError as error:
        return Outcome(False, None, elapsed(), f"{type(error).__name__}: {error}"[:500])
    code = response.status_code
    succeeded = 200 <= code < 300
    error_text = None
    if not succeeded:
        error_text = f"HTTP {code}" + (" (redirects are not followed)" if 300 <= code < 400 else "")
    return Outcome(
        succeeded,
        code,
        elapsed(),
        error_text,
        rules.parse_retry_after(response.headers.get("retry-after")),
    )
