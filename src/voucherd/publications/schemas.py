from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from voucherd.customers.schemas import CustomerInput
from voucherd.models import Customer

DEFAULT_CHANNEL = "API"
# Channels voucherd records by itself (seed 002: automatic publication).
CHANNEL_RECIPIENT_UPLOAD = "recipient_upload"
CHANNEL_EXPORT = "export"
CHANNEL_LANDING_PAGE = "landing_page"
CHANNEL_REFERRAL = "referral"


@dataclass(frozen=True)
class CustomerRef:
    """An existing customer (``id``) or one to find or create from ``data``."""

    id: uuid.UUID | None = None
    data: CustomerInput | None = None


@dataclass(frozen=True)
class PublishInput:
    customer: CustomerRef
    code: str | None = None
    campaign_id: uuid.UUID | None = None
    count: int = 1
    channel: str = DEFAULT_CHANNEL
    metadata: dict[str, Any] | None = None
    # The caller's own id of the publication: publishing again with it answers the first one.
    source_id: str | None = None


@dataclass(frozen=True)
class PublishedCode:
    voucher_id: uuid.UUID
    code: str
    campaign_id: uuid.UUID


@dataclass(frozen=True)
class PublicationResult:
    id: uuid.UUID
    created_at: datetime
    customer: Customer
    channel: str
    metadata: dict[str, Any] | None
    vouchers: list[PublishedCode] = field(default_factory=list)
    source_id: str | None = None


@dataclass(frozen=True)
class PublicationEntry:
    """One line of a publication history."""

    id: uuid.UUID
    batch_id: uuid.UUID
    voucher_code: str
    campaign_id: uuid.UUID
    customer_id: uuid.UUID
    customer_email: str | None
    customer_name: str | None
    channel: str
    metadata: dict[str, Any] | None
    published_at: datetime


@dataclass(frozen=True)
class PublicationFilter:
    """Which publications a list shows (every given condition holds)."""

    campaign_name: str | None = None
    customer_id: uuid.UUID | None = None
    code: str | None = None
    source_id: str | None = None
    gift: bool | None = None  # only codes of gift voucher campaigns (or only the others)
    order: str = "-created_at"


@dataclass(frozen=True)
class PublicationBatch:
    """One publication call: the codes it handed to one customer."""

    id: uuid.UUID
    created_at: datetime
    customer: Customer
    channel: str
    metadata: dict[str, Any] | None
    codes: list[PublishedCode] = field(default_factory=list)
    source_id: str | None = None
