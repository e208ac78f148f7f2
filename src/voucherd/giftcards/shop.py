"""The gift voucher shop of a sales page (``/shop/{subdomain}/``): anyone may buy there, so an
order placed on it is checked field by field (every problem at once, for the form to show) and
waits as ``awaiting_payment`` without codes until its payment is recorded (``payments``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.branding import NO_BRAND, Brand, brand_from
from voucherd.core import clock
from voucherd.core.emails import ContactError, normalize_email
from voucherd.core.errors import InvalidInput
from voucherd.core.money import display_price
from voucherd.giftcards.catalog import ProductType, ProductView, on_sale
from voucherd.giftcards.errors import ProductNotFound
from voucherd.giftcards.orders import OrderInput, OrderStatus, new_order
from voucherd.models import Client, GiftOrder, GiftProduct, SalesPage

MAX_MESSAGE = 1000
MAX_DELIVERY_DAYS = 365


@dataclass(frozen=True)
class Shop:
    page: SalesPage
    business: str  # the client's name
    timezone: str
    brand: Brand = NO_BRAND


@dataclass(frozen=True)
class ShopOrder:
    """What the buyer typed, parsed; the fields are named as the form names them."""

    option: int | None = None
    amount: int | None = None  # minor units, for a monetary voucher
    delivery_method: int | None = None
    buyer_name: str = ""
    buyer_email: str = ""
    recipient_name: str = ""
    recipient_email: str = ""
    message: str = ""
    delivery_date: date | None = None


async def find_shop(session: AsyncSession, subdomain: str) -> Shop | None:
    """The sales page with this name (unique across clients), or ``None``."""
    row = (
        await session.execute(
            select(
                SalesPage,
                Client.name,
                Client.timezone,
                Client.number,
                Client.accent_color,
                Client.logo_digest,
            )
            .join(Client, Client.id == SalesPage.client_id)
            .where(SalesPage.name == subdomain.strip().lower())
        )
    ).first()
    if row is None:
        return None
    return Shop(row[0], row.name, row.timezone, brand_from(row.number, row.accent_color, row.logo_digest))


def today(shop: Shop) -> date:
    return clock.now().astimezone(ZoneInfo(shop.timezone)).date()


def delivery_methods(view: ProductView) -> list[int]:
    """The methods the shop offers: electronic ones (a postal one needs an address the shop does
    not ask for)."""
    return [method.number for method in view.delivery if method.type == "electronic"]


def _email_problem(value: str, *, required: bool) -> str | None:
    if not value.strip():
        return "Enter an email address." if required else None
    try:
        normalize_email(value)
    except ContactError:
        return "Enter an email address like name@example.com."
    return None


def problems(shop: Shop, view: ProductView, data: ShopOrder) -> dict[str, str]:
    """Every reason this order cannot be placed, by field; empty when it can."""
    found: dict[str, str] = {}
    product = view.product
    if product.type == ProductType.MONETARY:
        low, high = product.min_amount or 1, product.max_amount
        if data.amount is None:
            found["amount"] = "Enter the amount the voucher is worth."
        elif data.amount < low or (high is not None and data.amount > high):
            upper = f" and {display_price(high, product.currency)}" if high is not None else " or more"
            found["amount"] = f"Enter an amount between {display_price(low, product.currency)}{upper}."
        if data.option is not None and data.option not in {option.number for option in view.options}:
            found["option"] = "Choose one of the options shown."
    elif data.option not in {option.number for option in view.options}:
        found["option"] = "Choose an option."
    methods = delivery_methods(view)
    if data.delivery_method is not None and data.delivery_method not in methods:
        found["delivery_method"] = "Choose one of the delivery methods shown."
    if not methods:
        found["delivery_method"] = "This voucher cannot be delivered by email; ask the business."
    for name, value, limit in (
        ("buyer_name", data.buyer_name, 200),
        ("recipient_name", data.recipient_name, 200),
        ("message", data.message, MAX_MESSAGE),
    ):
        if len(value.strip()) > limit:
            found[name] = f"Use at most {limit} characters."
    if not data.buyer_name.strip():
        found["buyer_name"] = "Enter your name."
    for name, value, required in (
        ("buyer_email", data.buyer_email, True),
        ("recipient_email", data.recipient_email, False),
    ):
        problem = _email_problem(value, required=required)
        if problem is not None:
            found[name] = problem
    if data.delivery_date is not None:
        first = today(shop)
        if not first <= data.delivery_date <= first + timedelta(days=MAX_DELIVERY_DAYS):
            found["delivery_date"] = (
                f"Choose a date from today to {MAX_DELIVERY_DAYS} days ahead, or leave it empty "
                "to send the voucher as soon as it is paid."
            )
    return found


def _send_at(shop: Shop, day: date | None) -> datetime | None:
    """The start of the delivery date in the client's timezone; ``None`` (at once) for today."""
    if day is None or day <= today(shop):
        return None
    return datetime.combine(day, time(), tzinfo=ZoneInfo(shop.timezone))


async def place_shop_order(session: AsyncSession, shop: Shop, number: int, data: ShopOrder) -> GiftOrder:
    """An order for the product ``number`` of the shop, awaiting payment; a product the shop does
    not sell is :class:`ProductNotFound`, the first of :func:`problems` an ``InvalidInput``. The
    voucher goes to the buyer when no recipient email is given."""
    view = await on_sale(session, shop.page, number)
    if view is None:
        raise ProductNotFound()
    found = problems(shop, view, data)
    if found:
        name, message = next(iter(found.items()))
        raise InvalidInput(message, field=name)
    to_buyer = not data.recipient_email.strip()
    return await new_order(
        session,
        shop.page,
        view.product,
        OrderInput(
            product=view.product.number,
            option=data.option,
            monetary_amount=data.amount,
            delivery_method=data.delivery_method or delivery_methods(view)[0],
            buyer_name=data.buyer_name,
            buyer_email=data.buyer_email,
            recipient_name=(data.buyer_name if to_buyer else data.recipient_name) or None,
            recipient_email=data.buyer_email if to_buyer else data.recipient_email,
            recipient_message=data.message,
            delivery_date=_send_at(shop, data.delivery_date),
        ),
        status=OrderStatus.AWAITING_PAYMENT,
    )


async def shop_order(session: AsyncSession, shop: Shop, reference: str) -> tuple[GiftOrder, str] | None:
    """An order of the shop by its reference, with its product's title, for its confirmation
    page (which shows no codes and no names)."""
    row = (
        await session.execute(
            select(GiftOrder, GiftProduct.title)
            .join(GiftProduct, GiftProduct.id == GiftOrder.product_id)
            .where(GiftOrder.sales_page_id == shop.page.id, GiftOrder.reference == reference.strip().upper())
        )
    ).first()
    return None if row is None else (row[0], row[1])
