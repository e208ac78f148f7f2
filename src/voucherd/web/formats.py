"""How the signed-in pages write a moment for people, in the business's timezone: one style on
every page (``7 December 2026`` and ``7 December 2026, 13:50``), never an ISO timestamp."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def day_text(value: datetime | None, timezone: str) -> str:
    """``7 December 2026``; empty for no moment."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(timezone))
    return f"{local.day} {local:%B %Y}"


def moment_text(value: datetime | None, timezone: str, *, seconds: bool = False) -> str:
    """``7 December 2026, 13:50`` (``13:50:07`` with ``seconds``, for a log); empty for no moment."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(timezone))
    return f"{local.day} {local:%B %Y, %H:%M{':%S' if seconds else ''}}"
