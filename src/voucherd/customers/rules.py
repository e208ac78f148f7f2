"""Pure contact rules: email syntax, mobile numbers, the identity that finds a person again."""

from __future__ import annotations

import phonenumbers

from voucherd.core.emails import ContactError, email_key, normalize_email

__all__ = ["ContactError", "email_key", "identity", "normalize_email", "normalize_mobile"]

# The region a mobile without a country prefix is read in, from the client's currency.
_REGION_BY_CURRENCY = {
    "GBP": "GB",
    "USD": "US",
    "CAD": "CA",
    "AUD": "AU",
    "NZD": "NZ",
    "IEP": "IE",
    "CHF": "CH",
    "SEK": "SE",
    "NOK": "NO",
    "DKK": "DK",
    "PLN": "PL",
    "JPY": "JP",
    "INR": "IN",
    "ZAR": "ZA",
}


def normalize_mobile(value: str, currency: str) -> str:
    """E.164 (``+447700900000``); a number without ``+`` is read in the client's country."""
    value = value.strip()
    if not value or len(value) > 40:
        raise ContactError("must be 1 to 40 characters")
    region = None if value.startswith("+") else _REGION_BY_CURRENCY.get(currency.upper())
    if region is None and not value.startswith("+"):
        raise ContactError("needs the international format, for example +447700900000")
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ContactError("is not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise ContactError("is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def identity(*, external_id: str | None, email: str | None, mobile_e164: str | None) -> str:
    """Who a recipient is within a campaign: the external id, else the email, else the mobile."""
    if external_id:
        return f"ext:{external_id}"
    if email:
        return f"email:{email_key(email)}"
    if mobile_e164:
        return f"mobile:{mobile_e164}"
    raise ContactError("needs an email or a mobile")
