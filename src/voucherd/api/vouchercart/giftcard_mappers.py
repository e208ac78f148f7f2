"""The gift voucher objects of seed 003, as its examples print them: integer ids (our objects'
numbers), money in minor units with a ``displayPrice``, dates as ``2016-12-02T07:57:29+0000``."""

from __future__ import annotations

import html
from typing import Any

from voucherd.api.vouchercart.dates import printed
from voucherd.core.money import display_price
from voucherd.giftcards import rules
from voucherd.giftcards.balances import CardStatus, CardView
from voucherd.giftcards.catalog import ProductView
from voucherd.giftcards.orders import PlacedOrder
from voucherd.models import GiftCard, GiftOption


def option(item: GiftOption) -> dict[str, Any]:
    return {
        "optionId": item.number,
        "type": item.type,
        "description": item.description,
        "displayPrice": display_price(item.sell_price, item.currency),
        "optionQuantity": item.quantity,
        "sellPrice": item.sell_price,
        "realValue": item.real_value,
        "currency": item.currency,
    }


def _expiry(view: ProductView) -> dict[str, Any] | None:
    product = view.product
    if product.expiry_type == "period":
        return {"type": "period", "interval": product.expiry_interval, "period": product.expiry_period}
    if product.expiry_type == "time":
        return {
            "type": "time",
            "dateFrom": printed(product.expiry_from),
            "dateTo": printed(product.expiry_to),
        }
    return None


def product(view: ProductView) -> dict[str, Any]:
    item = view.product
    return {
        "voucherId": item.number,
        "domainId": view.sales_page.number,
        "type": item.type,
        "title": item.title,
        "description": item.description,
        "terms": item.terms,
        "options": [option(each) for each in view.options],
        "price": view.price,
        "currency": item.currency,
        "image": item.image,
        "mainImage": item.image,
        "images": list(item.images),
        "categories": [
            {"categoryId": category.number, "name": category.name} for category in view.categories
        ],
        "accessLevel": item.access_level,
        "delivery": [
            {
                "methodId": method.number,
                "type": method.type,
                "title": method.title,
                "options": list(method.options),
            }
            for method in view.delivery
        ],
        "expiry": _expiry(view),
        "hidePriceDisabled": item.hide_price_disabled,
        "quantityIsLimited": item.quantity_is_limited,
        "stock": item.stock,
        "taxRate": item.tax_rate,
        "minAmount": item.min_amount,
        "maxAmount": item.max_amount,
        "redeemableOn": list(item.redeemable_on),
    }


def placed(result: PlacedOrder) -> dict[str, Any]:
    return {
        "status": "created",
        "orderId": result.order.number,
        "codes": [card.code for card in result.cards],
    }


def _comment(message: str | None) -> str | None:
    """The buyer's message as the seed's ``comment`` shows it: one HTML paragraph per line, escaped."""
    if not message:
        return None
    return "\n".join(f"<p>{html.escape(line)}</p>" for line in message.splitlines())


def _printed_value(view: CardView) -> int:
    """The value printed on the voucher: a stored value's, else its option's stated worth, else
    its price."""
    if view.card.monetary:
        return view.order.unit_value
    if view.option is not None and view.option.real_value:
        return view.option.real_value
    return view.order.unit_price


def _order(view: CardView) -> dict[str, Any]:
    order, item, card = view.order, view.product, view.card
    redeemed = view.redemptions
    hand_delivery = order.recipient_email is None or order.recipient_email == order.buyer_email
    return {
        "buyer": {
            "city": None,
            "country": None,
            "county": None,
            "email": order.buyer_email,
            "guest": True,
            "handDelivery": hand_delivery,
            "house": None,
            "id": None,
            "name": order.buyer_name,
            "phone": None,
            "postcode": None,
            "street": None,
            "town": None,
        },
        "currency": order.currency,
        "voucher": {
            "currency": item.currency,
            "deliveryType": order.delivery_type,
            "description": item.description,
            "hiddenPriceOnVoucher": item.hide_price_disabled,
            "id": item.number,
            "image": item.image,
            "imageNoPrice": None,
            "isDeliveryDateSet": order.delivery_date is not None,
            "message": order.recipient_message,
            "name": item.title,
            "price": order.unit_price,
            "priceOnVoucher": display_price(_printed_value(view), item.currency),
            "type": "voucher",
            "voucherType": item.type,
        },
        "purchasedAt": printed(order.created_at),
        "recipient": {
            "city": None,
            "comment": _comment(order.recipient_message),
            "country": None,
            "county": None,
            "email": order.recipient_email,
            "from": None,
            "houseName": None,
            "name": order.recipient_name,
            "postcode": None,
            "streetName": None,
        },
        "redeemedDate": printed(redeemed[-1].occurred_at) if redeemed else None,
        "reference": card.reference,
        "refund": order.refund,
        "shippingTotal": order.shipping_total,
        "subTotal": order.sub_total,
        "taxTotal": order.tax_total,
        "total": order.total,
    }


def card_status(view: CardView) -> dict[str, Any]:
    card = view.card
    state = view.status
    return {
        "code": card.code,
        "current": card.stock - card.balance,
        "expirations": []
        if card.valid_until is None
        else [{"from": printed(card.valid_from), "to": printed(card.valid_until)}],
        "monetary": card.monetary,
        "multiUsable": card.monetary or card.stock > 1,
        "order": _order(view),
        "redeemableOn": list(card.redeemable_on),
        "redeemed": state is CardStatus.COMPLETED,
        "redeemHistory": [
            {"redeemAt": printed(row.occurred_at), "amount": -row.amount} for row in view.redemptions
        ],
        "remainingString": rules.remaining(card.balance, monetary=card.monetary, currency=card.currency),
        "status": state.value,
        "stock": card.stock,
        "balance": card.balance,
    }


def order(result: PlacedOrder, views: list[CardView]) -> dict[str, Any]:
    """``GET /order/{orderId}``: the Order object of the seed, with its ``orderId`` and ``codes``."""
    first = _order(views[0]) if views else {}
    first.pop("reference", None)
    first.pop("redeemedDate", None)
    return {
        "orderId": result.order.number,
        **first,
        "reference": result.order.reference,
        "quantity": result.order.quantity,
        "payments": list(result.order.payments),
        "codes": [_code(view.card, view) for view in views],
    }


def _code(card: GiftCard, view: CardView) -> dict[str, Any]:
    return {
        "code": card.code,
        "reference": card.reference,
        "status": view.status.value,
        "stock": card.stock,
        "current": card.stock - card.balance,
    }
