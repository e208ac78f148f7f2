"""``limit`` (1..100) and ``page`` (1..10**9), as in our API and the Voucherify dialect; beside
``page``, a keyset cursor (``after``) for the lists that may be long: the position of the last item
shown, so a page deep in a list of a million costs what the first one does."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from voucherd.core.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 100
# Any page a list can have (10**9 pages of 100 is 10**11 rows), and an offset every database takes:
# an unbounded page overflowed the 64-bit OFFSET, a 500 on both databases.
MAX_PAGE = 1_000_000_000


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    limit: int = 10
    after: str | None = None  # a cursor a page of the same list gave as ``next_cursor``

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
        if not 1 <= self.page <= MAX_PAGE:
            raise InvalidInput(f"page must be between 1 and {MAX_PAGE:,}.", field="page")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    request: PageRequest
    # Lists with keyset pagination: where the next page starts (``None``: this is the last one).
    next_cursor: str | None = None
    keyset: bool = False

    @property
    def has_more(self) -> bool:
        if self.keyset:
            return self.next_cursor is not None
        return self.request.offset + len(self.items) < self.total


def encode_cursor(*values: str) -> str:
    """An opaque cursor of a position (its sort keys as text)."""
    return base64.urlsafe_b64encode("\n".join(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fields: int) -> list[str]:
    """The sort keys of a cursor made by :func:`encode_cursor`; a 422 for anything else."""
    try:
        values = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("\n")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        values = []
    if len(values) != fields:
        raise invalid_cursor()
    return values


def invalid_cursor() -> InvalidInput:
    return InvalidInput(
        "after must be a next_cursor this list returned; leave it out to start from the first page.",
        field="after",
    )


def time_cursor(created_at: datetime, item_id: uuid.UUID) -> str:
    """The cursor of an item in a list ordered by creation time, then id."""
    return encode_cursor(created_at.isoformat(), str(item_id))


def time_position(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (created_at, id) a :func:`time_cursor` names; a 422 for anything else."""
    created_at, item_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(created_at), uuid.UUID(item_id)
    except ValueError:
        raise invalid_cursor() from None


def keyset_page(
    rows: Sequence[T], page: PageRequest, total: int, position: Callable[[T], tuple[datetime, uuid.UUID]]
) -> Page[T]:
    """The page of a list read with one row more than ``page.limit`` (whether that row came
    tells whether there is a next page); its cursor is the last shown item's ``position``."""
    items = rows[: page.limit]
    cursor = time_cursor(*position(items[-1])) if len(rows) > page.limit else None
    return Page(items=items, total=total, request=page, next_cursor=cursor, keyset=True)
