"""Pure campaign rules: descriptions, validity windows."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from voucherd.core.money import basis_points_to_percent, describe_amount


class DiscountType(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"
    FREE_ITEM = "free_item"


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


def describe_discount(discount_type: DiscountType, value: int, currency: str) -> str:
    """The generated ``discount_description``: "20% off your order", "£10 off your order"."""
    if discount_type is DiscountType.PERCENTAGE:
        return f"{basis_points_to_percent(value)}% off your order"
    if discount_type is DiscountType.FIXED:
        return f"{describe_amount(value, currency)} off your order"
    return "A free item with your order"


def end_of_day(day: date, timezone: str) -> datetime:
    """A date-only expiry lasts to the end of that day in the client's timezone."""
    return datetime.combine(day, time.max, tzinfo=ZoneInfo(timezone))


def start_of_day(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone))
