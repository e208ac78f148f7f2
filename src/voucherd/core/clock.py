"""The one source of the current time, so tests can freeze it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _now()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Freeze :func:`now` at ``at`` (tests)."""
    global _now
    previous = _now
    _now = lambda: at  # noqa: E731
    try:
        yield
    finally:
        _now = previous


def to_utc(value: datetime) -> datetime:
    """Naive datetimes (SQLite gives those back) are UTC by our storage rule."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def isoformat_z(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second as the seeds show."""
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def isoformat_z_precise(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the microsecond."""
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def isoformat_offset(value: datetime) -> str:
    """ISO 8601 in UTC with a numeric offset, to the second: ``2016-12-02T07:57:29+0000`` (seed 003)."""
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%S+0000")


def local_format(value: datetime, timezone: str) -> str:
    """``2016-12-07 14:17:59`` in ``timezone`` (seed 003's discount ``redeemedAt``)."""
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")
