"""Selling gift vouchers: an order records what was bought and how it was paid (payments are
recorded, never processed), takes the stock with a guarded UPDATE, and issues its codes with
their first ledger rows, all in the caller's one transaction."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.numbers import next_number
from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.service import Principal
from voucherd.core import clock, links
from voucherd.core.emails import ContactError, normalize_email
from voucherd.core.errors import InvalidInput
from voucherd.core.money import MAX_MINOR, display_price
from voucherd.core.pagination import Page, PageRequest
from voucherd.events import service as events
from voucherd.giftcards import codes, rules
from voucherd.giftcards.catalog import STORED_VALUES, AccessLevel, ProductType, sales_page
from voucherd.giftcards.errors import (
    CurrencyMismatch,
    NotOnSale,
    OptionNotFound,
    OrderNotFound,
    PaymentMismatch,
    ProductNotFound,
    SoldOut,
)
from voucherd.giftcards.ledger import ISSUE, actor, entry
from voucherd.mail.messages import VoucherMail
from voucherd.mail.service import enqueue_voucher_mail
from voucherd.models import GiftCard, GiftDeliveryMethod, GiftOption, GiftOrder, GiftProduct, SalesPage

MAX_QUANTITY = 100
MAX_PAYMENTS = 20
_products = cast(Table, GiftProduct.__table__)


@dataclass(frozen=True)
class Payment:
    amount: int
    currency: str
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderInput:
    product: int
    sales_page: int | str | None = None
    option: int | None = None
    monetary_amount: int | None = None
    quantity: int = 1
    delivery_method: int | None = None
    payments: list[Payment] = field(default_factory=list)
    buyer_name: str | None = None
    buyer_email: str | None = None
    recipient_name: str | None = None
    recipient_email: str | None = None
    recipient_message: str | None = None
    delivery_date: datetime | None = None


@dataclass(frozen=True)
class PlacedOrder:
    order: GiftOrder
    cards: list[GiftCard]


def _email(value: str | None, name: str) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return normalize_email(value)
    except ContactError as error:
        raise InvalidInput(f"{name} {error}.", field=name) from None


def _optional_text(value: str | None, name: str, limit: int) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > limit:
        raise InvalidInput(f"{name} must be at most {limit} characters.", field=name)
    return value.strip()


def _reference(number: int) -> str:
    """What people quote about an order: six letters and the order's number, ``QWHCNE-1GB``."""
    letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(6))
    digits, base36 = number, ""
    while True:
        digits, rest = divmod(digits, 36)
        base36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rest] + base36
        if not digits:
            return f"{letters}-{base36}"


async def _priced(
    session: AsyncSession, product: GiftProduct, data: OrderInput
) -> tuple[GiftOption | None, int, int]:
    """The option bought, the price of one, and what one code holds (uses or minor units)."""
    option = None
    if data.option is not None:
        option = await session.scalar(
            select(GiftOption).where(GiftOption.product_id == product.id, GiftOption.number == data.option)
        )
        if option is None:
            raise OptionNotFound()
    if product.type == ProductType.MONETARY:
        amount = data.monetary_amount
        if amount is None:
            raise InvalidInput(
                "monetaryAmount is required for a monetary gift voucher.", field="monetaryAmount"
            )
        low, high = product.min_amount or 1, product.max_amount or MAX_MINOR
        if not low <= amount <= high:
            raise InvalidInput(
                f"monetaryAmount must be between {display_price(low, product.currency)} and "
                f"{display_price(high, product.currency)} ({low} to {high} in minor units).",
                field="monetaryAmount",
            )
        return option, amount, amount
    if option is None:
        raise InvalidInput(
            "optionId is required: say which option of the gift voucher is bought.", field="optionId"
        )
    if product.type == ProductType.PREDEFINED:
        return option, option.sell_price, option.real_value or option.sell_price
    if product.type == ProductType.FIXED:
        return option, option.sell_price, option.quantity or 1
    return option, option.sell_price, 1


