"""Pure rules of gift vouchers: validity from the product's expiry, tax inside a price, and how
what is left is said."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from voucherd.core.money import BASIS_POINTS, display_price


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later, on the month's last day when it is shorter
    (31 January + 1 month = 28 or 29 February)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def validity(
    *,
    expiry_type: str | None,
    interval: str | None,
    period: int | None,
    date_from: datetime | None,
    date_to: datetime | None,
    purchased_at: datetime,
) -> tuple[datetime | None, datetime | None]:
    """When a code bought at ``purchased_at`` may be redeemed: from purchase for a period of days or
    months, the product's dates for an expiry of type time, forever without an expiry."""
    if expiry_type == "period" and period:
        if interval == "days":
            return purchased_at, purchased_at + timedelta(days=period)
        return purchased_at, add_months(purchased_at, period)
    if expiry_type == "time":
        return date_from or purchased_at, date_to
    return purchased_at, None


def split_tax(gross: int, tax_rate: int) -> tuple[int, int]:
    """``(net, tax)`` of a price that includes tax at ``tax_rate`` basis points, the tax rounded
    half-up to the minor unit: 100 at 2500 (25%) is 80 + 20."""
    if not tax_rate:
        return gross, 0
    tax, remainder = divmod(gross * tax_rate, BASIS_POINTS + tax_rate)
    if 2 * remainder >= BASIS_POINTS + tax_rate:
        tax += 1
    return gross - tax, tax


def remaining(balance: int, *, monetary: bool, currency: str) -> str:
    """``1 time left``, ``0 time left`` (the seed's words), ``3 times left``; for a stored value
    the amount, ``£19.00 left``."""
    if monetary:
        return f"{display_price(balance, currency)} left"
    return f"{balance} {'time' if balance <= 1 else 'times'} left"
