"""``limit`` (1..100) and ``page`` (1..10**9), as in our API and the Voucherify dialect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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

    @property
    def has_more(self) -> bool:
        return self.request.offset + len(self.items) < self.total
