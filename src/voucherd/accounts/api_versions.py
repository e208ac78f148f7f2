"""The dated versions of the Voucherify API we serve (seed 004): a client may pin one for its
requests that name none; a version we do not serve cannot be pinned."""

from __future__ import annotations

from voucherd.core.errors import InvalidInput

PINNED = "v2018-08-01"  # what the SDK 6.1.1 speaks, and what a client without a choice gets
SERVED = frozenset({PINNED})


def is_served(version: str) -> bool:
    return version in SERVED


def checked(version: str) -> str:
    version = version.strip()
    if not is_served(version):
        raise InvalidInput(
            f"API version {version!r} is not served; use one of {', '.join(sorted(SERVED))}.",
            field="api_version",
        )
    return version
