from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class CustomerChanges:
    """Only the fields named in ``changes`` are applied (PATCH)."""

    changes: dict[str, Any] = field(default_factory=dict)

    ALLOWED = frozenset(
        {"email", "name", "forename", "surname", "mobile", "postcode", "external_id", "metadata"}
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
