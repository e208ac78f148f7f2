"""QR codes as ``data:image/png;base64,...`` URIs.

segno is the reference encoder, but it is pure Python and scores eight masks per symbol (9 ms per
code here; 1.8 ms with a fixed mask). A recipient upload needs 10,000 at once, so ASCII texts take a
table-driven path: segno's own function patterns, format and version information are laid out once
per version (cached), and each code only encodes its bytes, computes the Reed-Solomon blocks and
drops its bits into the cached module positions with mask 0. The result is the very matrix segno
makes with ``error="m", mask=0, boost_error=False, mode="byte"`` (tests compare them); other texts
go through segno. The PNG is 1-bit grayscale written directly. Large batches are spread over a
process pool."""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import os
import struct
import threading
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import zip_longest
from typing import Any

import segno
from segno import consts as _segno_consts
from segno import encoder as _segno_encoder

SCALE = 4  # pixels per module: about 150 px wide for a redemption URL, sharp in an email
BORDER = 4  # the quiet zone the standard asks for, in modules
POOL_THRESHOLD = 500  # below this, encoding in the calling thread is cheaper than the hand-off
_CHUNK = 250


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# segno's internals (untyped): the pattern builders and the ISO tables we lay symbols out with.
encoder: Any = _segno_encoder
consts: Any = _segno_consts
_LEVEL_M = consts.ERROR_LEVEL_M
_MAX_FAST_VERSION = 40


@dataclass(frozen=True)
class _Layout:
    """What every symbol of one version shares (error level M, mask 0)."""

    width: int
    base: tuple[bytes, ...]  # function patterns, format and version information; data modules 0
    positions: tuple[tuple[int, int], ...]  # data modules in placement order
    mask: tuple[int, ...]  # mask 0 over ``positions``
    capacity_bits: int


@lru_cache(maxsize=_MAX_FAST_VERSION)
def _layout(version: int) -> _Layout:
    width = encoder.calc_matrix_size(version)
    matrix = encoder.make_matrix(width, width)
    encoder.add_finder_patterns(matrix, width, width)
    encoder.add_alignment_patterns(matrix, width, width)
    positions: list[tuple[int, int]] = []
    # ISO/IEC 18004 7.7.3: two-module columns, right to left, alternately upwards and downwards,
    # skipping the vertical timing pattern (as segno's add_codewords walks them).
    for right in range(width - 1, 0, -2):
        if right <= 6:
            right -= 1
        for vertical in range(width):
            for z in (0, 1):
                j = right - z
                upwards = ((right & 2) == 0) ^ (j < 6)
                i = (width - 1 - vertical) if upwards else vertical
                if matrix[i][j] == 0x2:
                    positions.append((i, j))
    for i, j in positions:
        matrix[i][j] = 0
    encoder.add_format_info(matrix, version, _LEVEL_M, 0)
    encoder.add_version_info(matrix, version)
    return _Layout(
        width=width,
        base=tuple(bytes(row) for row in matrix),
        positions=tuple(positions),
        mask=tuple(1 if (i + j) % 2 == 0 else 0 for i, j in positions),
        capacity_bits=consts.SYMBOL_CAPACITY[version][_LEVEL_M],
    )


