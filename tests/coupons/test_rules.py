"""Coupon rules without HTTP: the discount code's form and strength, expiries counted from the
purchase, amounts by type."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from voucherd.core.codes import CodePattern
from voucherd.core.errors import InvalidInput
from voucherd.coupons import rules
from voucherd.coupons.rules import CouponType, Interval


def test_discount_codes_print_as_the_seed_shows_them_with_80_bits() -> None:
    pattern = CodePattern.build(pattern=rules.DISCOUNT_PATTERN, charset=rules.DISCOUNT_CHARSET)
    assert len(set(rules.DISCOUNT_CHARSET)) == 32
    assert not set("01IO") & set(rules.DISCOUNT_CHARSET)  # look-alikes stay out
    assert pattern.space_bits == 80
    assert pattern.capacity(20) == 2**60  # the feasibility check leaves room for 2**60 codes
    codes = pattern.generate(1000)
    assert all(re.fullmatch(r"[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}", code) for code in codes)
    assert len(set(codes)) == 1000


@pytest.mark.parametrize(
    ("bought", "interval", "period", "timezone", "ends"),
    [
        # the end of the day, N days after the purchase's day, in the client's timezone
        (datetime(2026, 3, 1, 15, tzinfo=UTC), Interval.DAYS, 5, "Europe/London", "2026-03-06T23:59:59"),
        # 23:30 UTC on 1 July is already 2 July in London (summer time)
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), Interval.DAYS, 1, "Europe/London", "2026-07-03T22:59:59"),
        (datetime(2026, 1, 31, 12, tzinfo=UTC), Interval.MONTHS, 1, "UTC", "2026-02-28T23:59:59"),
        (datetime(2024, 1, 31, 12, tzinfo=UTC), Interval.MONTHS, 1, "UTC", "2024-02-29T23:59:59"),
        (datetime(2026, 11, 15, 12, tzinfo=UTC), Interval.MONTHS, 3, "UTC", "2027-02-15T23:59:59"),
    ],
)
def test_a_period_ends_at_the_end_of_its_last_day(
    bought: datetime, interval: Interval, period: int, timezone: str, ends: str
) -> None:
    end = rules.period_end(bought, interval, period, timezone).astimezone(UTC)
    assert end.strftime("%Y-%m-%dT%H:%M:%S") == ends


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert rules.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert rules.add_months(date(2026, 12, 5), 1) == date(2027, 1, 5)
    assert rules.add_months(date(2026, 5, 31), 13) == date(2027, 6, 30)


@pytest.mark.parametrize(
    ("coupon_type", "amount", "ok"),
    [
        (CouponType.PERCENT, 1, True),
        (CouponType.PERCENT, 750, True),
        (CouponType.PERCENT, 10000, True),
        (CouponType.PERCENT, 10001, False),
        (CouponType.PERCENT, 0, False),
        (CouponType.FIXED, 3000, True),
        (CouponType.FIXED, 0, False),
        (CouponType.FIXED, -5, False),
        (CouponType.FIXED, rules.MAX_FIXED + 1, False),
    ],
)
def test_amounts_by_type(coupon_type: CouponType, amount: int, ok: bool) -> None:
    if ok:
        assert rules.check_amount(coupon_type, amount) == amount
    else:
        with pytest.raises(InvalidInput) as refused:
            rules.check_amount(coupon_type, amount)
        assert refused.value.field == "amount"


def test_types_and_periods_name_their_field() -> None:
    assert rules.type_of(" Percent ") is CouponType.PERCENT
    with pytest.raises(InvalidInput) as bad_type:
        rules.type_of("bogo")
    assert bad_type.value.field == "type"
    assert rules.check_period("months", 120) == (Interval.MONTHS, 120)
    for interval, period, field in (("weeks", 1, "expiry.interval"), ("months", 121, "expiry.period")):
        with pytest.raises(InvalidInput) as bad:
            rules.check_period(interval, period)
        assert bad.value.field == field
