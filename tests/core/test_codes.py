"""Code patterns: charset, format, uniqueness, capacity."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voucherd.core.codes import DEFAULT_CHARSET, CodePattern, normalize
from voucherd.core.errors import InvalidInput


def test_default_charset_has_no_look_alikes() -> None:
    assert not set("01OIL") & set(DEFAULT_CHARSET)
    assert len(DEFAULT_CHARSET) == len(set(DEFAULT_CHARSET)) == 31


def test_prefix_and_length_make_the_documented_shape() -> None:
    pattern = CodePattern.build(prefix="jan26", length=6)
    [code] = pattern.generate(1)
    assert re.fullmatch(rf"JAN26-[{DEFAULT_CHARSET}]{{6}}", code)


@settings(max_examples=200, deadline=None)
@given(
    literal=st.lists(st.sampled_from("ABCXYZ0189-_"), max_size=6).map("".join),
    randoms=st.integers(min_value=1, max_value=12),
    tail=st.lists(st.sampled_from("ABC-"), max_size=3).map("".join),
    charset=st.sets(st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"), min_size=2, max_size=36).map(
        lambda s: "".join(sorted(s))
    ),
)
def test_generated_codes_follow_pattern_and_charset(
    literal: str, randoms: int, tail: str, charset: str
) -> None:
    pattern = CodePattern.build(pattern=literal + "#" * randoms + tail, charset=charset)
    codes = pattern.generate(50)
    regex = re.compile(re.escape(literal) + f"[{re.escape(charset)}]{{{randoms}}}" + re.escape(tail))
    assert len(codes) == 50
    assert all(regex.fullmatch(code) for code in codes)


def test_a_million_codes_are_unique_and_uniform() -> None:
    # 31**12 possible codes: by the birthday bound a duplicate among 10**6 has probability
    # n**2 / 2N, about 6e-7, so any duplicate means a broken generator.
    pattern = CodePattern.build(length=12)
    codes = pattern.generate(1_000_000)
    assert len(set(codes)) == len(codes)
    # chi-square over symbol frequencies: every symbol equally likely
    counts = {symbol: 0 for symbol in DEFAULT_CHARSET}
    for code in codes[:100_000]:
        for symbol in code:
            counts[symbol] += 1
    expected = sum(counts.values()) / len(DEFAULT_CHARSET)
    chi_square = sum((observed - expected) ** 2 / expected for observed in counts.values())
    assert chi_square < 80  # 30 degrees of freedom: p < 1e-6 beyond 80


def test_capacity_keeps_the_margin() -> None:
    pattern = CodePattern.build(prefix="JAN26", length=6)
    assert pattern.capacity(20) == int(31**6 / 2**20)
    assert math.isclose(pattern.space_bits, 6 * math.log2(31))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"pattern": "NO-RANDOM"}, "code_pattern"),
        ({"pattern": "A#", "prefix": "X"}, "code_pattern"),
        ({"length": 0}, "code_length"),
        ({"charset": "AAB"}, "code_charset"),
        ({"charset": "abc"}, "code_charset"),
        ({"prefix": "HI THERE"}, "code_pattern"),
        ({"pattern": "#" * 65}, "code_pattern"),
    ],
)
def test_bad_settings_say_which_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        CodePattern.build(**kwargs)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_normalize_trims_and_upper_cases() -> None:
    assert normalize("  summer20-x7k3m2\n") == "SUMMER20-X7K3M2"
