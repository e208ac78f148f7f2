"""Dialect-neutral inputs of the campaign service. Amounts arrive as :class:`Amount`, so each
dialect keeps its own units (decimals or minor units) and the service converts once it knows the
currency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from voucherd.campaigns.rules import CampaignStatus, DiscountType
from voucherd.core.money import Amount

Moment = date | datetime  # a date alone means the start/end of that day in the client's timezone


@dataclass(frozen=True)
class CodeSettings:
    pattern: str | None = None
    prefix: str | None = None
    length: int | None = None
    charset: str | None = None


@dataclass(frozen=True)
class CampaignInput:
    name: str
    discount_type: DiscountType
    discount_value: Amount | None  # required unless the discount is a free item
    discount_description: str | None = None
    minimum_spend: Amount | None = None
    currency: str | None = None
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    uses_per_voucher: int = 1
    uses_per_customer: int | None = None  # how often one customer may redeem it (None: no limit)
    require_customer: bool = False  # refuse redemptions that name no customer (with a limit)
    codes: CodeSettings = field(default_factory=CodeSettings)
    status: CampaignStatus = CampaignStatus.ACTIVE
    auto_update: bool = False
    landing_slug: str | None = None
    terms: str | None = None
    planned_codes: int | None = None  # refused when the code pattern cannot hold this many


@dataclass(frozen=True)
class CampaignChanges:
    """Only the fields named in ``changes`` are applied (PATCH)."""

    changes: dict[str, Any]

    ALLOWED = frozenset(
        {
            "name",
            "discount_type",
            "discount_value",
            "discount_description",
            "minimum_spend",
            "valid_from",
            "valid_until",
            "uses_per_voucher",
            "uses_per_customer",
            "require_customer",
            "status",
            "auto_update",
            "landing_slug",
            "terms",
        }
    )

    def __post_init__(self) -> None:
        unknown = set(self.changes) - self.ALLOWED
        if unknown:
            raise ValueError(f"not changeable: {sorted(unknown)}")
