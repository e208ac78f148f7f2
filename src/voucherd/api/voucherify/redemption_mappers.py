"""Validation, redemption and rollback objects (``voucherify-api.md`` section 4): amounts in minor
units, the order as calculated (``total_amount = amount - total_discount_amount``), enums exactly
as the SDK checks them."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fastapi import Request

from voucherd.api.voucherify.errors import MESSAGES, key_of
from voucherd.api.voucherify.mappers import (
    CAMPAIGN,
    REDEMPTION,
    ROLLBACK,
    VALIDATION,
    VOUCHER,
    moment,
    prefixed,
)
from voucherd.campaigns.rules import DiscountType
from voucherd.core.errors import DomainError, NotFound
from voucherd.core.ids import new_id
from voucherd.models import Redemption
from voucherd.offers.repository import Offer
from voucherd.redemptions.schemas import RedemptionResult
from voucherd.redemptions.stacks import Checked, Stack

EMPTY_LIST = {"object": "list", "data_ref": "data", "data": [], "total": 0}
# Ours: every redeemable must apply (ALL), in the order requested.
STACKING_RULES = {
    "redeemables_limit": 30,
    "applicable_redeemables_limit": 30,
    "applicable_exclusive_redeemables_limit": 1,
    "redeemables_application_mode": "ALL",
    "redeemables_sorting_rule": "REQUESTED_ORDER",
}


def discount(offer: Offer) -> dict[str, Any]:
    kind = DiscountType(offer.discount_type)
    if kind is DiscountType.PERCENTAGE:
        return {"type": "PERCENT", "percent_off": offer.discount_value / 100, "effect": "APPLY_TO_ORDER"}
    if kind is DiscountType.FIXED:
        return {"type": "AMOUNT", "amount_off": offer.discount_value, "effect": "APPLY_TO_ORDER"}
    return {"type": "UNIT", "unit_off": 1, "effect": "ADD_MISSING_ITEMS"}


def order(amount: int, discount_amount: int, **extra: Any) -> dict[str, Any]:
    return {
        "amount": amount,
        "discount_amount": discount_amount,
        "items_discount_amount": 0,
        "total_discount_amount": discount_amount,
        "total_amount": amount - discount_amount,
        "applied_discount_amount": discount_amount,
        "items_applied_discount_amount": 0,
        "total_applied_discount_amount": discount_amount,
        "items": [],
        "metadata": {},
        "object": "order",
        **extra,
    }


def error_body(error: DomainError, request: Request) -> dict[str, Any]:
    """The error object of a refused redeemable (its status is the request's: 400)."""
    body: dict[str, Any] = {
        "code": 404 if isinstance(error, NotFound) else 400,
        "key": key_of(error),
        "message": MESSAGES[404] if isinstance(error, NotFound) else MESSAGES[400],
        "details": error.message,
        "request_id": getattr(request.state, "request_id", None) or "",
    }
    if "resource_id" in error.details:
        body["resource_id"] = error.details["resource_id"]
        body["resource_type"] = error.details.get("resource_type")
    return body


def _redeemable(item: Checked, stack: Stack, request: Request) -> dict[str, Any]:
    offer = item.offer
    entry: dict[str, Any] = {
        "status": "APPLICABLE" if item.error is None else "INAPPLICABLE",
        "id": item.code,
        "object": "voucher",
        "applicable_to": EMPTY_LIST,
        "inapplicable_to": EMPTY_LIST,
        "metadata": {},
        "categories": [],
    }
    if offer is not None:
        entry["campaign_id"] = prefixed(CAMPAIGN, offer.campaign_id)
        entry["campaign_name"] = offer.campaign_name
    if item.error is None:
        assert offer is not None
        entry["order"] = order(stack.amount, item.discount)
        entry["result"] = (
            {"discount": discount(offer)}
            if item.gift is None
            else {"gift": {"credits": item.discount, "balance": item.gift.balance}}
        )
    else:
        error = item.error
        entry["result"] = {
            "error": error_body(error, request),
            "details": {"message": error.message, "key": key_of(error)},
        }
    return entry


def validation(
    stack: Stack, *, order_id: str | None, source_id: str | None, request: Request
) -> dict[str, Any]:
    redeemables = [_redeemable(item, stack, request) for item in stack.items]
    valid = stack.valid
    return {
        "id": prefixed(VALIDATION, new_id()),
        "valid": valid,
        "redeemables": redeemables,
        "inapplicable_redeemables": [item for item in redeemables if item["status"] == "INAPPLICABLE"],
        "skipped_redeemables": [],
        "order": order(stack.amount, stack.discount if valid else 0, id=order_id, source_id=source_id),
        "tracking_id": None,
        "stacking_rules": STACKING_RULES,
    }


def _voucher(code: str, voucher_id: Any, campaign_id: Any) -> dict[str, Any]:
    return {
        "id": prefixed(VOUCHER, voucher_id),
        "code": code,
        "object": "voucher",
        "campaign_id": prefixed(CAMPAIGN, campaign_id) if campaign_id is not None else None,
    }


def _parent(
    stack_id: Any, *, order_of: dict[str, Any], children: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    """The parent redemption of a stack: its own id, the order's totals, its children."""
    parent_id = prefixed(REDEMPTION, stack_id)
    return {
        "id": parent_id,
        "object": "redemption",
        "date": children[0]["date"],
        "customer_id": children[0]["customer_id"],
        "tracking_id": None,
        "metadata": {},
        "amount": sum(child["amount"] for child in children),
        "redemption": None,
        "result": "SUCCESS",
        "status": "SUCCEEDED",
        "order": order_of,
        "channel": children[0]["channel"],
        "related_object_type": "redemption",
        "related_object_id": parent_id,
        "related_redemptions": {
            "rollbacks": [],
            "redemptions": [{"id": child["id"], "date": child["date"]} for child in children],
        },
        **extra,
    }


def redeemed(
    results: list[RedemptionResult],
    *,
    stack_id: Any,
    amount: int,
    source_id: str | None,
    channel_id: str,
) -> dict[str, Any]:
    total = sum(result.discount_applied for result in results)
    parent_id = None if stack_id is None else prefixed(REDEMPTION, stack_id)
    children = []
    left = amount
    for result in results:
        children.append(
            {
                "id": prefixed(REDEMPTION, result.redemption_id),
                "object": "redemption",
                "date": None,
                "customer_id": None,
                "tracking_id": None,
                "metadata": {},
                "amount": 0 if result.gift is None else result.discount_applied,
                "redemption": parent_id,
                "result": "SUCCESS",
                "status": "SUCCEEDED",
                "order": order(left, result.discount_applied, source_id=source_id),
                "channel": {"channel_id": channel_id, "channel_type": "API"},
                "related_object_type": "voucher",
                "voucher": _redeemed_voucher(result),
            }
        )
        left -= result.discount_applied
    answer: dict[str, Any] = {
        "redemptions": children,
        "order": order(amount, total, source_id=source_id),
        "inapplicable_redeemables": [],
        "skipped_redeemables": [],
    }
    if stack_id is not None:
        answer["parent_redemption"] = _parent(stack_id, order_of=answer["order"], children=children)
    return answer


def _stack_order(rows: list[Redemption]) -> dict[str, Any]:
    return order(
        rows[0].transaction_amount,
        sum(row.discount_applied for row in rows),
        source_id=rows[0].order_reference,
    )


def _stack_rolled_back_at(rows: list[Redemption]) -> Any:
    """When the whole stack was rolled back (its last member), else ``None``."""
    if any(row.rolled_back_at is None for row in rows):
        return None
    return max(row.rolled_back_at for row in rows if row.rolled_back_at is not None)


def parent(stack_id: Any, rows: list[Redemption], gifts: Collection[Any] = ()) -> dict[str, Any]:
    """A stack's parent redemption read back: ROLLED_BACK once every member is."""
    rolled_back_at = _stack_rolled_back_at(rows)
    extra: dict[str, Any] = {}
    if rolled_back_at is not None:
        extra["status"] = "ROLLED_BACK"
    answer = _parent(
        stack_id,
        order_of=_stack_order(rows),
        children=[redemption(row, gift=row.id in gifts) for row in rows],
        **extra,
    )
    if rolled_back_at is not None:
        answer["related_redemptions"]["rollbacks"] = [
            {"id": prefixed(ROLLBACK, stack_id), "date": moment(rolled_back_at)}
        ]
    return answer


def stack_rollback(stack_id: Any, rows: list[Redemption]) -> dict[str, Any] | None:
    """The rollback of a whole stack (``None`` while a member is not rolled back)."""
    rolled_back_at = _stack_rolled_back_at(rows)
    if rolled_back_at is None:
        return None
    parent_id = prefixed(REDEMPTION, stack_id)
    last = max(rows, key=lambda row: row.rolled_back_at or rolled_back_at)
    return {
        "id": prefixed(ROLLBACK, stack_id),
        "object": "redemption_rollback",
        "date": moment(rolled_back_at),
        "redemption": parent_id,
        "reason": last.rollback_reason,
        "result": "SUCCESS",
        "status": "SUCCEEDED",
        "customer_id": None if rows[0].customer_id is None else f"cust_{rows[0].customer_id.hex}",
        "tracking_id": None,
        "amount": 0,
        "order": _stack_order(rows),
        "related_object_type": "redemption",
        "related_object_id": parent_id,
        "channel": {"channel_id": None, "channel_type": "API"},
    }


def _redeemed_voucher(result: RedemptionResult) -> dict[str, Any]:
    if result.gift is None:
        return {"code": result.code, "object": "voucher"}
    gift = {"amount": result.gift.amount, "balance": result.gift.balance, "effect": "APPLY_TO_ORDER"}
    return {"code": result.code, "object": "voucher", "type": "GIFT_VOUCHER", "gift": gift}


def _order_of(row: Redemption) -> dict[str, Any]:
    return order(row.transaction_amount, row.discount_applied, source_id=row.order_reference)


def redemption(row: Redemption, *, gift: bool = False) -> dict[str, Any]:
    """``gift``: the redemption of a gift voucher, whose ``amount`` is the credits it took."""
    rolled_back = row.rolled_back_at is not None
    return {
        "id": prefixed(REDEMPTION, row.id),
        "object": "redemption",
        "date": moment(row.redeemed_at),
        "customer_id": None if row.customer_id is None else f"cust_{row.customer_id.hex}",
        "tracking_id": None,
        "metadata": {},
        "amount": row.discount_applied if gift else 0,
        "redemption": None if row.stack_id is None else prefixed(REDEMPTION, row.stack_id),
        "result": "SUCCESS",
        "status": "ROLLED_BACK" if rolled_back else "SUCCEEDED",
        "order": _order_of(row),
        "channel": {"channel_id": None, "channel_type": "API"},
        "related_object_type": "voucher",
        "related_object_id": prefixed(VOUCHER, row.voucher_id),
        "voucher": _voucher(row.code, row.voucher_id, row.campaign_id),
        "related_redemptions": {
            "rollbacks": [{"id": prefixed(ROLLBACK, row.id), "date": moment(row.rolled_back_at)}]
            if rolled_back
            else [],
            "redemptions": [],
        },
    }


def rollback(row: Redemption) -> dict[str, Any]:
    return {
        "id": prefixed(ROLLBACK, row.id),
        "object": "redemption_rollback",
        "date": moment(row.rolled_back_at),
        "redemption": prefixed(REDEMPTION, row.id),
        "reason": row.rollback_reason,
        "result": "SUCCESS",
        "status": "SUCCEEDED",
        "customer_id": None if row.customer_id is None else f"cust_{row.customer_id.hex}",
        "tracking_id": None,
        "amount": 0,
        "order": _order_of(row),
        "related_object_type": "voucher",
        "related_object_id": prefixed(VOUCHER, row.voucher_id),
        "voucher": _voucher(row.code, row.voucher_id, row.campaign_id),
        "channel": {"channel_id": None, "channel_type": "API"},
    }
