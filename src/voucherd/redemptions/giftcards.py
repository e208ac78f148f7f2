"""A gift card at the checkout (one core, RELIABILITY M4): a stored value validates as a fixed
discount worth its balance and each redemption, under its own order reference, takes
min(balance, transaction amount); a voucher for a thing or an experience validates as a free item
and each redemption takes one use. The checkout's answers are the same objects as a campaign
code's, so the dialects map them as they map any other."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.core.errors import DomainError
from voucherd.core.money import Amount, display_price
from voucherd.giftcards import codes
from voucherd.giftcards.balances import debit, settle, unusable
from voucherd.giftcards.errors import GiftCardExpired, GiftCardNotYetValid, GiftCardUsedUp
from voucherd.giftcards.ledger import REDEEM
from voucherd.models import GiftCard, GiftLedgerEntry, GiftProduct, SalesPage
from voucherd.offers.errors import VoucherAlreadyRedeemed, VoucherExpired, VoucherNotYetActive
from voucherd.offers.repository import Offer
from voucherd.redemptions.errors import OrderReferenceConflict
from voucherd.redemptions.schemas import RedemptionResult, Validation
from voucherd.vouchers.errors import VoucherNotFound


def is_gift_code(code: str) -> bool:
    """Whether the checkout looks the code up among gift cards first (its shape and check symbol)."""
    return codes.parse(code) is not None


async def _card(
    session: AsyncSession, principal: Principal, code: str
) -> tuple[GiftCard, GiftProduct] | None:
    canonical = codes.parse(code)
    if canonical is None:
        return None
    row = (
        await session.execute(
            select(GiftCard, GiftProduct)
            .join(GiftProduct, GiftProduct.id == GiftCard.product_id)
            .where(GiftCard.client_id == principal.client_id, GiftCard.code == canonical)
        )
    ).first()
    return None if row is None else (row[0], row[1])


def _checkout_error(card: GiftCard, now: datetime) -> DomainError | None:
    """Why the card cannot pay now, in the checkout's documented words: a refunded or replaced
    code no longer exists as a means of payment."""
    problem = unusable(card, now)
    if problem is None:
        return None
    if isinstance(problem, GiftCardUsedUp):
        return VoucherAlreadyRedeemed()
    if isinstance(problem, GiftCardExpired):
        return VoucherExpired()
    if isinstance(problem, GiftCardNotYetValid):
        return VoucherNotYetActive()
    return VoucherNotFound()


def _offer(card: GiftCard, product: GiftProduct) -> Offer:
    if card.monetary:
        kind, value = "fixed", card.balance
        description = f"Gift card: {display_price(card.balance, card.currency)} to spend"
    else:
        kind, value = "free_item", 0
        description = f"Gift voucher: {product.title}"
    return Offer(
        id=card.id,
        code=card.code,
        campaign_id=product.id,
        redeemed_count=card.stock - card.balance,
        created_at=card.created_at,
        campaign_name=product.title,
        discount_type=kind,
        discount_value=value,
        discount_description=description,
        minimum_spend=None,
        currency=card.currency,
        valid_from=card.valid_from,
        valid_until=card.valid_until,
        uses_per_voucher=card.stock,
        uses_per_customer=None,
        require_customer=False,
        status="active",
    )


async def validate(session: AsyncSession, principal: Principal, code: str) -> Validation | None:
    """The checkout's answer for a gift card, or ``None`` when the code is none of the client's."""
    found = await _card(session, principal, code)
    if found is None:
        return None
    card, product = found
    remaining = (1 if card.balance else 0) if card.monetary else card.balance
    return Validation(
        code=card.code,
        offer=_offer(card, product),
        error=_checkout_error(card, clock.now()),
        remaining_uses=remaining,
    )


async def redeem(
    session: AsyncSession,
    principal: Principal,
    *,
    code: str,
    amount: Amount,
    order_reference: str | None,
    redeemed_at: datetime | None,
    sales_page_id: uuid.UUID | None = None,
) -> RedemptionResult | None:
    """Take what the order uses from the card, once per order reference (a retry answers as the
    first time did), or ``None`` when the code is none of the client's gift cards."""
    found = await _card(session, principal, code)
    if found is None:
        return None
    card, _ = found
    await settle(session, card)  # expired holds back, an expired card closed, before it pays
    transaction = amount.in_minor_units(card.currency, field="transaction_amount")
    if order_reference is not None:
        earlier = await _earlier(session, card, order_reference)
        if earlier is not None:
            return _replay(card, earlier, transaction)
    error = _checkout_error(card, clock.now())
    if error is not None:
        raise error
    take = min(card.balance, transaction) if card.monetary else 1
    if take == 0:  # a transaction of nothing takes nothing
        return RedemptionResult(card.id, card.code, card.currency, transaction, 0, replayed=False)
    try:
        async with session.begin_nested():
            row = await debit(
                session,
                principal,
                card,
                take,
                kind=REDEEM,
                at=redeemed_at or clock.now(),
                order_reference=order_reference,
                transaction_amount=transaction,
                page=None if sales_page_id is None else await session.get(SalesPage, sales_page_id),
            )
    except IntegrityError:  # the same order, redeemed meanwhile by a concurrent retry
        assert order_reference is not None
        await session.refresh(card)
        earlier = await _earlier(session, card, order_reference)
        if earlier is None:  # pragma: no cover - the unique key guarantees the row
            raise
        return _replay(card, earlier, transaction)
    return RedemptionResult(
        redemption_id=row.id,
        code=card.code,
        currency=card.currency,
        transaction_amount=transaction,
        discount_applied=take if card.monetary else 0,
        replayed=False,
    )


async def _earlier(session: AsyncSession, card: GiftCard, order_reference: str) -> GiftLedgerEntry | None:
    return await session.scalar(
        select(GiftLedgerEntry).where(
            GiftLedgerEntry.giftcard_id == card.id,
            GiftLedgerEntry.order_reference == order_reference,
            GiftLedgerEntry.kind == REDEEM,
        )
    )


def _replay(card: GiftCard, earlier: GiftLedgerEntry, transaction: int) -> RedemptionResult:
    if earlier.transaction_amount != transaction:
        raise OrderReferenceConflict(
            f"Order {earlier.order_reference} was already paid with this gift card for a different "
            "transaction_amount; use a new order_reference for a different order."
        )
    return RedemptionResult(
        redemption_id=earlier.id,
        code=card.code,
        currency=card.currency,
        transaction_amount=transaction,
        discount_applied=-earlier.amount if card.monetary else 0,
        replayed=True,
    )