async def _delivery(
    session: AsyncSession, product: GiftProduct, number: int | None
) -> tuple[GiftDeliveryMethod | None, int]:
    query = select(GiftDeliveryMethod).where(GiftDeliveryMethod.product_id == product.id)
    if number is not None:
        query = query.where(GiftDeliveryMethod.number == number)
    method = (await session.execute(query.order_by(GiftDeliveryMethod.position).limit(1))).scalars().first()
    if method is None and number is not None:
        raise InvalidInput(
            f"deliveryMethodId {number} is not a delivery method of this voucher.", field="deliveryMethodId"
        )
    shipping = int(method.options[0].get("amount", 0)) if method is not None and method.options else 0
    return method, shipping


def _check_payments(payments: list[Payment], total: int, currency: str) -> None:
    if len(payments) > MAX_PAYMENTS:
        raise InvalidInput(f"An order takes at most {MAX_PAYMENTS} payments.", field="payments")
    for index, payment in enumerate(payments):
        if payment.currency.upper() != currency:
            raise CurrencyMismatch(
                f"payments[{index}][currency] is {payment.currency.upper()}; "
                f"the voucher is sold in {currency}.",
                field=f"payments[{index}][currency]",
            )
        if not 0 < payment.amount <= MAX_MINOR:
            raise InvalidInput(
                f"payments[{index}][amount] must be more than 0 and at most {MAX_MINOR} "
                "(minor units: 2000 is 20.00).",
                field=f"payments[{index}][amount]",
            )
    paid = sum(payment.amount for payment in payments)
    if paid != total:
        raise PaymentMismatch(
            f"The payments add up to {display_price(paid, currency)} but the order costs "
            f"{display_price(total, currency)} ({total} in minor units); "
            "record payments that cover it exactly.",
            field="payments",
        )


class OrderStatus(StrEnum):
    PAID = "paid"
    AWAITING_PAYMENT = "awaiting_payment"  # placed on the shop: no codes until its payment is recorded


async def place_order(session: AsyncSession, principal: Principal, data: OrderInput) -> PlacedOrder:
    """An order with its payments recorded: its codes are issued and mailed at once."""
    require(principal, Permission.MANAGE)
    product, page = await for_sale(session, principal, data)
    order = await new_order(session, page, product, data, status=OrderStatus.PAID)
    return await issue(session, principal, order)


async def for_sale(
    session: AsyncSession, principal: Principal, data: OrderInput
) -> tuple[GiftProduct, SalesPage]:
    """The client's product an order names, and the sales page it is sold on (the product's own
    unless the order names one)."""
    product = await session.scalar(
        select(GiftProduct).where(
            GiftProduct.client_id == principal.client_id,
            GiftProduct.number == data.product,
            GiftProduct.deleted_at.is_(None),
        )
    )
    if product is None:
        raise ProductNotFound()
    page = (
        await sales_page(session, principal, data.sales_page)
        if data.sales_page is not None
        else await session.get_one(SalesPage, product.sales_page_id)
    )
    return product, page


