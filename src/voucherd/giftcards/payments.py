"""Paying for an order placed on the shop. voucherd holds no card data: an order waits as
``awaiting_payment``, without codes, until its payment is confirmed; then its codes are issued
and mailed exactly as for an order placed through the API (``orders.issue``).

How the payment is taken is a :class:`PaymentProvider`. The only one today is :data:`MANUAL`:
the buyer pays the business (at the counter, by bank transfer) and staff record it with its
method and reference. A card provider (its hosted page, its webhook confirming the payment) is
a later step that implements the same two methods."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.giftcards.errors import OrderNotFound, OrderRefunded
from voucherd.giftcards.orders import (
    OrderInput,
    OrderStatus,
    Payment,
    PlacedOrder,
    for_sale,
    get_order,
    issue,
    new_order,
)
from voucherd.models import GiftOrder

_orders = cast(Table, GiftOrder.__table__)


class PaymentProvider(Protocol):
    """Takes the payment of a shop order."""

    name: str

    def instructions(self, order: GiftOrder, *, business: str) -> str:
        """What the buyer is told to do once the order is placed."""
        ...

    def payment(self, order: GiftOrder, *, method: str, reference: str) -> Payment:
        """The payment recorded on the order when it is confirmed."""
        ...


class ManualPayments:
    """The buyer pays the business directly; staff record the payment (``mark_paid``)."""

    name = "manual"

    def instructions(self, order: GiftOrder, *, business: str) -> str:
        return (
            f"Pay {business} directly (at the counter, by phone or by bank transfer) and quote "
            f"your order reference {order.reference}. Your voucher is emailed as soon as "
            f"{business} records your payment."
        )

    def payment(self, order: GiftOrder, *, method: str, reference: str) -> Payment:
        return Payment(
            amount=order.total,
            currency=order.currency,
            title=method,
            metadata={"reference": reference, "provider": self.name},
        )


MANUAL = ManualPayments()


@dataclass(frozen=True)
class PaymentInput:
    method: str  # "Cash", "Card at the counter", "Bank transfer"
    reference: str = ""  # the till receipt or transfer reference


def _checked(data: PaymentInput) -> tuple[str, str]:
    method, reference = data.method.strip(), data.reference.strip()
    if not method:
        raise InvalidInput("method is required: how the buyer paid, such as Cash.", field="method")
    if len(method) > 100:
        raise InvalidInput("method must be at most 100 characters.", field="method")
    if len(reference) > 200:
        raise InvalidInput("reference must be at most 200 characters.", field="reference")
    return method, reference


async def mark_paid(
    session: AsyncSession,
    principal: Principal,
    number: int,
    data: PaymentInput,
    *,
    provider: PaymentProvider = MANUAL,
) -> PlacedOrder:
    """Record the payment of an order awaiting it: its codes are issued, the ``order.created``
    event written and the voucher mails enqueued. Marking a paid order again changes nothing and
    answers it as it is; a refunded order cannot be paid (409)."""
    require(principal, Permission.MANAGE)
    method, reference = _checked(data)
    order = await session.scalar(
        select(GiftOrder).where(GiftOrder.client_id == principal.client_id, GiftOrder.number == number)
    )
    if order is None:
        raise OrderNotFound()
    if order.refunded_at is not None:
        raise OrderRefunded()
    payment = provider.payment(order, method=method, reference=reference)
    # One confirmation per order: the first to move it out of awaiting_payment issues the codes,
    # a concurrent or repeated one finds it paid and issues nothing.
    moved = await session.scalar(
        update(_orders)
        .where(
            _orders.c.id == order.id,
            _orders.c.status == OrderStatus.AWAITING_PAYMENT.value,
            _orders.c.refunded_at.is_(None),
        )
        .values(
            status=OrderStatus.PAID.value,
            paid_at=clock.now(),
            payments=[
                {
                    "amount": payment.amount,
                    "currency": payment.currency,
                    "title": payment.title,
                    "metadata": payment.metadata,
                }
            ],
        )
        .returning(_orders.c.id)
    )
    await session.refresh(order)
    if moved is None:
        return await get_order(session, principal, number)
    return await issue(session, principal, order)


async def sell(
    session: AsyncSession,
    principal: Principal,
    data: OrderInput,
    payment: PaymentInput,
    *,
    provider: PaymentProvider = MANUAL,
) -> PlacedOrder:
    """An order taken in person (at the counter): the order service prices it and takes its
    stock, then its payment is recorded with its method and reference for what it costs, and its
    codes are issued (and mailed when someone is named to receive them), in one transaction."""
    require(principal, Permission.MANAGE)
    _checked(payment)
    product, page = await for_sale(session, principal, data)
    order = await new_order(session, page, product, data, status=OrderStatus.AWAITING_PAYMENT)
    return await mark_paid(session, principal, order.number, payment, provider=provider)
