"""Email addresses as people type them: checked, normalized, and the key that finds one again.
Customers and staff logins both use these."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class ContactError(ValueError):
    """A contact field that cannot be accepted; the message says how to fix it."""


def normalize_email(value: str) -> str:
    """The email as the person would type it again (domain lower-cased), or :class:`ContactError`."""
    value = value.strip()
    if len(value) > 320:
        raise ContactError("is longer than 320 characters")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        why = str(error)
        raise ContactError(f"is not a valid email address: {why[:1].lower()}{why[1:]}") from None


def email_key(email: str) -> str:
    """Emails are matched case-insensitively."""
    return email.lower()