async def new_order(
    session: AsyncSession, page: SalesPage, product: GiftProduct, data: OrderInput, *, status: OrderStatus
) -> GiftOrder:
    """The order row, its price checked and its stock taken; a paid order's payments must cover
    its total exactly. Its codes come from :func:`issue`."""
    if product.access_level == AccessLevel.UNPUBLISHED:
        raise NotOnSale()
    if not 1 <= data.quantity <= MAX_QUANTITY:
        raise InvalidInput(f"quantity must be between 1 and {MAX_QUANTITY}.", field="quantity")
    option, unit_price, unit_value = await _priced(session, product, data)
    method, shipping = await _delivery(session, product, data.delivery_method)
    goods = unit_price * data.quantity
    total = goods + shipping
    if total > MAX_MINOR:
        raise InvalidInput("The order's total is too large.", field="quantity")
    if status is OrderStatus.PAID:
        _check_payments(data.payments, total, product.currency)
    buyer_email = _email(data.buyer_email, "buyer[email]")
    recipient_email = _email(data.recipient_email, "recipient[email]")
    message = _optional_text(data.recipient_message, "recipient[message]", 2000)
    # The stock, taken with a guarded UPDATE: two orders for the last one cannot both succeed.
    taken = await session.scalar(
        update(_products)
        .where(
            _products.c.id == product.id,
            (_products.c.stock.is_(None)) | (_products.c.stock >= data.quantity),
        )
        .values(
            stock=_products.c.stock - data.quantity,
            sold=_products.c.sold + data.quantity,
        )
        .returning(_products.c.id)
    )
    if taken is None:
        raise SoldOut()
    now = clock.now()
    sub_total, tax_total = rules.split_tax(goods, product.tax_rate)
    number = await next_number(session)
    order = GiftOrder(
        number=number,
        client_id=product.client_id,
        sales_page_id=page.id,
        product_id=product.id,
        option_id=None if option is None else option.id,
        delivery_method_id=None if method is None else method.id,
        delivery_type="electronic" if method is None else method.type,
        reference=_reference(number),
        quantity=data.quantity,
        unit_price=unit_price,
        unit_value=unit_value,
        currency=product.currency,
        sub_total=sub_total,
        tax_total=tax_total,
        shipping_total=shipping,
        total=total,
        buyer_name=_optional_text(data.buyer_name, "buyer[name]", 200),
        buyer_email=buyer_email,
        recipient_name=_optional_text(data.recipient_name, "recipient[name]", 200),
        recipient_email=recipient_email,
        recipient_message=message,
        delivery_date=data.delivery_date,
        payments=[
            {"amount": p.amount, "currency": p.currency.upper(), "title": p.title, "metadata": p.metadata}
            for p in data.payments
        ],
        status=status.value,
        paid_at=now if status is OrderStatus.PAID else None,
        created_at=now,
    )
    session.add(order)
    await session.flush()
    return order


async def issue(session: AsyncSession, principal: Principal, order: GiftOrder) -> PlacedOrder:
    """A paid order's codes, each with its first ledger row, the ``order.created`` event and the
    voucher mails (at the delivery date), in the caller's transaction."""
    product = await session.get_one(GiftProduct, order.product_id)
    option = None if order.option_id is None else await session.get_one(GiftOption, order.option_id)
    page = await session.get_one(SalesPage, order.sales_page_id)
    now = clock.now()
    valid_from, valid_until = rules.validity(
        expiry_type=product.expiry_type,
        interval=product.expiry_interval,
        period=product.expiry_period,
        date_from=product.expiry_from,
        date_to=product.expiry_to,
        purchased_at=now,
    )
    cards = [
        GiftCard(
            client_id=order.client_id,
            order_id=order.id,
            product_id=product.id,
            code=codes.new_code(),
            reference=f"{order.reference}-{index}",
            monetary=product.type in STORED_VALUES,
            currency=product.currency,
            stock=order.unit_value,
            balance=order.unit_value,
            status="in_progress",
            valid_from=valid_from,
            valid_until=valid_until,
            redeemable_on=list(product.redeemable_on),
            created_at=now,
            updated_at=now,
        )
        for index in range(1, order.quantity + 1)
    ]
    session.add_all(cards)
    await session.flush()
    who = actor(principal)
    session.add_all(
        entry(card, ISSUE, card.balance, balance_after=card.balance, at=now, page_id=page.id, who=who)
        for card in cards
    )
    await events.record(
        session,
        order.client_id,
        events.ORDER_CREATED,
        {
            "orderId": order.number,
            "reference": order.reference,
            "voucherId": product.number,
            "optionId": None if option is None else option.number,
            "domainId": page.number,
            "quantity": order.quantity,
            "currency": order.currency,
            "total": order.total,
            "codes": [card.code for card in cards],
        },
    )
    if order.recipient_email is not None:
        await _mail(session, principal, PlacedOrder(order, cards), product, option)
    return PlacedOrder(order, cards)


