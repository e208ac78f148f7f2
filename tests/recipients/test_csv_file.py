"""The recipients file reader on its own (the dashboard's upload pages are in tests/web)."""

from __future__ import annotations

import pytest

from voucherd.core.errors import InvalidInput
from voucherd.recipients.csv_file import read_csv

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
