"""Voucherify's voucher object (``voucherify-api.md`` section 4) from ours, and a request's
discount in our units: ``percent_off`` 10 is 1000 basis points, ``amount_off`` is minor units."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from voucherd.api.voucherify.mappers import CAMPAIGN, VOUCHER, moment, prefixed
from voucherd.campaigns.rules import DiscountType
from voucherd.core.errors import InvalidInput
from voucherd.offers.rules import Discount
from voucherd.vouchers.service import VoucherView, unlimited

__all__ = ["CAMPAIGN", "VOUCHER", "discount", "discount_of", "gift_of", "offer_of", "voucher"]
CUSTOMER = "cust_"
DISCOUNT_VOUCHER = "DISCOUNT_VOUCHER"
GIFT_VOUCHER = "GIFT_VOUCHER"
LATER_TYPES = {"LOYALTY_CARD": "loyalty cards"}


def voucher(view: VoucherView) -> dict[str, Any]:
    code, campaign, offer = view.voucher, view.campaign, view.offer
    path = quote(code.code, safe="")
    return {
        "id": prefixed(VOUCHER, code.id),
        "code": code.code,
        "campaign": None if campaign.standalone else campaign.name,
        "campaign_id": None if campaign.standalone else prefixed(CAMPAIGN, campaign.id),
        "category": code.category,
        "category_id": None,
        "categories": [],
        "type": DISCOUNT_VOUCHER if view.gift is None else GIFT_VOUCHER,
        "discount": discount(view.discount) if view.gift is None else None,
        "gift": None if view.gift is None else gift(view.gift.amount, view.gift.balance),
        "loyalty_card": None,
        "start_date": moment(offer.valid_from),
        "expiration_date": moment(offer.valid_until),
        "active": code.active,
        "additional_info": code.additional_info,
        "metadata": code.metadata_ or {},
        "is_referral_code": False,
        "created_at": moment(code.created_at),
        "updated_at": moment(code.updated_at),
        "holder_id": None if view.holder_id is None else prefixed(CUSTOMER, view.holder_id),
        "referrer_id": None,
        "object": "voucher",
        "publish": {
            "object": "list",
            "count": view.publications,
            "url": f"/v1/vouchers/{path}/publications?page=1&limit=10",
        },
        "redemption": {
            "object": "list",
            "quantity": None if unlimited(campaign) else campaign.uses_per_voucher,
            "redeemed_quantity": code.redeemed_count,
            "url": f"/v1/vouchers/{path}/redemptions?page=1&limit=10",
        },
    }


def gift(amount: int, balance: int) -> dict[str, Any]:
    return {"amount": amount, "balance": balance, "effect": "APPLY_TO_ORDER", "object": "gift"}


def discount(offer: Discount) -> dict[str, Any]:
    kind = DiscountType(offer.discount_type)
    if kind is DiscountType.PERCENTAGE:
        percent = Decimal(offer.discount_value) / 100
        number: int | float = int(percent) if percent == percent.to_integral_value() else float(percent)
        return {"type": "PERCENT", "percent_off": number, "effect": "APPLY_TO_ORDER"}
    if kind is DiscountType.FIXED:
        return {"type": "AMOUNT", "amount_off": offer.discount_value, "effect": "APPLY_TO_ORDER"}
    # A free item (VoucherTrack campaigns): one unit of what the description names.
    return {
        "type": "UNIT",
        "unit_off": 1,
        "unit_type": offer.discount_description,
        "effect": "ADD_MISSING_ITEMS",
    }


def discount_of(body: Any) -> tuple[DiscountType, int]:
    """A request's ``discount`` in our units. AMOUNT and PERCENT are served; UNIT and FIXED, and a
    percentage's ``amount_limit``, are refused by name."""
    if not isinstance(body, dict):
        raise InvalidInput('discount must be an object such as {"type": "PERCENT", "percent_off": 10}.')
    kind = body.get("type")
    if body.get("amount_limit") is not None:
        raise InvalidInput(
            "discount.amount_limit is not served: leave it out.", field="discount.amount_limit"
        )
    if body.get("effect") not in (None, "APPLY_TO_ORDER"):
        raise InvalidInput("discount.effect may only be APPLY_TO_ORDER.", field="discount.effect")
    if kind == "PERCENT":
        percent = _number(body.get("percent_off"), "discount.percent_off")
        basis_points = percent * 100
        if basis_points != basis_points.to_integral_value():
            raise InvalidInput(
                "discount.percent_off may have at most two decimals.", field="discount.percent_off"
            )
        return DiscountType.PERCENTAGE, int(basis_points)
    if kind == "AMOUNT":
        amount = _number(body.get("amount_off"), "discount.amount_off")
        if amount != amount.to_integral_value():
            raise InvalidInput(
                "discount.amount_off is in the currency's minor unit (1000 = 10.00): a whole number.",
                field="discount.amount_off",
            )
        return DiscountType.FIXED, int(amount)
    if kind in ("UNIT", "FIXED"):
        raise InvalidInput(
            f"discount.type {kind} is not served yet: use AMOUNT or PERCENT.", field="discount.type"
        )
    raise InvalidInput("discount.type must be AMOUNT or PERCENT.", field="discount.type")


def gift_of(body: Any, field: str = "gift") -> tuple[DiscountType, int]:
    """A request's ``gift`` (``{"amount": 5000}``, minor units) as our offer: each code holds that
    balance."""
    if not isinstance(body, dict):
        raise InvalidInput(f'{field} must be an object such as {{"amount": 5000}}.', field=field)
    if body.get("effect") not in (None, "APPLY_TO_ORDER"):
        raise InvalidInput(f"{field}.effect may only be APPLY_TO_ORDER.", field=f"{field}.effect")
    amount = _number(body.get("amount"), f"{field}.amount")
    if amount != amount.to_integral_value() or amount < 1:
        raise InvalidInput(
            f"{field}.amount is in the currency's minor unit (5000 = 50.00): a whole number of at least 1.",
            field=f"{field}.amount",
        )
    return DiscountType.GIFT, int(amount)


def offer_of(data: dict[str, Any], field: str = "") -> tuple[DiscountType, int] | None:
    """The offer of a voucher (or a campaign's template) by its ``type``: a DISCOUNT_VOUCHER's
    ``discount`` or a GIFT_VOUCHER's ``gift``, ``None`` when it names neither."""
    where = f"{field}." if field else ""
    kind = data.get("type") or DISCOUNT_VOUCHER
    if kind in LATER_TYPES:
        raise InvalidInput(
            f"{where}type {kind} is not served yet ({LATER_TYPES[kind]} come in a later step); "
            "create a DISCOUNT_VOUCHER or a GIFT_VOUCHER.",
            field=f"{where}type",
        )
    if kind == GIFT_VOUCHER:
        if data.get("discount") is not None:
            raise InvalidInput(
                f"A GIFT_VOUCHER holds {where}gift.amount, not a discount.", field=f"{where}discount"
            )
        return gift_of(data.get("gift"), f"{where}gift") if data.get("gift") is not None else None
    if kind != DISCOUNT_VOUCHER:
        raise InvalidInput(f"{where}type must be DISCOUNT_VOUCHER or GIFT_VOUCHER.", field=f"{where}type")
    return discount_of(data["discount"]) if data.get("discount") is not None else None


def _number(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field} must be a number.", field=field)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a number.", field=field) from None
