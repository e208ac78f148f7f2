"""Pure rules of an offer: state, usability, discount arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from voucherd.campaigns.rules import CampaignStatus, DiscountType
from voucherd.core.errors import NotRedeemable, QuotaExceeded
from voucherd.core.money import percentage_of
from voucherd.offers.errors import (
    CampaignPaused,
    MaximumUsesReached,
    VoucherAlreadyRedeemed,
    VoucherDisabled,
    VoucherExpired,
    VoucherNotYetActive,
)


class CampaignOffer(Protocol):
    """What a campaign offers: a campaign row or a lookup row."""

    @property
    def discount_type(self) -> str: ...
    @property
    def discount_value(self) -> int: ...
    @property
    def valid_from(self) -> datetime | None: ...
    @property
    def valid_until(self) -> datetime | None: ...
    @property
    def uses_per_voucher(self) -> int: ...
    @property
    def discount_description(self) -> str: ...
    @property
    def status(self) -> str: ...


class Offer(CampaignOffer, Protocol):
    """What the rules read about one code: a lookup row (or a campaign's offer as the code has it)."""

    @property
    def active(self) -> bool: ...


@dataclass(frozen=True)
class Discount:
    """What a code takes off: ``discount_value`` in basis points or minor units."""

    discount_type: str
    discount_value: int
    discount_description: str


class OwnOffer(Protocol):
    """A code's own offer, where it has one (a recipient upload may set it): all three or none."""

    @property
    def discount_type(self) -> str | None: ...
    @property
    def discount_value(self) -> int | None: ...
    @property
    def discount_description(self) -> str | None: ...


def discount_of(code: OwnOffer, campaign: CampaignOffer) -> Discount:
    """The code's own offer over its campaign's (the checkout's lookup decides the same in SQL,
    ``coalesce(voucher.x, campaign.x)``, on its hot path)."""
    if code.discount_type is not None and code.discount_value is not None:
        return Discount(code.discount_type, code.discount_value, code.discount_description or "")
    return Discount(campaign.discount_type, campaign.discount_value, campaign.discount_description)


class OwnValidity(Protocol):
    """A code's own window, where it has one (a discount code bought with an expiry counted from
    its purchase; a Voucherify voucher's start and expiration dates), and its own switch."""

    @property
    def valid_from(self) -> datetime | None: ...
    @property
    def valid_until(self) -> datetime | None: ...
    @property
    def active(self) -> bool: ...


@dataclass(frozen=True)
class CodeOffer:
    """A campaign's offer as one code has it: the rules read this like a lookup row."""

    discount_type: str
    discount_value: int
    discount_description: str
    valid_from: datetime | None
    valid_until: datetime | None
    uses_per_voucher: int
    status: str
    active: bool = True


def offer_of(code: OwnValidity, campaign: CampaignOffer) -> CodeOffer:
    """The campaign's offer with the code's own window over the campaign's (the lookup decides
    the same in SQL, ``coalesce(voucher.valid_until, campaign.valid_until)``) and its own switch."""
    return CodeOffer(
        discount_type=campaign.discount_type,
        discount_value=campaign.discount_value,
        discount_description=campaign.discount_description,
        valid_from=code.valid_from if code.valid_from is not None else campaign.valid_from,
        valid_until=code.valid_until if code.valid_until is not None else campaign.valid_until,
        uses_per_voucher=campaign.uses_per_voucher,
        status=campaign.status,
        active=code.active,
    )


class VoucherState(StrEnum):
    ACTIVE = "active"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    NOT_YET_ACTIVE = "not_yet_active"
    PAUSED = "paused"


def usability_error(offer: Offer, redeemed_count: int, now: datetime) -> NotRedeemable | QuotaExceeded | None:
    """Why the voucher cannot be used now, or ``None``. Used up is reported first (it is final),
    then a disabled code, then expiry, then a window not yet open, then a paused campaign."""
    if redeemed_count >= offer.uses_per_voucher:
        return exhausted_error(offer.uses_per_voucher)
    if not offer.active:
        return VoucherDisabled()
    if offer.valid_until is not None and now > offer.valid_until:
        return VoucherExpired()
    if offer.valid_from is not None and now < offer.valid_from:
        return VoucherNotYetActive()
    if offer.status != CampaignStatus.ACTIVE:
        return CampaignPaused()
    return None


def exhausted_error(uses_per_voucher: int) -> QuotaExceeded:
    return VoucherAlreadyRedeemed() if uses_per_voucher == 1 else MaximumUsesReached()


def voucher_state(offer: Offer, redeemed_count: int, now: datetime) -> VoucherState:
    error = usability_error(offer, redeemed_count, now)
    if error is None:
        return VoucherState.ACTIVE
    return {
        VoucherAlreadyRedeemed: VoucherState.REDEEMED,
        MaximumUsesReached: VoucherState.REDEEMED,
        VoucherExpired: VoucherState.EXPIRED,
        VoucherNotYetActive: VoucherState.NOT_YET_ACTIVE,
        CampaignPaused: VoucherState.PAUSED,
        VoucherDisabled: VoucherState.PAUSED,
    }[type(error)]


def discount_for(offer: Offer, amount: int) -> int:
    """The discount on a transaction of ``amount`` minor units, never more than the amount:
    percentage rounds half-up to the minor unit; fixed is min(value, amount); a free item is 0."""
    discount_type = DiscountType(offer.discount_type)
    if discount_type is DiscountType.PERCENTAGE:
        return percentage_of(amount, offer.discount_value)
    if discount_type is DiscountType.FIXED:
        return min(offer.discount_value, amount)
    return 0
