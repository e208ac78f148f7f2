"""What a webhook body looks like, per payload format: each endpoint names the format its receiver
was written for (the dialect it was created through), and the fan-out renders each event once per
format. A dialect whose receivers expect other bodies adds its renderer to ``FORMATS``.

VoucherTrack's (``vouchertrack``, the default): ``{"event": <type>, "timestamp": <ISO 8601 Z>,
"data": {...}}``.

Events store money as ``<name>_minor`` integers beside ``currency``; the body carries VoucherTrack
decimals (``transaction_amount_minor: 4599`` -> ``transaction_amount: 45.99``). Everything else in
``data`` passes through unchanged, so event types added later need no change here. ``data`` also
gets ``created_at``: when the event was written, to the microsecond (``timestamp`` is the same
instant to the second, as the seed shows it). The top level stays exactly the documented three
keys; an event about a voucher already carries ``voucher_id`` and ``sequence`` in its data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from voucherd.core.clock import isoformat_z, isoformat_z_precise
from voucherd.core.money import to_decimal

MINOR_SUFFIX = "_minor"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def webhook_data(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with money in decimals of its currency (kept as integers when no currency)."""
    currency = data.get("currency")
    result: dict[str, Any] = {}
    for key, value in data.items():
        if (
            key.endswith(MINOR_SUFFIX)
            and isinstance(currency, str)
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            result[key.removesuffix(MINOR_SUFFIX)] = to_decimal(value, currency)
        else:
            result[key] = value
    return result


def webhook_body(event_type: str, created_at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    body_data = webhook_data(data)
    body_data["created_at"] = isoformat_z_precise(created_at)
    return {"event": event_type, "timestamp": isoformat_z(created_at), "data": body_data}


def _vouchertrack(event_type: str, created_at: datetime, data: dict[str, Any]) -> str:
    return orjson.dumps(webhook_body(event_type, created_at, data), default=_default).decode("utf-8")


Renderer = Callable[[str, datetime, dict[str, Any]], str]
VOUCHERTRACK = "vouchertrack"
FORMATS: dict[str, Renderer] = {VOUCHERTRACK: _vouchertrack}


def render(
    event_type: str, created_at: datetime, data: dict[str, Any], payload_format: str = VOUCHERTRACK
) -> str:
    """The exact body every attempt of this event sends to a receiver of ``payload_format``."""
    return FORMATS[payload_format](event_type, created_at, data)
