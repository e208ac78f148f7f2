"""Gift voucher codes: bearer credentials for money, so more random than campaign codes.

A code is 19 random symbols of Crockford's base-32 alphabet (95 bits, from ``secrets``) and one
check symbol (Luhn mod 32), printed in five groups of four: ``7KQ2-M9XD-4TNB-HC6W-8RZ3``. The
check symbol catches every mistyped single symbol and every swap of two neighbours but one in 31
before any lookup. Typing is forgiving: case, spaces and hyphens do not matter, and the letters
Crockford maps (O to 0, I and L to 1) read as the digits they look like."""

from __future__ import annotations

import secrets

from voucherd.giftcards.errors import MistypedCode

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_SYMBOLS = 19
LENGTH = RANDOM_SYMBOLS + 1
GROUP = 4
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


def check_symbol(symbols: str) -> str:
    """Luhn mod N over ``symbols`` (the symbol that makes the whole code check)."""
    total = 0
    factor = 2
    for symbol in reversed(symbols):
        addend = factor * _VALUE[symbol]
        total += addend // len(ALPHABET) + addend % len(ALPHABET)
        factor = 1 if factor == 2 else 2
    return ALPHABET[(len(ALPHABET) - total % len(ALPHABET)) % len(ALPHABET)]


def _grouped(symbols: str) -> str:
    return "-".join(symbols[i : i + GROUP] for i in range(0, len(symbols), GROUP))


def new_code() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_SYMBOLS))
    return _grouped(symbols + check_symbol(symbols))


def parse(typed: str) -> str | None:
    """The code as stored when ``typed`` has a gift voucher code's shape and check symbol."""
    symbols = typed.strip().upper().translate(_READ_AS)
    if len(symbols) != LENGTH or any(symbol not in _VALUE for symbol in symbols):
        return None
    if check_symbol(symbols[:-1]) != symbols[-1]:
        return None
    return _grouped(symbols)


def canonical(typed: str) -> str:
    """The code as stored, from what a person typed; :class:`MistypedCode` (422) when it cannot be
    one of ours, so a typo costs no lookup."""
    code = parse(typed)
    if code is None:
        raise MistypedCode()
    return code
