"""The recipients CSV importer (dashboard uploads): ``read_csv``, then the guessed mapping and
``check_file``. Contract: a file of rows and a result of recipients or of line-numbered problems,
or InvalidInput (``field="file"`` for a file that cannot be read)."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["voucherd.recipients.csv_file", "voucherd.customers.rules"]):
    from voucherd.core.errors import InvalidInput
    from voucherd.recipients.csv_file import check_file, guess_mapping, read_csv


HEADER = b"Email,Mobile,First name,Last name,Postcode,id\n"


def TestOneInput(data: bytes) -> None:
    # A first byte 1 or 2 starts the file with a header (into the rows' checks), 2 with the BOM
    # that Excel's "CSV UTF-8" writes before it too.
    if data[:1] in (b"\x01", b"\x02"):
        data = b"\xef\xbb\xbf"[: 3 * (data[0] - 1)] + HEADER + data[1:]
    elif data[:1] == b"\x03":
        data = b"\xef\xbb\xbf" + data[1:]
    try:
        found = read_csv(data)
    except InvalidInput as error:
        assert error.field == "file", error.field
        return
    lines = [line for line, _ in found.rows]
    assert lines and lines == sorted(set(lines)), lines
    try:
        checked = check_file(found, guess_mapping(found.header), "GBP")
    except InvalidInput:
        return
    assert bool(checked.recipients) != bool(checked.problems)
    assert all(problem.line in lines for problem in checked.problems)
