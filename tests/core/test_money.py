"""RELIABILITY M2 and M3: integer money, half-up rounding, capped discounts."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voucherd.core.errors import InvalidInput
from voucherd.core.money import (
    MAX_MINOR,
    Amount,
    basis_points_to_percent,
    describe_amount,
    percent_to_basis_points,
    percentage_of,
    to_decimal,
    to_minor,
)


def reference(amount: int, basis_points: int, *, half_even: bool = False) -> int:
    rounding = ROUND_HALF_EVEN if half_even else ROUND_HALF_UP
    value = (Decimal(amount) * basis_points / 10_000).quantize(Decimal(1), rounding=rounding)
    return min(int(value), amount)


@pytest.mark.parametrize(
    ("amount", "basis_points", "half_up", "half_even"),
    [
        (1999, 2500, 500, 500),  # 25% of 19.99 (saleor#12040)
        (3490, 1500, 524, 524),  # 15% of 34.90: floats give 523 (recurly-js#993)
        (1945, 1000, 195, 194),
        (4, 1250, 1, 0),
        (25, 1000, 3, 2),
        (100, 3300, 33, 33),  # JPY 100 at 33%
        (4599, 2000, 920, 920),  # the seed's 45.99 at 20% = 9.20
        (0, 5000, 0, 0),
        (12345, 10_000, 12345, 12345),  # 100% off is the whole amount, never more
    ],
)
def test_m2_rounding(amount: int, basis_points: int, half_up: int, half_even: int) -> None:
    assert percentage_of(amount, basis_points) == half_up
    assert percentage_of(amount, basis_points, half_even=True) == half_even


def test_m2_currency_exponents() -> None:
    assert to_minor("45.99", "GBP", field="x") == 4599
    assert to_minor("100", "JPY", field="x") == 100
    assert to_minor("1.234", "KWD", field="x") == 1234
    assert to_decimal(1234, "KWD") == Decimal("1.234")
    assert str(to_decimal(920, "GBP")) == "9.20"
    with pytest.raises(InvalidInput, match="more than 0 decimal places"):
        to_minor("10.5", "JPY", field="x")
    with pytest.raises(InvalidInput, match="too large"):
        to_minor(str(MAX_MINOR + 1), "JPY", field="x")


def test_descriptions_of_amounts() -> None:
    assert describe_amount(1000, "GBP") == "£10"
    assert describe_amount(1050, "GBP") == "£10.50"
    assert describe_amount(500, "JPY") == "¥500"
    assert describe_amount(500, "CHF") == "5 CHF"
    assert basis_points_to_percent(2000) == 20
    assert str(basis_points_to_percent(1250)) == "12.5"


def test_amount_in_minor_units_refuses_fractions() -> None:
    with pytest.raises(InvalidInput):
        Amount.minor(10.5).in_minor_units("GBP", field="x")  # type: ignore[arg-type]
    assert Amount.minor(1999).in_minor_units("GBP", field="x") == 1999


# Found by fuzzing (fuzz/money.py): decimal arithmetic trapped Overflow on a huge exponent, rounded
# digits past the context's 28 to an accepted amount, and underflowed tiny ones to 0.
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1e999999", "too large"),
        ("1e9999999999", "too large"),
        ("10000000000.01", "too large"),
        ("1.0000000000000000000000000000000001", "decimal places"),
        ("1e-999999999", "decimal places"),
    ],
)
def test_m8_amounts_are_exact_or_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        to_minor(text, "GBP", field="amount")


def test_exact_amounts_with_any_spelling_convert() -> None:
    assert to_minor("0e999999999", "GBP", field="a") == 0
    assert to_minor("0.10000000000000000000000000000000000", "GBP", field="a") == 10
    assert to_minor("1E+2", "JPY", field="a") == 100
    assert to_minor("10000000000", "GBP", field="a") == MAX_MINOR
    assert to_minor("100000000.0000", "CLF", field="a") == MAX_MINOR


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("9e999999", "at most 100"),
        ("12.50000000000000000000000000001", "two decimal places"),
        ("1e-99999999999", "two decimal places"),
        ("100.01", "at most 100"),
    ],
)
def test_percentages_are_exact_or_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        percent_to_basis_points(text, field="percent")
    assert percent_to_basis_points("12.50000", field="percent") == 1250


@settings(max_examples=2000, deadline=None)
@given(
    amount=st.integers(min_value=0, max_value=MAX_MINOR),
    basis_points=st.integers(min_value=0, max_value=10_000),
    half_even=st.booleans(),
)
def test_m3_percentage_matches_decimal_reference(amount: int, basis_points: int, half_even: bool) -> None:
    discount = percentage_of(amount, basis_points, half_even=half_even)
    assert 0 <= discount <= amount
    assert discount == reference(amount, basis_points, half_even=half_even)


def test_m3_a_million_random_examples() -> None:
    draw = random.Random(20261122)
    for _ in range(1_000_000):
        amount = draw.randrange(0, MAX_MINOR + 1)
        basis_points = draw.randrange(0, 10_001)
        discount = percentage_of(amount, basis_points)
        assert 0 <= discount <= amount
        if amount % 97 == 0:  # a Decimal cross-check on a slice keeps this test fast
            assert discount == reference(amount, basis_points)
