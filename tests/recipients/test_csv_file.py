"""The recipients file reader on its own (the dashboard's upload pages are in tests/web)."""

from __future__ import annotations

import pytest

from voucherd.core.errors import InvalidInput
from voucherd.recipients.csv_file import MAX_FILE_BYTES, read_csv
from voucherd.recipients.service import MAX_RECIPIENTS

BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("data", [b"", b" \n\t", BOM, BOM + b"\r\n", "\u00a0\u2028".encode()])
def test_an_empty_file_is_refused_as_empty(data: bytes) -> None:
    # Found by fuzzing (fuzz/csv_file.py): a BOM alone raised IndexError, not InvalidInput.
    with pytest.raises(InvalidInput, match="empty") as refused:
        read_csv(data)
    assert refused.value.field == "file"


def test_excels_csv_utf8_with_its_bom_reads() -> None:
    found = read_csv(BOM + b"Email;First name\r\nann@example.com;Ann\r\n")
    assert found.header == ["Email", "First name"]
    assert found.rows == [(2, ["ann@example.com", "Ann"])]


def test_a_file_one_byte_over_the_limit_is_refused_and_one_at_it_reads() -> None:
    """RELIABILITY S8 (CSV): voucherd's file limit is MAX_FILE_BYTES (900 kB, under the 1 MB
    body limit of the dashboard's forms), not the 50 MB the entry names; at limit+1 it is a 422."""
    header = b"email,note\n"
    row = b"ann@example.com," + b"n" * 83 + b"\n"  # 100 bytes: 9,000 rows, under the row limit
    at_limit = header + row * ((MAX_FILE_BYTES - len(header)) // len(row))
    at_limit += b" " * (MAX_FILE_BYTES - len(at_limit))
    assert len(at_limit) == MAX_FILE_BYTES
    assert read_csv(at_limit).header == ["email", "note"]
    with pytest.raises(InvalidInput, match="larger than 900 kB") as refused:
        read_csv(at_limit + b" ")
    assert refused.value.field == "file"


def test_a_file_one_row_over_the_limit_is_refused_and_one_at_it_reads() -> None:
    """RELIABILITY S8 (CSV rows): MAX_RECIPIENTS (10,000, seed 000's per-request figure) rows,
    not the 10**6 the entry names."""
    rows = [f"p{i}@example.com".encode() for i in range(MAX_RECIPIENTS + 1)]
    assert len(read_csv(b"email\n" + b"\n".join(rows[:-1])).rows) == MAX_RECIPIENTS
    with pytest.raises(InvalidInput, match="At most 10,000 recipients per file; this one has 10,001"):
        read_csv(b"email\n" + b"\n".join(rows))
