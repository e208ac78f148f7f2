"""A coupon and a discount as seed 003 prints them: the VoucherCart dialect answers these, and the
``discount.*`` events carry them (with our ids beside), so a receiver sees what the API shows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voucherd.campaigns.rules import DiscountType
from voucherd.core import clock
from voucherd.coupons.rules import COUPON_TYPES, ExpiryType
from voucherd.models import Campaign, Coupon


@dataclass(frozen=True)
class CouponView:
    coupon: Coupon
    campaign: Campaign
    domain: int  # its sales page's number


@dataclass(frozen=True)
class DiscountView:
    id: uuid.UUID  # the discount's (purchase's) id
    voucher_id: uuid.UUID
    code: str
    redeemed: bool
    redeemed_at: datetime | None
    coupon: CouponView
    recipients: list[dict[str, Any]]
    valid_until: datetime | None  # the code's own end, else its coupon's (``dateTo``); for the mail


def moment(value: datetime | None) -> str | None:
    """``2016-12-02T07:57:29+0000``, in UTC, as the seed prints date-times."""
    return None if value is None else clock.isoformat_offset(value)


def local_time(value: datetime | None, timezone: str) -> str | None:
    """``2016-12-07 14:17:59`` in the client's timezone (a discount's ``redeemedAt``)."""
    return None if value is None else clock.local_format(value, timezone)


def expiry(view: CouponView) -> dict[str, Any] | None:
    coupon, campaign = view.coupon, view.campaign
    if coupon.expiry_type == ExpiryType.PERIOD:
        return {"interval": coupon.expiry_interval, "period": coupon.expiry_period, "type": "period"}
    if coupon.expiry_type == ExpiryType.TIME:
        return {
            "dateFrom": moment(campaign.valid_from),
            "dateTo": moment(campaign.valid_until),
            "type": "time",
        }
    return None


def coupon(view: CouponView) -> dict[str, Any]:
    return {
        "couponId": view.coupon.number,
        "domainId": view.domain,
        "title": view.campaign.name,
        "terms": view.campaign.terms or "",
        "description": view.coupon.description,
        "type": COUPON_TYPES[DiscountType(view.campaign.discount_type)].value,
        "amount": view.campaign.discount_value,
        "metadata": view.coupon.details,
        "expiry": expiry(view),
    }


def discount(view: DiscountView, timezone: str) -> dict[str, Any]:
    return {
        "discountCode": view.code,
        "redeemed": view.redeemed,
        "redeemedAt": local_time(view.redeemed_at, timezone),
        "coupon": coupon(view.coupon),
        "recipients": [{"email": r["email"], "label": r.get("label")} for r in view.recipients],
    }
