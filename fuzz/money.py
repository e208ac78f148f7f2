"""The money parser: decimal text (forms, VoucherTrack's JSON numbers) to minor units, and
percentages to basis points. Contract: an exact int in range, or InvalidInput."""

from __future__ import annotations

from decimal import Decimal

import atheris

with atheris.instrument_imports(include=["voucherd.core.money"]):
    from voucherd.core.errors import InvalidInput
    from voucherd.core.money import BASIS_POINTS, MAX_MINOR, Amount, exponent, to_minor

CURRENCIES = ["GBP", "JPY", "KWD", "CLF", "USD", "gbp"]


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    currency = fdp.PickValueInList(CURRENCIES)
    text = fdp.ConsumeUnicodeNoSurrogates(64)
    try:
        minor = to_minor(text, currency, field="amount")
    except InvalidInput:
        pass
    else:
        assert isinstance(minor, int) and 0 <= minor <= MAX_MINOR, (text, minor)
        # exact: no rounding of extra decimals, no underflow to 0
        assert Decimal(minor).scaleb(-exponent(currency)) == Decimal(text), (text, currency, minor)
    try:
        basis = Amount.major(text).in_basis_points(field="percent")
    except InvalidInput:
        pass
    else:
        assert isinstance(basis, int) and 0 < basis <= BASIS_POINTS, (text, basis)
        assert Decimal(basis) / 100 == Decimal(text), (text, basis)
    number = fdp.ConsumeInt(8)
    try:
        assert Amount.minor(number).in_minor_units(currency, field="amount") == number
    except InvalidInput:
        assert not 0 <= number <= MAX_MINOR
