"""VoucherCart's date-times: printed as its examples print them (``2016-12-02T07:57:29+0000``, in
UTC; a discount's ``2016-12-07 14:17:59``), read in that form, in ISO 8601, or as the seed's
``redeemDate`` (``2015-12-05 13:37``), a time without an offset being in the client's timezone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from voucherd.core import clock
from voucherd.core.errors import InvalidInput

_LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def printed(value: datetime | None) -> str | None:
    return None if value is None else clock.isoformat_offset(value)


def parse(value: object, timezone: str, *, field: str) -> datetime | None:
    """A date-time from the wire, or ``None`` for an empty one; 422 naming ``field`` otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a date-time such as 2016-12-02T07:57:29+0000.", field=field)
    text = value.strip()
    parsed: datetime | None = None
    for format_ in _LOCAL_FORMATS:
        try:
            parsed = datetime.strptime(text, format_)
            break
        except ValueError:
            continue
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"{field} must be a date-time such as 2016-12-02T07:57:29+0000, "
                "2016-12-02T07:57:29Z or 2016-12-02 07:57.",
                field=field,
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed.astimezone(UTC)
