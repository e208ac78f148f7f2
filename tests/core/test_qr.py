"""QR data URIs: a valid PNG of the right size, the same from the process pool as inline."""

from __future__ import annotations

import base64
import string
import struct
import zlib

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from voucherd.core import qr

URL = "https://v.easydm.co/redeem/JAN26-X7K3M2"


def test_png_is_well_formed_and_square() -> None:
    data = qr.png(URL)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    assert width == height
    assert (depth, color) == (1, 0)  # 1-bit grayscale
    # every chunk's CRC is right
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind_and_data = data[position + 4 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind_and_data) == crc
        position += 12 + length
    # version 3 (29 modules) or more, plus 4 modules of quiet zone each side, 4 px per module
    assert width >= (29 + 8) * 4


@pytest.mark.parametrize("length", [1, 2, 5, 13, 14, 30, 31, 60, 100, 200, 400])
def test_fast_matrix_is_exactly_segnos(length: int) -> None:
    """Our table-driven path against the reference encoder: the same modules, bit for bit."""
    for text in (f"{URL}{'X' * length}", f"https://a.example/{'k7' * length}"[: 18 + length]):
        reference = segno.make(text, error="m", mask=0, micro=False, boost_error=False, mode="byte")
        assert [bytes(row) for row in qr.matrix(text)] == [bytes(row) for row in reference.matrix]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable, min_size=1, max_size=300))
def test_fast_matrix_matches_segno_for_any_ascii(text: str) -> None:
    reference = segno.make(text, error="m", mask=0, micro=False, boost_error=False, mode="byte")
    assert [bytes(row) for row in qr.matrix(text)] == [bytes(row) for row in reference.matrix]


def test_non_ascii_goes_through_segno() -> None:
    reference = segno.make("https://café.example/x", error="m", mask=0, micro=False, boost_error=False)
    assert [bytes(row) for row in qr.matrix("https://café.example/x")] == [bytes(r) for r in reference.matrix]


def test_data_uri() -> None:
    uri = qr.data_uri(URL)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == qr.png(URL)


async def test_pool_gives_the_same_images_in_order() -> None:
    urls = [f"{URL}{i}" for i in range(qr.POOL_THRESHOLD + 10)]
    try:
        pooled = await qr.data_uris_async(urls)
    finally:
        qr.shutdown()
    assert pooled[:3] == [qr.data_uri(u) for u in urls[:3]]
    assert pooled[-1] == qr.data_uri(urls[-1])
    assert len(pooled) == len(urls)
