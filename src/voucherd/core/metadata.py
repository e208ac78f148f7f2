"""Metadata: the client's own JSON object on customers and publications, kept as sent but bounded to
what every reader can take back (orjson renders integers of 64 bits at most; PostgreSQL's JSONB
and SQLite differ on anything else)."""

from __future__ import annotations

import math
from typing import Any

from voucherd.core.errors import InvalidInput

# orjson renders -2**63 .. 2**64 - 1; a wider integer stored would fail every later read.
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**64 - 1


def checked(value: Any, *, field: str = "metadata") -> dict[str, Any] | None:
    """``value`` if it is ``None`` or a JSON object whose numbers every reader can render, else
    :class:`InvalidInput` naming the first bad entry."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(f"{field} must be a JSON object.", field=field)
    _check(value, field)
    return value


def _check(value: Any, path: str) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not MIN_INTEGER <= value <= MAX_INTEGER:
        raise InvalidInput(
            f"{path}: integers must be between {MIN_INTEGER} and {MAX_INTEGER}; send larger ones as text.",
            field=path,
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{path}: numbers must be finite.", field=path)
    if isinstance(value, dict):
        for key, item in value.items():
            _check(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
