"""Money in integer minor units; percentages in basis points. No floats anywhere.

Dialects convert at their edge: VoucherTrack speaks decimals (``45.99``), which become minor units
here with :func:`to_minor` and go back out with :func:`to_decimal`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from voucherd.core.errors import InvalidInput

# ISO 4217 currencies whose minor unit is not 2 decimals.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    "CLF": 4,
    "UYW": 4,
}
_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "AUD": "A$", "CAD": "C$"}

MAX_MINOR = 10**12  # amounts beyond this are refused (RELIABILITY M8)
BASIS_POINTS = 10_000  # 100%


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def is_currency(code: str) -> bool:
    return len(code) == 3 and code.isascii() and code.isalpha()


def _number(amount: Decimal | int | str, *, field: str) -> Decimal:
    """The exact decimal of ``amount``: finite and not negative."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a number.", field=field) from None
    if not value.is_finite():
        raise InvalidInput(f"{field} must be a finite number.", field=field)
    if value < 0:
        raise InvalidInput(f"{field} must not be negative.", field=field)
    return value


def _places_beyond(value: Decimal, places: int) -> bool:
    """Whether a finite ``value`` has a non-zero digit after ``places`` decimals. Exact, from its
    digits: decimal arithmetic would round to the context's 28 digits (``1.000…0001`` became
    100 pence) or trap Overflow on ``1e999999`` (both found by fuzzing)."""
    digits, exp = value.as_tuple().digits, int(value.as_tuple().exponent)
    below = -places - exp  # how many of the last digits come after the allowed places
    return below > 0 and any(digits[-below:])


def _whole(value: Decimal, places: int) -> int:
    """``value * 10**places`` for a value with at most ``places`` decimals and at most 13 digits."""
    return int(value.quantize(Decimal(1).scaleb(-places)).scaleb(places))


def to_minor(amount: Decimal | int | str, currency: str, *, field: str) -> int:
    """Exact conversion of a decimal amount to minor units; more decimals than the currency has
    is an error, not a rounding."""
    value = _number(amount, field=field)
    places = exponent(currency)
    if _places_beyond(value, places):
        raise InvalidInput(
            f"{field} has more than {places} decimal places, which {currency} does not allow.",
            field=field,
        )
    if value > Decimal(MAX_MINOR).scaleb(-places):
        raise InvalidInput(f"{field} is too large.", field=field)
    return _whole(value, places)


def to_decimal(minor: int, currency: str) -> Decimal:
    """Minor units back to a decimal with the currency's places (``920`` GBP -> ``9.20``)."""
    return Decimal(minor).scaleb(-exponent(currency))


def percent_to_basis_points(value: Decimal | int | str, *, field: str) -> int:
    try:
        percent = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a number.", field=field) from None
    if not percent.is_finite() or _places_beyond(percent, 2):
        raise InvalidInput(f"{field} allows at most two decimal places.", field=field)
    if not 0 < percent <= BASIS_POINTS // 100:
        raise InvalidInput(f"{field} must be more than 0 and at most 100.", field=field)
    return _whole(percent, 2)


def basis_points_to_percent(basis_points: int) -> Decimal:
    """``2000`` -> ``20``, ``1250`` -> ``12.5``."""
    value = Decimal(basis_points) / 100
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def percentage_of(amount_minor: int, basis_points: int, *, half_even: bool = False) -> int:
    """``amount * basis_points / 10000`` rounded to the minor unit, half-up by default.

    Integer arithmetic: 15% of 3490 is 523.5 -> 524 (floats give 523.4999... -> 523)."""
    numerator = amount_minor * basis_points
    quotient, remainder = divmod(numerator, BASIS_POINTS)
    twice = 2 * remainder
    if twice > BASIS_POINTS or (twice == BASIS_POINTS and (not half_even or quotient % 2 == 1)):
        quotient += 1
    return min(quotient, amount_minor)


def describe_amount(minor: int, currency: str) -> str:
    """``1000`` GBP -> ``£10``, ``1050`` -> ``£10.50``; unknown symbols fall back to the code."""
    value = to_decimal(minor, currency)
    text = f"{value:f}" if value != value.to_integral_value() else f"{int(value)}"
    symbol = _SYMBOLS.get(currency.upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def display_price(minor: int, currency: str) -> str:
    """A price as a shop prints it, with every decimal of the currency: ``1999`` USD ->
    ``$19.99``, ``5000`` GBP -> ``£50.00``; unknown symbols fall back to the code."""
    text = f"{to_decimal(minor, currency):f}"
    symbol = _SYMBOLS.get(currency.upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


class Amount:
    """An amount as a dialect received it: a decimal in the currency's major unit (VoucherTrack's
    ``45.99``) or an integer of minor units (VoucherCart's ``4599``). It becomes minor units once
    the currency is known (VoucherTrack requests name none: the campaign's currency applies)."""

    __slots__ = ("_minor", "_value")

    def __init__(self, value: Decimal | int | str, *, minor_units: bool) -> None:
        self._value = value
        self._minor = minor_units

    @classmethod
    def major(cls, value: Decimal | int | str) -> Amount:
        return cls(value, minor_units=False)

    @classmethod
    def minor(cls, value: int) -> Amount:
        return cls(value, minor_units=True)

    def in_minor_units(self, currency: str, *, field: str) -> int:
        if not self._minor:
            return to_minor(self._value, currency, field=field)
        value = self._value
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(f"{field} must be a whole number of minor units.", field=field)
        if not 0 <= value <= MAX_MINOR:
            raise InvalidInput(f"{field} must be between 0 and {MAX_MINOR}.", field=field)
        return value

    def in_basis_points(self, *, field: str) -> int:
        """A percentage: major is percent (``12.5``), minor is basis points (``1250``)."""
        if not self._minor:
            return percent_to_basis_points(self._value, field=field)
        value = self._value
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= BASIS_POINTS:
            raise InvalidInput(f"{field} must be whole basis points from 1 to 10000.", field=field)
        return value
