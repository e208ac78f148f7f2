"""Date-times as the SDK sends them: Python's ``isoformat()`` (an offset, or none: UTC), or a date."""

from __future__ import annotations

from datetime import UTC, date, datetime

from voucherd.api.voucherify.errors import InvalidQuery


def parse(value: str, *, field: str) -> datetime:
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text) if "T" in text or " " in text else None
        if parsed is None:
            day = date.fromisoformat(text)
            parsed = datetime(day.year, day.month, day.day)
    except ValueError:
        raise InvalidQuery(f"{field} must be an ISO 8601 date-time such as 2016-11-16T14:14:31Z.") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
