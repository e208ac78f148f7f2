"""The pure rules of an offer, table by table: what state a code is in, why it cannot be used,
and what it takes off an amount (integer minor units, percentages in basis points)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from voucherd.campaigns.rules import CampaignStatus, DiscountType
from voucherd.offers import errors
from voucherd.offers.rules import (
    Discount,
    VoucherState,
    discount_for,
    discount_of,
    usability_error,
    voucher_state,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class FakeOffer:
    discount_type: str = DiscountType.PERCENTAGE
    discount_value: int = 2000
    discount_description: str = "20% off your order"
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    uses_per_voucher: int = 1
    status: str = CampaignStatus.ACTIVE
    active: bool = True


@dataclass(frozen=True)
class OwnOffer:
    discount_type: str | None = None
    discount_value: int | None = None
    discount_description: str | None = None


USABILITY = [
    # (case, offer, redeemed_count, expected error, expected state)
    ("fresh", FakeOffer(), 0, None, VoucherState.ACTIVE),
    ("single use, used", FakeOffer(), 1, errors.VoucherAlreadyRedeemed, VoucherState.REDEEMED),
    ("multi use, one left", FakeOffer(uses_per_voucher=3), 2, None, VoucherState.ACTIVE),
    (
        "multi use, used up",
        FakeOffer(uses_per_voucher=3),
        3,
        errors.MaximumUsesReached,
        VoucherState.REDEEMED,
    ),
    ("expired", FakeOffer(valid_until=NOW - HOUR), 0, errors.VoucherExpired, VoucherState.EXPIRED),
    ("last instant", FakeOffer(valid_until=NOW), 0, None, VoucherState.ACTIVE),
    ("not yet", FakeOffer(valid_from=NOW + HOUR), 0, errors.VoucherNotYetActive, VoucherState.NOT_YET_ACTIVE),
    ("opens now", FakeOffer(valid_from=NOW), 0, None, VoucherState.ACTIVE),
    ("paused", FakeOffer(status=CampaignStatus.PAUSED), 0, errors.CampaignPaused, VoucherState.PAUSED),
    ("disabled", FakeOffer(active=False), 0, errors.VoucherDisabled, VoucherState.PAUSED),
    ("disabled, used up", FakeOffer(active=False), 1, errors.VoucherAlreadyRedeemed, VoucherState.REDEEMED),
    # used up is final, so it is reported before anything else
    (
        "used and expired",
        FakeOffer(valid_until=NOW - HOUR),
        1,
        errors.VoucherAlreadyRedeemed,
        VoucherState.REDEEMED,
    ),
    (
        "expired and paused",
        FakeOffer(valid_until=NOW - HOUR, status="paused"),
        0,
        errors.VoucherExpired,
        "expired",
    ),
]


@pytest.mark.parametrize(
    ("offer", "redeemed", "error", "state"), [c[1:] for c in USABILITY], ids=[c[0] for c in USABILITY]
)
def test_usability_and_state(
    offer: FakeOffer, redeemed: int, error: type[Exception] | None, state: VoucherState
) -> None:
    found = usability_error(offer, redeemed, NOW)
    assert (type(found) if found else None) is error
    assert voucher_state(offer, redeemed, NOW) == state


DISCOUNTS = [
    # (case, type, value, amount, expected discount in minor units)
    ("20% of 45.99", DiscountType.PERCENTAGE, 2000, 4599, 920),
    ("15% of 34.90 rounds half up", DiscountType.PERCENTAGE, 1500, 3490, 524),
    ("12.5% of 0.04 rounds half up", DiscountType.PERCENTAGE, 1250, 4, 1),
    ("100% is the whole amount", DiscountType.PERCENTAGE, 10000, 1999, 1999),
    ("percentage of nothing", DiscountType.PERCENTAGE, 2000, 0, 0),
    ("fixed below the amount", DiscountType.FIXED, 1000, 4599, 1000),
    ("fixed never more than the amount", DiscountType.FIXED, 1000, 650, 650),
    ("free item takes nothing off", DiscountType.FREE_ITEM, 0, 4599, 0),
]


@pytest.mark.parametrize(
    ("kind", "value", "amount", "expected"), [c[1:] for c in DISCOUNTS], ids=[c[0] for c in DISCOUNTS]
)
def test_discount_for(kind: DiscountType, value: int, amount: int, expected: int) -> None:
    assert discount_for(FakeOffer(discount_type=kind, discount_value=value), amount) == expected


def test_a_codes_own_offer_wins_over_its_campaigns() -> None:
    campaign = FakeOffer()
    own = OwnOffer(DiscountType.FIXED, 500, "£5 off")
    assert discount_of(own, campaign) == Discount(DiscountType.FIXED, 500, "£5 off")
    assert discount_of(OwnOffer(), campaign) == Discount(DiscountType.PERCENTAGE, 2000, "20% off your order")
    assert discount_of(replace(own, discount_description=None), campaign).discount_description == ""