def _codewords(data: bytes) -> tuple[int, list[int]] | None:
    """(version, data codewords) in byte mode at level M, or ``None`` when it does not fit."""
    for version in range(1, _MAX_FAST_VERSION + 1):
        count_bits = 8 if version < 10 else 16
        needed = 4 + count_bits + 8 * len(data)
        capacity = consts.SYMBOL_CAPACITY[version][_LEVEL_M]
        if needed <= capacity:
            break
    else:
        return None
    bits = "0100" + format(len(data), f"0{count_bits}b") + "".join(format(b, "08b") for b in data)
    bits += "0" * min(4, capacity - len(bits))  # terminator
    # To the codeword boundary; like segno, a whole zero codeword when already on it (decoders
    # stop at the terminator, so either is valid, and this keeps our matrix identical to segno's).
    bits += "0" * (8 - len(bits) % 8)
    codewords = [int(bits[k : k + 8], 2) for k in range(0, min(len(bits), capacity), 8)]
    pad = (0xEC, 0x11)
    codewords += [pad[k % 2] for k in range(capacity // 8 - len(codewords))]
    return version, codewords


def _message(version: int, codewords: list[int]) -> str:
    """Data and error-correction codewords, interleaved, as bits (ISO/IEC 18004 7.6)."""
    log, exp = consts.GALIOS_LOG, consts.GALIOS_EXP
    data_blocks: list[list[int]] = []
    error_blocks: list[list[int]] = []
    position = 0
    for info in consts.ECC[version][_LEVEL_M]:
        error_count = info.num_total - info.num_data
        generator = consts.GEN_POLY[error_count]
        for _ in range(info.num_blocks):
            block = codewords[position : position + info.num_data]
            position += info.num_data
            data_blocks.append(block)
            remainder = [*block, *([0] * error_count)]
            for k in range(len(block)):
                coefficient = remainder[k]
                if coefficient:
                    factor = log[coefficient]
                    for n in range(error_count):
                        remainder[k + n + 1] ^= exp[factor + generator[n]]
            error_blocks.append(remainder[len(block) :])
    ordered = [b for group in zip_longest(*data_blocks) for b in group if b is not None]
    ordered += [b for group in zip_longest(*error_blocks) for b in group if b is not None]
    return "".join(format(b, "08b") for b in ordered)


def matrix(text: str) -> Sequence[bytes | bytearray]:
    """The modules of the QR code of ``text`` (1 = dark), error correction M, mask 0."""
    encoded = _codewords(text.encode("ascii")) if text.isascii() else None
    if encoded is None:
        return segno.make(text, error="m", mask=0, micro=False, boost_error=False).matrix  # type: ignore[no-any-return]
    version, codewords = encoded
    layout = _layout(version)
    bits = _message(version, codewords)
    rows = [bytearray(row) for row in layout.base]
    for (i, j), bit, flip in zip(
        layout.positions, bits.ljust(len(layout.positions), "0"), layout.mask, strict=True
    ):
        rows[i][j] = (bit == "1") ^ flip
    return rows


def png(text: str, *, scale: int = SCALE, border: int = BORDER) -> bytes:
    """A PNG of the QR code of ``text``."""
    modules = matrix(text)
    width = (len(modules) + 2 * border) * scale
    quiet = "1" * (border * scale)
    padding = "1" * (-width % 8)
    blank = int("1" * width + padding, 2).to_bytes((width + 7) // 8, "big")
    pieces = ("1" * scale, "0" * scale)  # a light module, a dark one
    raw = bytearray()
    for _ in range(border * scale):
        raw += b"\x00" + blank
    for row in modules:
        # 1-bit grayscale: 0 is black (a dark module), 1 is white.
        bits = quiet + "".join(map(pieces.__getitem__, row)) + quiet + padding
        line = b"\x00" + int(bits, 2).to_bytes((width + 7) // 8, "big")
        for _ in range(scale):
            raw += line
    for _ in range(border * scale):
        raw += b"\x00" + blank
    header = struct.pack(">IIBBBBB", width, width, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(raw), 6))
        + _chunk(b"IEND", b"")
    )


def data_uri(text: str) -> str:
    return "data:image/png;base64," + base64.b64encode(png(text)).decode("ascii")


def data_uris(texts: Sequence[str]) -> list[str]:
    return [data_uri(text) for text in texts]


_pool: ProcessPoolExecutor | None = None


def _exit_with_parent(parent: int) -> None:
    """In a pool worker: end when the server that started it is gone, even after a SIGKILL that
    left no chance to shut the pool down (the worker would otherwise live on, orphaned)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # spawn: forking a process that runs an event loop and driver threads is not safe.
        _pool = ProcessPoolExecutor(
            max_workers=max(os.cpu_count() or 1, 1),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
    return _pool


async def data_uris_async(texts: Sequence[str]) -> list[str]:
    """Many QR codes without holding the event loop: small batches in a thread, large ones
    spread over worker processes."""
    if len(texts) < POOL_THRESHOLD:
        return await asyncio.to_thread(data_uris, list(texts))
    loop = asyncio.get_running_loop()
    executor = _executor()
    parts = await asyncio.gather(
        *(
            loop.run_in_executor(executor, data_uris, list(texts[i : i + _CHUNK]))
            for i in range(0, len(texts), _CHUNK)
        )
    )
    return [uri for part in parts for uri in part]


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
        _pool = None
