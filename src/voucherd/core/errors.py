"""The one error hierarchy. Domain errors carry a stable code and a message, never an HTTP status:
each API dialect maps the categories to its own status and envelope in one table."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "error"
    default_message: ClassVar[str] = "The request could not be completed."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class NotFound(DomainError):
    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    code = "conflict"


class InvalidInput(DomainError):
    """Bad input; ``field`` names where, so a person can fix it."""

    code = "invalid_input"

    def __init__(self, message: str | None = None, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.field = field


class NotRedeemable(DomainError):
    """A voucher exists but cannot be used now; ``reason`` is a stable code."""

    code = "not_redeemable"
    reason: ClassVar[str] = "not_redeemable"


class QuotaExceeded(DomainError):
    code = "quota_exceeded"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    default_message = "A valid API key is required (X-API-Key header or api_key query parameter)."


class PermissionDenied(DomainError):
    code = "permission_denied"
