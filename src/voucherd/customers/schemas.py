from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class CustomerInput:
    email: str | None = None
    name: str | None = None
    forename: str | None = None
    surname: str | None = None
    mobile: str | None = None
    postcode: str | None = None
    external_id: str | None = None
    metadata: dict[str, Any] | None = None
    # The profile (phone as written, free text; an address of lines, city, state, country and
    # ``postcode``).
    phone: str | None = None
    description: str | None = None
    birthdate: date | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None


PROFILE_FIELDS = (
    "phone",
    "description",
    "birthdate",
    "address_line_1",
    "address_line_2",
    "city",
    "state",
    "country",
)


@dataclass(frozen=True)
class CustomerFilter:
    """Which of a client's customers a list shows (every given condition holds; ``name`` and
    ``city`` match whole values, case-insensitively) and in which order: ``created_at``,
    ``updated_at`` or ``external_id``, ``-`` first for descending; newest first by default."""

    email: str | None = None
    name: str | None = None
    city: str | None = None
    created_before: datetime | None = None
    created_after: datetime | None = None
    updated_before: datetime | None = None
    updated_after: datetime | None = None
    order: str = "-created_at"


@dataclass(frozen=True)
class CustomerChanges:
    """Only the fields named in ``changes`` are applied (PATCH)."""

    changes: dict[str, Any] = field(default_factory=dict)

    ALLOWED = frozenset(
        {"email", "name", "forename", "surname", "mobile", "postcode", "external_id", "metadata"}
        | set(PROFILE_FIELDS)
    )

    def __post_init__(self) -> None:
        unknown = set(self.changes) - self.ALLOWED
        if unknown:
            raise ValueError(f"not changeable: {sorted(unknown)}")


@dataclass(frozen=True)
class Person:
    """Someone a recipient row, a lead or an inline customer names, already checked and
    normalised (``email`` as :func:`customers.rules.normalize_email` returns it, ``mobile_e164``
    beside the mobile as written)."""

    email: str | None = None
    name: str | None = None
    forename: str | None = None
    surname: str | None = None
    mobile: str | None = None
    mobile_e164: str | None = None
    postcode: str | None = None
    external_id: str | None = None
    metadata: dict[str, Any] | None = None
