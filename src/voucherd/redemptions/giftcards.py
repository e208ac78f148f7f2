"""A gift card at the checkout (one core, RELIABILITY M4): a stored value validates as a fixed
discount worth its balance and each redemption, under its own order reference, takes
min(balance, transaction amount); a voucher for a thing or an experience validates as a free item
and each redemption takes one use. The checkout's answers are the same objects as a campaign
code's, so the dialects map them as they map any other."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.campaigns.rules import DiscountType
from voucherd.core import clock
from voucherd.core.errors import DomainError, InvalidInput
from voucherd.core.money import Amount, display_price
from voucherd.giftcards import codes
from voucherd.giftcards import vouchers as gift_vouchers
from voucherd.giftcards.balances import credit, debit, settle, unusable
from voucherd.giftcards.errors import (
    GiftCardExpired,
    GiftCardNotYetValid,
    GiftCardUsedUp,
    InsufficientBalance,
)
from voucherd.giftcards.ledger import REDEEM, ROLLBACK
from voucherd.giftcards.vouchers import GiftBalance
from voucherd.models import Campaign, GiftCard, GiftLedgerEntry, GiftProduct, Redemption, Voucher
from voucherd.offers.errors import VoucherAlreadyRedeemed, VoucherExpired, VoucherNotYetActive
from voucherd.offers.repository import Offer
from voucherd.offers.rules import usability_error
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


# Gift vouchers that are campaign codes (giftcards.vouchers): the checkout finds them as any code,
# then takes what the order uses from the voucher's card, beside the redemption row.


def is_gift_voucher(offer: Offer) -> bool:
    return offer.discount_type == DiscountType.GIFT


def worth(offer: Offer, held: GiftBalance) -> Offer:
    """A gift voucher's offer as the checkout applies it: a fixed discount worth its balance."""
    return replace(
        offer,
        discount_type=DiscountType.FIXED.value,
        discount_value=held.balance,
        discount_description=f"Gift voucher: {display_price(held.balance, offer.currency)} to spend",
    )


async def validate_voucher(session: AsyncSession, offer: Offer) -> Validation:
    held = await gift_vouchers.balance(session, offer.id, offer.discount_value)
    error = usability_error(offer, offer.redeemed_count, clock.now())
    if error is None and held.balance == 0:
        error = VoucherAlreadyRedeemed()
    return Validation(
        code=offer.code,
        offer=worth(offer, held),
        error=error,
        remaining_uses=1 if held.balance else 0,
        gift=held,
    )


async def balance_of(session: AsyncSession, offer: Offer) -> GiftBalance:
    return await gift_vouchers.balance(session, offer.id, offer.discount_value)


async def take(
    session: AsyncSession, principal: Principal, offer: Offer, *, amount: int, credits: int | None
) -> tuple[GiftCard, int]:
    """The voucher's card, locked, and what this redemption takes from it: the ``credits``
    asked (at most the order's amount), else all the order can use. More credits than the
    balance are refused."""
    card = await gift_vouchers.card(
        session,
        principal,
        voucher_id=offer.id,
        code=offer.code,
        currency=offer.currency,
        loaded=offer.discount_value,
    )
    if card.balance == 0 and credits is None:
        raise VoucherAlreadyRedeemed()
    return card, taken(card.balance, amount=amount, credits=credits, code=card.code, currency=card.currency)


def taken(balance: int, *, amount: int, credits: int | None, code: str, currency: str) -> int:
    """What a redemption of a gift voucher takes: the ``credits`` asked (at most the order's
    amount), else all the order can use; more credits than the balance are refused."""
    if credits is None:
        return min(balance, amount)
    if credits < 1:
        raise InvalidInput("gift.credits must be at least 1 (minor units).", field="gift.credits")
    if credits > balance:
        raise InsufficientBalance(
            f"Only {display_price(balance, currency)} is left on gift voucher {code}; "
            f"{display_price(credits, currency)} was asked."
        )
    return min(credits, amount)


async def pay(
    session: AsyncSession,
    principal: Principal,
    card: GiftCard,
    taken: int,
    *,
    at: datetime,
    order_reference: str | None,
    transaction_amount: int,
) -> GiftBalance:
    """Take what the redemption recorded from the card (its ledger row beside the redemption)."""
    if taken:
        await debit(
            session,
            principal,
            card,
            taken,
            kind=REDEEM,
            at=at,
            order_reference=order_reference,
            transaction_amount=transaction_amount,
        )
    return GiftBalance(card.stock, card.balance)


async def give_back(session: AsyncSession, principal: Principal, redemption: Redemption) -> None:
    """A rolled-back redemption of a gift voucher gives its card what it took."""
    if not redemption.discount_applied:
        return
    card = await session.scalar(
        select(GiftCard)
        .where(GiftCard.voucher_id == redemption.voucher_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if card is not None:
        await credit(session, principal, card, redemption.discount_applied, kind=ROLLBACK, at=clock.now())


async def of_gift_vouchers(session: AsyncSession, redemption_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these redemptions took from a gift voucher's balance."""
    if not redemption_ids:
        return set()
    kind = func.coalesce(Voucher.discount_type, Campaign.discount_type)
    found = await session.scalars(
        select(Redemption.id)
        .join(Voucher, Voucher.id == Redemption.voucher_id)
        .join(Campaign, Campaign.id == Voucher.campaign_id)
        .where(Redemption.id.in_(redemption_ids), kind == DiscountType.GIFT)
    )
    return set(found.all())
