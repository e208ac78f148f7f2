"""A recipients file as a spreadsheet saves it (CSV, UTF-8, comma, semicolon or tab), its columns
mapped to the upload's fields, and every problem of it found before anything is saved: the same
checks as the API's upload (:func:`voucherd.recipients.service.check_rows`), each reported with
the file's line number."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field

from voucherd.core.errors import InvalidInput
from voucherd.recipients.errors import RecipientsInvalid
from voucherd.recipients.schemas import RecipientInput
from voucherd.recipients.service import MAX_RECIPIENTS, check_rows

# The upload's fields a column can fill, with the words people put in headers for each.
FIELDS: dict[str, str] = {
    "email": "Email",
    "forename": "First name",
    "surname": "Last name",
    "mobile": "Mobile",
    "postcode": "Postcode",
    "external_id": "Your own id",
}
_HEADER_WORDS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address", "e-mail address", "mail"),
    "forename": ("forename", "first name", "firstname", "first_name", "given name", "name"),
    "surname": ("surname", "last name", "lastname", "last_name", "family name"),
    "mobile": ("mobile", "phone", "mobile number", "cell", "telephone", "phone number"),
    "postcode": ("postcode", "post code", "zip", "zip code", "postal code"),
    "external_id": ("external_id", "external id", "id", "customer id", "customer_id", "reference"),
}
MAX_FILE_BYTES = 900_000  # under the 1 MB every dashboard form takes, with room for the form


@dataclass(frozen=True)
class CsvFile:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number in the file, cells)


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str  # one of FIELDS, or "" for the row as a whole
    reason: str


@dataclass(frozen=True)
class Checked:
    """A file read with a mapping: its recipients, or every problem (then nothing may be saved)."""

    recipients: list[RecipientInput]
    problems: list[RowProblem] = field(default_factory=list)


def read_csv(data: bytes) -> CsvFile:
    """The header and the non-blank rows, with their line numbers; a file that is no CSV text is
    refused (``field="file"``)."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(
            f"The file is larger than {MAX_FILE_BYTES // 1000} kB: split it into several files.",
            field="file",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            "The file is not UTF-8 text: save it from your spreadsheet as 'CSV UTF-8'.", field="file"
        ) from None
    if not text.strip():  # after decoding: a BOM alone is empty too (an IndexError, found by fuzzing)
        raise InvalidInput("The file is empty: choose a CSV file with a header row.", field="file")
    if "\0" in text:
        raise InvalidInput("The file is not a CSV text file.", field="file")
    first_line = text.splitlines()[0]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(first_line, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = [cell.strip() for cell in next(reader)]
        rows: list[tuple[int, list[str]]] = []
        ended = reader.line_num
        for cells in reader:
            # A row's line is where it starts (a quoted value may run over several lines).
            start, ended = ended + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                rows.append((start, cells))
    except csv.Error as error:
        raise InvalidInput(
            f"The file cannot be read as CSV (line {reader.line_num}: {error}).", field="file"
        ) from None
    if not any(header):
        raise InvalidInput(
            "The first line must name the columns (for example: email, forename).", field="file"
        )
    if not rows:
        raise InvalidInput("The file has a header but no recipients.", field="file")
    if len(rows) > MAX_RECIPIENTS:
        raise InvalidInput(
            f"At most {MAX_RECIPIENTS:,} recipients per file; this one has {len(rows):,}. "
            "Split it into several files (a recipient sent twice keeps their code).",
            field="file",
        )
    return CsvFile(header=header, rows=rows)


def guess_mapping(header: list[str]) -> dict[int, str]:
    """Column index -> field, for the columns whose header names a field (each field once)."""
    mapping: dict[int, str] = {}
    for index, name in enumerate(header):
        words = name.strip().lower()
        for target, known in _HEADER_WORDS.items():
            if words in known and target not in mapping.values():
                mapping[index] = target
                break
    return mapping


def check_mapping(header: list[str], mapping: Mapping[int, str]) -> None:
    """Each field from one column at most, and an email or mobile column."""
    seen: dict[str, int] = {}
    for index, target in sorted(mapping.items()):
        if not 0 <= index < len(header) or target not in FIELDS:
            raise InvalidInput("Choose a field from the list for each column.", field=f"column-{index}")
        if target in seen:
            raise InvalidInput(
                f"Two columns are set to {FIELDS[target]}: choose it for one column only.",
                field=f"column-{index}",
            )
        seen[target] = index
    if "email" not in seen and "mobile" not in seen:
        raise InvalidInput("Set one column to Email or Mobile: each recipient needs one.", field="mapping")


def check_file(found: CsvFile, mapping: Mapping[int, str], currency: str) -> Checked:
    """Every row as a recipient through the upload's checks; every problem with its line."""
    check_mapping(found.header, mapping)
    problems: list[RowProblem] = []
    recipients: list[RecipientInput] = []
    lines: list[int] = []
    for line, cells in found.rows:
        if len(cells) != len(found.header):
            problems.append(
                RowProblem(line, "", f"has {len(cells)} values where the header has {len(found.header)}")
            )
            continue
        values = {target: cells[index] for index, target in mapping.items()}
        recipients.append(RecipientInput(**values))
        lines.append(line)
    try:
        if recipients:
            check_rows(recipients, currency)
    except RecipientsInvalid as invalid:
        for problem in invalid.details.get("errors", []):
            problems.append(RowProblem(lines[problem["index"]], problem["field"], problem["reason"]))
    problems.sort(key=lambda problem: problem.line)
    return Checked(recipients=[] if problems else recipients, problems=problems)
