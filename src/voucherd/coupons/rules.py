"""Pure coupon rules: amounts by type, expiries, and when a code bought now stops working."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from voucherd.campaigns.rules import DiscountType, end_of_day
from voucherd.core.codes import DEFAULT_CHARSET
from voucherd.core.errors import InvalidInput
from voucherd.core.money import BASIS_POINTS


class CouponType(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"


DISCOUNT_TYPES = {CouponType.PERCENT: DiscountType.PERCENTAGE, CouponType.FIXED: DiscountType.FIXED}
COUPON_TYPES = {discount: coupon for coupon, discount in DISCOUNT_TYPES.items()}


class ExpiryType(StrEnum):
    PERIOD = "period"  # so many days or months after each purchase
    TIME = "time"  # between two moments, the same for every code


class Interval(StrEnum):
    DAYS = "days"
    MONTHS = "months"


MAX_PERIOD = {Interval.DAYS: 3660, Interval.MONTHS: 120}  # ten years either way
# Discount codes print as the seed shows them, AAAA-BBBB-CCCC-DDDD: 16 symbols of 32 are 80 bits
# (RELIABILITY S1). Our default charset has 31 (no 0/O, 1/I/L); L comes back: with neither 1 nor I
# in the charset nothing else looks like it, and a typed lower-case l is upper-cased to it.
DISCOUNT_CHARSET = DEFAULT_CHARSET + "L"
DISCOUNT_PATTERN = "####-####-####-####"
TITLE_LENGTH = 200
MAX_FIXED = 1_000_000_000  # minor units: 10 million of the currency (the column is a 32-bit integer)
DESCRIPTION_LENGTH = 5000


def type_of(value: str) -> CouponType:
    try:
        return CouponType(value.strip().lower())
    except ValueError:
        raise InvalidInput("type must be fixed or percent.", field="type") from None


def check_amount(coupon_type: CouponType, amount: int) -> int:
    """Percent in basis points (``750`` is 7.50%), 1 to 10000; fixed in minor units, more than 0."""
    if coupon_type is CouponType.PERCENT and not 1 <= amount <= BASIS_POINTS:
        raise InvalidInput(
            "amount of a percent coupon is in hundredths of a percent (7.50% is 750), from 1 to 10000.",
            field="amount",
        )
    if coupon_type is CouponType.FIXED and not 1 <= amount <= MAX_FIXED:
        raise InvalidInput(
            f"amount of a fixed coupon is in minor units ($30 is 3000), from 1 to {MAX_FIXED}.",
            field="amount",
        )
    return amount


def check_title(title: str) -> str:
    title = title.strip()
    if not 1 <= len(title) <= TITLE_LENGTH:
        raise InvalidInput(f"title must be 1 to {TITLE_LENGTH} characters.", field="title")
    return title


def check_period(interval: str | None, period: int | None) -> tuple[Interval, int]:
    try:
        unit = Interval((interval or "").strip().lower())
    except ValueError:
        raise InvalidInput("expiry.interval must be days or months.", field="expiry.interval") from None
    if period is None or not 1 <= period <= MAX_PERIOD[unit]:
        raise InvalidInput(
            f"expiry.period must be a whole number of {unit.value} from 1 to {MAX_PERIOD[unit]}.",
            field="expiry.period",
        )
    return unit, period


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day (31 January + 1 month: 28/29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def period_end(purchased_at: datetime, interval: Interval, period: int, timezone: str) -> datetime:
    """When a code bought at ``purchased_at`` stops working: the end of the day ``period`` days or
    months after the purchase's day, in the client's timezone (a date-only expiry means the end of
    that day, as everywhere)."""
    day = purchased_at.astimezone(ZoneInfo(timezone)).date()
    last = day + timedelta(days=period) if interval is Interval.DAYS else add_months(day, period)
    return end_of_day(last, timezone)
