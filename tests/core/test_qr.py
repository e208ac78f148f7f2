"""QR data URIs: a valid PNG of the right size, the same from the process pool as inline."""

from __future__ import annotations

import base64
import string
import struct
import zlib

import pytest
import zxingcpp
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


def _scan(png: bytes) -> str:
    """Read our PNG back (1-bit grayscale, filter 0) and scan it with zxing-cpp's reader."""
    width, height = struct.unpack(">II", png[16:24])
    position, idat = 8, b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        if png[position + 4 : position + 8] == b"IDAT":
            idat += png[position + 8 : position + 8 + length]
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = (width + 7) // 8 + 1
    pixels = bytearray()
    for row in range(height):
        line = raw[row * stride : (row + 1) * stride]
        assert line[0] == 0  # no filter
        bits = int.from_bytes(line[1:], "big")
        total = (stride - 1) * 8
        pixels += bytes(255 if bits >> (total - 1 - x) & 1 else 0 for x in range(width))
    found = zxingcpp.read_barcode(memoryview(bytes(pixels)).cast("B", (height, width)))
    assert found is not None
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    return str(found.text)


@pytest.mark.parametrize("length", [1, 2, 5, 13, 14, 30, 31, 60, 100, 200, 400])
def test_the_png_scans_back_to_its_text(length: int) -> None:
    for text in (f"{URL}{'X' * length}", f"https://a.example/{'k7' * length}"[: 18 + length]):
        assert _scan(qr.png(text)) == text


@settings(max_examples=100, deadline=None)
@given(
    st.text(
        alphabet=string.ascii_letters + string.digits + string.punctuation + " ", min_size=1, max_size=300
    )
)
def test_any_ascii_text_scans_back(text: str) -> None:
    assert _scan(qr.png(text)) == text


def test_non_ascii_scans_back() -> None:
    assert _scan(qr.png("https://café.example/x")) == "https://café.example/x"


def test_quiet_zone_and_scale() -> None:
    modules = qr.matrix(URL)
    width = struct.unpack(">I", qr.png(URL)[16:20])[0]
    assert width == (len(modules) + 2 * qr.BORDER) * qr.SCALE
    assert modules.any()


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
