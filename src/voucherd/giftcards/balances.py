"""A gift card's balance: look it up, redeem from it, top it up. The balance moves only through
guarded UPDATEs (``... WHERE balance >= :amount``), each with its ledger row in the same
transaction, so two counters redeeming the same card at once can never take more than it holds.

A card's ``balance`` is what is left: uses of a fixed voucher or a ticket, minor units of a
stored value. ``stock`` is all it was given (the issue and every top-up); ``stock - balance`` is
what the seed calls ``current``, the spent part."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.core.money import MAX_MINOR, display_price
from voucherd.events import service as events
from voucherd.giftcards import codes
from voucherd.giftcards.catalog import ProductType, sales_page
from voucherd.giftcards.errors import (
    GiftCardExpired,
    GiftCardNotFound,
    GiftCardNotYetValid,
    GiftCardRefunded,
    GiftCardReplaced,
    GiftCardUnusable,
    GiftCardUsedUp,
    InsufficientBalance,
    NotAStoredValue,
    NotRedeemableHere,
    TopUpOverCap,
)
from voucherd.giftcards.ledger import REDEEM, TOP_UP, actor, entries, entry
from voucherd.models import (
    GiftCard,
    GiftDeliveryMethod,
    GiftLedgerEntry,
    GiftOption,
    GiftOrder,
    GiftProduct,
    SalesPage,
)

_cards = cast(Table, GiftCard.__table__)
BACKDATING = timedelta(days=366)  # how far back a redemption may be dated (redeemDate)
CLOCK_SKEW = timedelta(minutes=5)


class CardStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REFUNDED = "refunded"
    EXPIRED = "expired"
    REGENERATED = "regenerated"


@dataclass(frozen=True)
class CardView:
    """A card with its order, product and ledger: everything its status shows."""

    card: GiftCard
    order: GiftOrder
    product: GiftProduct
    option: GiftOption | None
    delivery: GiftDeliveryMethod | None
    ledger: list[GiftLedgerEntry]
    now: datetime

    @property
    def status(self) -> CardStatus:
        return status_of(self.card, self.now)

    @property
    def redemptions(self) -> list[GiftLedgerEntry]:
        return [row for row in self.ledger if row.kind == REDEEM]


def status_of(card: GiftCard, now: datetime) -> CardStatus:
    if card.status in (CardStatus.REFUNDED, CardStatus.REGENERATED):
        return CardStatus(card.status)
    if card.balance == 0:
        return CardStatus.COMPLETED
    if card.valid_until is not None and now >= card.valid_until:
        return CardStatus.EXPIRED
    return CardStatus.IN_PROGRESS


def unusable(card: GiftCard, now: datetime) -> GiftCardUnusable | None:
    """Why nothing may be taken from the card now, or ``None``."""
    if card.status == CardStatus.REFUNDED:
        return GiftCardRefunded()
    if card.status == CardStatus.REGENERATED:
        return GiftCardReplaced()
    if card.valid_until is not None and now >= card.valid_until:
        return GiftCardExpired()
    if card.valid_from is not None and now < card.valid_from:
        return GiftCardNotYetValid()
    if card.balance == 0:
        return GiftCardUsedUp()
    return None


async def find(session: AsyncSession, principal: Principal, typed: str) -> GiftCard:
    """The client's card with this code (404 for another client's or an unknown one)."""
    card = await session.scalar(
        select(GiftCard).where(
            GiftCard.client_id == principal.client_id, GiftCard.code == codes.canonical(typed)
        )
    )
    if card is None:
        raise GiftCardNotFound()
    return card


async def _check_page(
    session: AsyncSession, principal: Principal, card: GiftCard, page: int | str | None
) -> SalesPage | None:
    if page is None:
        return None
    found = await sales_page(session, principal, page)
    if found.number not in card.redeemable_on:
        raise NotRedeemableHere()
    return found


async def view(session: AsyncSession, card: GiftCard) -> CardView:
    order = await session.get_one(GiftOrder, card.order_id)
    product = await session.get_one(GiftProduct, card.product_id)
    option = None if order.option_id is None else await session.get(GiftOption, order.option_id)
    delivery = (
        None
        if order.delivery_method_id is None
        else await session.get(GiftDeliveryMethod, order.delivery_method_id)
    )
    return CardView(card, order, product, option, delivery, await entries(session, card.id), clock.now())


async def status(
    session: AsyncSession, principal: Principal, code: str, page: int | str | None = None
) -> CardView:
    require(principal, Permission.REDEEM)
    card = await find(session, principal, code)
    await _check_page(session, principal, card, page)
    return await view(session, card)


def _refresh(card: GiftCard, **values: int) -> None:
    """Put what a guarded UPDATE returned into the loaded card without marking it changed (a flush
    must never write a balance read earlier back over a newer one)."""
    for name, value in values.items():
        set_committed_value(card, name, value)


def _occurred(at: datetime | None, card: GiftCard, now: datetime) -> datetime:
    if at is None:
        return now
    if at > now + CLOCK_SKEW:
        raise InvalidInput("redeemDate is in the future.", field="redeemDate")
    if at < card.created_at - CLOCK_SKEW or at < now - BACKDATING:
        raise InvalidInput("redeemDate is before the voucher was bought.", field="redeemDate")
    return at


async def redeem(
    session: AsyncSession,
    principal: Principal,
    code: str,
    *,
    page: int | str | None,
    amount: int | None = None,
    at: datetime | None = None,
) -> CardView:
    """Take ``amount`` (uses or minor units; everything left when ``None``) from the card. More
    than is left is refused (409) and nothing changes."""
    require(principal, Permission.REDEEM)
    card = await find(session, principal, code)
    where = await _check_page(session, principal, card, page)
    now = clock.now()
    problem = unusable(card, now)
    if problem is not None:
        raise problem
    if amount is not None and not 0 < amount <= MAX_MINOR:
        raise InvalidInput("reductor must be more than 0.", field="reductor")
    occurred = _occurred(at, card, now)
    take = card.balance if amount is None else amount
    await debit(session, principal, card, take, kind=REDEEM, at=occurred, page=where)
    return await view(session, card)


async def debit(
    session: AsyncSession,
    principal: Principal,
    card: GiftCard,
    amount: int,
    *,
    kind: str,
    at: datetime,
    page: SalesPage | None = None,
    order_reference: str | None = None,
    transaction_amount: int | None = None,
    hold_id: uuid.UUID | None = None,
) -> GiftLedgerEntry:
    """Take ``amount`` from the card: the one guarded UPDATE that lowers a balance, its ledger row
    and (for a redemption) its ``giftcard.redeemed`` event, in the caller's transaction. More than
    is left, or a card that cannot be used now, is refused and nothing changes."""
    now = clock.now()
    if amount > card.balance:
        raise unusable(card, now) or _insufficient(card, amount)
    left = await session.scalar(
        update(_cards)
        .where(_cards.c.id == card.id, _cards.c.status == CardStatus.IN_PROGRESS, _cards.c.balance >= amount)
        .values(balance=_cards.c.balance - amount, updated_at=now)
        .returning(_cards.c.balance)
    )
    if left is None:  # another redemption got there first: say what holds now
        await session.refresh(card)
        raise unusable(card, now) or _insufficient(card, amount)
    _refresh(card, balance=int(left))
    row = entry(
        card,
        kind,
        -amount,
        balance_after=card.balance,
        at=at,
        page_id=None if page is None else page.id,
        who=actor(principal),
        hold_id=hold_id,
        order_reference=order_reference,
        transaction_amount=transaction_amount,
    )
    session.add(row)
    if kind == REDEEM:
        await events.record(
            session,
            principal.client_id,
            events.GIFTCARD_REDEEMED,
            {**_event(card, amount=amount, page=page), "order_reference": order_reference},
        )
    await session.flush()
    return row


def _insufficient(card: GiftCard, wanted: int) -> InsufficientBalance:
    if card.monetary:
        return InsufficientBalance(
            f"Only {display_price(card.balance, card.currency)} is left on this voucher; "
            f"{display_price(wanted, card.currency)} cannot be redeemed.",
        )
    return InsufficientBalance(f"Only {card.balance} of its uses are left; {wanted} cannot be redeemed.")


async def top_up(
    session: AsyncSession, principal: Principal, code: str, *, page: int | str | None, amount: int
) -> CardView:
    """Add ``amount`` minor units to a stored value (a used-up one works again). A card's balance
    may not pass its product's ``maxAmount`` (or 10^12 minor units)."""
    require(principal, Permission.MANAGE)
    card = await find(session, principal, code)
    where = await _check_page(session, principal, card, page)
    if not card.monetary:
        raise NotAStoredValue()
    now = clock.now()
    problem = unusable(card, now)
    if problem is not None and not isinstance(problem, GiftCardUsedUp):
        raise problem
    if not 0 < amount <= MAX_MINOR:
        raise InvalidInput("amount must be more than 0 (minor units: 19.95 is 1995).", field="amount")
    product = await session.get_one(GiftProduct, card.product_id)
    cap = (
        MAX_MINOR
        if product.type != ProductType.MONETARY or product.max_amount is None
        else product.max_amount
    )
    row = (
        await session.execute(
            update(_cards)
            .where(
                _cards.c.id == card.id,
                _cards.c.status == CardStatus.IN_PROGRESS,
                _cards.c.balance + amount <= cap,
            )
            .values(balance=_cards.c.balance + amount, stock=_cards.c.stock + amount, updated_at=now)
            .returning(_cards.c.balance, _cards.c.stock)
        )
    ).first()
    if row is None:
        await session.refresh(card)
        if card.status != CardStatus.IN_PROGRESS:
            raise unusable(card, now) or GiftCardUnusable()
        raise TopUpOverCap(
            f"A top-up of {display_price(amount, card.currency)} would take the balance past "
            f"{display_price(cap, card.currency)}, the most this voucher may hold.",
            field="amount",
        )
    _refresh(card, balance=int(row.balance), stock=int(row.stock))
    session.add(
        entry(
            card,
            TOP_UP,
            amount,
            balance_after=card.balance,
            at=now,
            page_id=None if where is None else where.id,
            who=actor(principal),
        )
    )
    await events.record(
        session, principal.client_id, events.GIFTCARD_TOPPED_UP, _event(card, amount=amount, page=where)
    )
    await session.flush()
    return await view(session, card)


def _event(card: GiftCard, *, amount: int, page: SalesPage | None) -> dict[str, object]:
    return {
        "code": card.code,
        "giftcard_id": str(card.id),
        "amount": amount,
        "balance": card.balance,
        "stock": card.stock,
        "currency": card.currency,
        "monetary": card.monetary,
        "domainId": None if page is None else page.number,
    }
