"""Gift cards in our own API's shapes: money as a decimal of the currency (``19.50``) for a
stored value, whole uses for a fixed voucher; ids as strings; times ISO 8601 with ``Z``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from voucherd.core.clock import isoformat_z
from voucherd.core.money import to_decimal
from voucherd.giftcards.holds import Details
from voucherd.giftcards.lifecycle import Refunded
from voucherd.giftcards.orders import PlacedOrder
from voucherd.models import GiftCard, GiftHold, GiftLedgerEntry


def _time(value: Any) -> str | None:
    return None if value is None else isoformat_z(value)


def _amount(card: GiftCard, units: int) -> Decimal | int:
    return to_decimal(units, card.currency) if card.monetary else units


def hold(card: GiftCard, held: GiftHold) -> dict[str, Any]:
    return {
        "id": str(held.id),
        "code": card.code,
        "amount": _amount(card, held.amount),
        "captured": _amount(card, held.captured),
        "status": held.status,
        "expires_at": _time(held.expires_at),
        "created_at": _time(held.created_at),
    }


def _row(card: GiftCard, row: GiftLedgerEntry) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "amount": _amount(card, row.amount),
        "balance_after": _amount(card, row.balance_after),
        "occurred_at": _time(row.occurred_at),
        "order_reference": row.order_reference,
        "hold_id": None if row.hold_id is None else str(row.hold_id),
    }


def giftcard(shown: Details) -> dict[str, Any]:
    view = shown.view
    card = view.card
    return {
        "id": str(card.id),
        "code": card.code,
        "status": view.status.value,
        "monetary": card.monetary,
        "currency": card.currency,
        "balance": _amount(card, card.balance),
        "stock": _amount(card, card.stock),
        "valid_from": _time(card.valid_from),
        "valid_until": _time(card.valid_until),
        "order": view.order.number,
        "order_reference": view.order.reference,
        "product": view.product.number,
        "redeemable_on": list(card.redeemable_on),
        "replaced_by": shown.replaced_by,
        "ledger": [_row(card, row) for row in view.ledger],
        "holds": [hold(card, held) for held in shown.holds],
    }


def refunded(result: Refunded) -> dict[str, Any]:
    order = result.order
    return {
        "order": order.number,
        "reference": order.reference,
        "currency": order.currency,
        "refund": None if order.refund is None else to_decimal(order.refund, order.currency),
        "refunded_at": _time(order.refunded_at),
        "codes": [
            {"code": card.code, "status": card.status, "balance": _amount(card, card.balance)}
            for card in result.cards
        ],
    }


def paid(result: PlacedOrder) -> dict[str, Any]:
    order = result.order
    return {
        "order": order.number,
        "reference": order.reference,
        "status": order.status,
        "currency": order.currency,
        "total": to_decimal(order.total, order.currency),
        "paid_at": _time(order.paid_at),
        "payments": [
            {
                "method": payment["title"],
                "reference": payment["metadata"].get("reference", ""),
                "amount": to_decimal(payment["amount"], payment["currency"]),
            }
            for payment in order.payments
        ],
        "codes": [
            {"code": card.code, "status": card.status, "balance": _amount(card, card.balance)}
            for card in result.cards
        ],
    }
