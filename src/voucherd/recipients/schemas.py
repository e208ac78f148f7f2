from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from voucherd.campaigns.rules import DiscountType
from voucherd.core.money import Amount


@dataclass(frozen=True)
class RecipientInput:
    email: str | None = None
    forename: str | None = None
    surname: str | None = None
    mobile: str | None = None
    postcode: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class UploadInput:
    recipients: list[RecipientInput]
    discount_type: DiscountType | None = None
    discount_value: Amount | None = None
    discount_description: str | None = None
    code_prefix: str | None = None


@dataclass(frozen=True)
class UploadedRecipient:
    recipient_id: uuid.UUID
    voucher_id: uuid.UUID
    voucher_code: str
    email: str | None
    external_id: str | None
    created: bool
    qr_code: str = ""  # a data URI of the redemption URL's QR code, filled in by the upload


@dataclass(frozen=True)
class UploadResult:
    total_created: int
    recipients: list[UploadedRecipient] = field(default_factory=list)
