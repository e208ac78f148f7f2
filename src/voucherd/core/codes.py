"""Voucher code patterns and generation.

A pattern is literal text with ``#`` where a random symbol goes: ``JAN26-######``. Symbols come from
a charset that by default leaves out look-alikes (0/O, 1/I/L). Randomness is ``secrets``: bytes are
mapped onto the charset with rejection of the out-of-range tail, so every symbol is equally likely,
and the mapping runs in C through ``bytes.translate`` (about 10x cheaper per code than
``secrets.choice``).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from functools import cached_property

from voucherd.core.errors import InvalidInput

DEFAULT_CHARSET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
DEFAULT_LENGTH = 8
PLACEHOLDER = "#"
MAX_CODE_LENGTH = 64


def normalize(code: str) -> str:
    """Codes are matched trimmed and case-insensitively."""
    return code.strip().upper()


@dataclass(frozen=True)
class CodePattern:
    pattern: str
    charset: str = DEFAULT_CHARSET

    @classmethod
    def build(
        cls,
        *,
        pattern: str | None = None,
        prefix: str | None = None,
        length: int | None = None,
        charset: str | None = None,
    ) -> CodePattern:
        """From either an explicit pattern or a prefix and a length (``PREFIX-`` + symbols)."""
        charset = DEFAULT_CHARSET if charset is None else charset
        if pattern is not None:
            if prefix is not None or length is not None:
                raise InvalidInput(
                    "Give either code_pattern or code_prefix/code_length, not both.",
                    field="code_pattern",
                )
            built = cls(normalize(pattern), charset)
        else:
            if length is None:
                length = DEFAULT_LENGTH
            if not 1 <= length <= 32:
                raise InvalidInput("code_length must be between 1 and 32.", field="code_length")
            head = f"{normalize(prefix)}-" if prefix else ""
            built = cls(head + PLACEHOLDER * length, charset)
        built.check()
        return built

    def check(self) -> None:
        symbols = self.charset
        if len(set(symbols)) != len(symbols) or not 2 <= len(symbols) <= 64:
            raise InvalidInput(
                "code_charset must list between 2 and 64 distinct characters.", field="code_charset"
            )
        if not all(c.isascii() and (c.isdigit() or c.isupper()) for c in symbols):
            raise InvalidInput(
                "code_charset may contain only digits and upper-case letters A-Z.",
                field="code_charset",
            )
        if self.random_length == 0:
            raise InvalidInput(
                "code_pattern needs at least one '#' where a random character goes.",
                field="code_pattern",
            )
        if len(self.pattern) > MAX_CODE_LENGTH:
            raise InvalidInput(
                f"Codes may be at most {MAX_CODE_LENGTH} characters long.", field="code_pattern"
            )
        literal = self.pattern.replace(PLACEHOLDER, "")
        if not all(c.isascii() and (c.isalnum() or c in "-_") for c in literal):
            raise InvalidInput(
                "code_pattern and code_prefix may contain only letters, digits, '-' and '_'.",
                field="code_pattern",
            )

    @property
    def random_length(self) -> int:
        return self.pattern.count(PLACEHOLDER)

    @property
    def space_bits(self) -> float:
        """log2 of how many distinct codes the pattern can make."""
        return self.random_length * math.log2(len(self.charset))

    def capacity(self, margin_bits: int) -> int:
        """How many codes the pattern may hold while keeping ``margin_bits`` of sparsity: a
        random guess then hits a live code with probability at most 2**-margin_bits, and a fresh
        draw collides as rarely, so generation never stalls on retries."""
        return int(2 ** (self.space_bits - margin_bits))

    @cached_property
    def _table(self) -> tuple[bytes, bytes]:
        # Accept byte values below the largest multiple of len(charset) that fits in 256.
        size = len(self.charset)
        accepted = 256 - 256 % size
        table = bytes(ord(self.charset[b % size]) if b < accepted else 0 for b in range(256))
        return table, bytes(range(accepted, 256))

    def generate(self, count: int) -> list[str]:
        """``count`` random codes (not checked against each other or the database)."""
        table, rejected = self._table
        per_code = self.random_length
        need = count * per_code
        symbols = b""
        while len(symbols) < need:
            # Ask for ~10% more than needed to absorb rejected bytes in one round.
            raw = secrets.token_bytes((need - len(symbols)) * 11 // 10 + 16)
            symbols += raw.translate(table, rejected)
        text = symbols[:need].decode("ascii")
        run = PLACEHOLDER * per_code
        if run in self.pattern:  # one contiguous run: plain concatenation is fastest
            head, tail = self.pattern.split(run, 1)
            return [head + text[i : i + per_code] + tail for i in range(0, need, per_code)]
        template = self.pattern.replace("%", "%%").replace(PLACEHOLDER, "%s")
        return [template % tuple(text[i : i + per_code]) for i in range(0, need, per_code)]