async def _mail(
    session: AsyncSession,
    principal: Principal,
    placed: PlacedOrder,
    product: GiftProduct,
    option: GiftOption | None,
) -> None:
    """One mail per code to the recipient (the buyer when no one else is named), at the order's
    delivery date or now, enqueued in the order's transaction."""
    order = placed.order
    assert order.recipient_email is not None
    if product.type in STORED_VALUES:
        value, what_for = display_price(order.unit_value, order.currency), None
    else:
        uses = f" ({order.unit_value} uses)" if order.unit_value > 1 else ""
        value, what_for = (
            None,
            ((option.description if option else "") or product.description or product.title) + uses,
        )
    for card in placed.cards:
        url = links.redemption_url(card.code)
        mail = VoucherMail(
            to_email=order.recipient_email,
            to_name=order.recipient_name,
            client_name=principal.client_name,
            title=product.title,
            code=card.code,
            value=value,
            what_for=what_for,
            valid_from=card.valid_from,
            valid_until=card.valid_until,
            timezone=principal.timezone,
            terms=product.terms or None,
            message=order.recipient_message,
            # A voucher bought for oneself is "your voucher", not a gift from oneself.
            from_name=None if order.recipient_email == order.buyer_email else order.buyer_name,
            public_url=url,
            qr_payload=url,
        )
        await enqueue_voucher_mail(session, principal.client_id, mail, order.delivery_date)


async def get_order(session: AsyncSession, principal: Principal, number: int) -> PlacedOrder:
    require(principal, Permission.REDEEM)
    order = await session.scalar(
        select(GiftOrder).where(GiftOrder.client_id == principal.client_id, GiftOrder.number == number)
    )
    if order is None:
        raise OrderNotFound()
    cards = (await session.execute(select(GiftCard).where(GiftCard.order_id == order.id))).scalars()
    return PlacedOrder(order, sorted(cards, key=lambda card: int(card.reference.rsplit("-", 1)[1])))


@dataclass(frozen=True)
class OrderRow:
    """An order as a list shows it: with its product's title."""

    order: GiftOrder
    product_title: str


@dataclass(frozen=True)
class OrderDetails:
    """An order with its codes and what it sold."""

    order: GiftOrder
    cards: list[GiftCard]
    product: GiftProduct
    option: GiftOption | None


def _search(typed: str) -> ColumnElement[bool]:
    """An order whose number, reference, buyer email or one of whose codes is ``typed``."""
    text = typed.strip()
    matches: list[ColumnElement[bool]] = [
        GiftOrder.reference == text.upper(),
        func.lower(GiftOrder.buyer_email).contains(text.lower(), autoescape=True),
    ]
    if text.isdigit() and len(text) <= 18:
        matches.append(GiftOrder.number == int(text))
    code = codes.parse(text)
    if code is not None:
        matches.append(GiftOrder.id.in_(select(GiftCard.order_id).where(GiftCard.code == code)))
    # A code's reference (``QWHCNE-1GB-2``) finds its order too.
    matches.append(GiftOrder.id.in_(select(GiftCard.order_id).where(GiftCard.reference == text.upper())))
    return or_(*matches)


async def list_orders(
    session: AsyncSession, principal: Principal, page: PageRequest, *, search: str | None = None
) -> Page[OrderRow]:
    """The client's orders, newest first; ``search`` finds one by its number, its reference, the
    buyer's email (or part of it) or one of its codes."""
    require(principal, Permission.MANAGE)
    where: list[ColumnElement[bool]] = [GiftOrder.client_id == principal.client_id]
    if search and search.strip():
        where.append(_search(search))
    total = await session.scalar(select(func.count()).select_from(GiftOrder).where(*where))
    rows = await session.execute(
        select(GiftOrder, GiftProduct.title)
        .join(GiftProduct, GiftProduct.id == GiftOrder.product_id)
        .where(*where)
        .order_by(GiftOrder.created_at.desc(), GiftOrder.number.desc())
        .limit(page.limit)
        .offset(page.offset)
    )
    return Page(items=[OrderRow(order, title) for order, title in rows], total=total or 0, request=page)


async def order_details(session: AsyncSession, principal: Principal, number: int) -> OrderDetails:
    """An order with its codes (replaced ones too), its product and option."""
    placed = await get_order(session, principal, number)
    order = placed.order
    product = await session.get_one(GiftProduct, order.product_id)
    option = None if order.option_id is None else await session.get(GiftOption, order.option_id)
    cards = sorted(placed.cards, key=lambda card: (int(card.reference.rsplit("-", 1)[1]), card.created_at))
    return OrderDetails(order, cards, product, option)
