"""The ends of a gift card's life: its order refunded, its code regenerated (reported lost), and
the periodic sweep that expires holds and cards no one looks at. Each takes what is left with one
ledger row (``balances.take_all``), so ``balance = Σ ledger`` holds after it."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import cast

import structlog
from sqlalchemy import Table, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.core.errors import DomainError
from voucherd.db import Database, unit_of_work
from voucherd.events import service as events
from voucherd.giftcards import codes
from voucherd.giftcards.balances import CardStatus, HoldStatus, find, settle, take_all, unusable
from voucherd.giftcards.errors import GiftCardUsedUp, OrderNotFound
from voucherd.giftcards.ledger import ISSUE, REFUND, REGENERATE, actor, entry
from voucherd.models import GiftCard, GiftHold, GiftOrder, GiftProduct

log = structlog.get_logger(__name__)
_cards = cast(Table, GiftCard.__table__)
_orders = cast(Table, GiftOrder.__table__)
_products = cast(Table, GiftProduct.__table__)
SWEEP_SECONDS = 30.0
SWEEP_BATCH = 200


@dataclass(frozen=True)
class Refunded:
    order: GiftOrder
    cards: list[GiftCard]


async def _order(session: AsyncSession, principal: Principal, number: int) -> GiftOrder:
    order = await session.scalar(
        select(GiftOrder).where(GiftOrder.client_id == principal.client_id, GiftOrder.number == number)
    )
    if order is None:
        raise OrderNotFound()
    return order


async def _cards_of(session: AsyncSession, order: GiftOrder) -> list[GiftCard]:
    found = (await session.execute(select(GiftCard).where(GiftCard.order_id == order.id))).scalars()
    return sorted(found, key=lambda card: (card.created_at, card.reference, card.code))


async def refund_order(session: AsyncSession, principal: Principal, number: int) -> Refunded:
    """Refund an order: every code of it becomes ``refunded`` (unusable), its open holds are
    voided, what is left is taken (ledger ``refund``), and the order records the refund (its
    total, or 0 for an order never paid, whose stock goes back on sale: payments are recorded,
    never processed). Refunding a refunded order changes nothing and answers the same."""
    require(principal, Permission.MANAGE)
    order = await _order(session, principal, number)
    # One refund at a time per order: the first to mark it does the rest, the other sees it.
    now = clock.now()
    marked = await session.scalar(
        update(_orders)
        .where(_orders.c.id == order.id, _orders.c.refunded_at.is_(None))
        # An order never paid gives nothing back; read in the UPDATE, after any payment it waited for.
        .values(refund=case((_orders.c.paid_at.is_(None), 0), else_=_orders.c.total), refunded_at=now)
        .returning(_orders.c.id)
    )
    await session.refresh(order)
    cards = await _cards_of(session, order)
    if marked is None:
        return Refunded(order, cards)
    if order.paid_at is None:  # cancelled before it was paid: what it took goes back on sale
        await session.execute(
            update(_products)
            .where(_products.c.id == order.product_id)
            .values(
                stock=_products.c.stock + order.quantity,  # NULL (unlimited) stays NULL
                sold=_products.c.sold - order.quantity,
            )
        )
    for card in cards:
        taken = 0
        await settle(session, card)
        if card.status == CardStatus.IN_PROGRESS:
            taken = await take_all(session, principal, card, kind=REFUND, close_as=CardStatus.REFUNDED)
        elif card.status == CardStatus.EXPIRED:  # nothing left on it: it only changes its name
            await session.execute(
                update(_cards)
                .where(_cards.c.id == card.id, _cards.c.status == CardStatus.EXPIRED)
                .values(status=CardStatus.REFUNDED.value, updated_at=now)
            )
            await session.refresh(card)
        else:  # regenerated: its balance lives on the new code, refunded here too
            continue
        await events.record(
            session,
            card.client_id,
            events.GIFTCARD_REFUNDED,
            {
                "code": card.code,
                "giftcard_id": str(card.id),
                "orderId": order.number,
                "amount": taken,
                "currency": card.currency,
                "monetary": card.monetary,
            },
        )
    await session.flush()
    return Refunded(order, cards)


async def regenerate(session: AsyncSession, principal: Principal, code: str) -> tuple[GiftCard, GiftCard]:
    """A lost code: a new card with a new code gets its balance (ledger ``issue`` on it), the old
    one is ``regenerated`` (ledger ``regenerate`` taking its balance) and points at the new one.
    Its open holds are voided first. Returns ``(old, new)``."""
    require(principal, Permission.MANAGE)
    old = await find(session, principal, code)
    now = clock.now()
    problem = unusable(old, now)
    if problem is not None and not (isinstance(problem, GiftCardUsedUp) and await _held(session, old)):
        raise problem
    moved = await take_all(session, principal, old, kind=REGENERATE, close_as=CardStatus.REGENERATED)
    if moved == 0:
        raise GiftCardUsedUp()
    new = GiftCard(
        id=uuid.uuid4(),
        client_id=old.client_id,
        order_id=old.order_id,
        product_id=old.product_id,
        code=codes.new_code(),
        reference=old.reference,
        monetary=old.monetary,
        currency=old.currency,
        stock=moved,
        balance=moved,
        status=CardStatus.IN_PROGRESS.value,
        valid_from=old.valid_from,
        valid_until=old.valid_until,
        redeemable_on=list(old.redeemable_on),
        created_at=now,
        updated_at=now,
    )
    session.add(new)
    await session.flush()
    session.add(
        entry(
            new, ISSUE, moved, balance_after=moved, at=now, who=actor(principal), note=f"replaces {old.code}"
        )
    )
    await session.execute(update(_cards).where(_cards.c.id == old.id).values(replaced_by=new.id))
    await session.refresh(old)
    await events.record(
        session,
        old.client_id,
        events.GIFTCARD_REGENERATED,
        {
            "code": old.code,
            "giftcard_id": str(old.id),
            "new_code": new.code,
            "new_giftcard_id": str(new.id),
            "balance": moved,
            "currency": old.currency,
            "monetary": old.monetary,
        },
    )
    await session.flush()
    return old, new


async def _held(session: AsyncSession, card: GiftCard) -> bool:
    """Whether some of a card that shows nothing left is only held."""
    return (
        await session.scalar(
            select(GiftHold.id)
            .where(GiftHold.giftcard_id == card.id, GiftHold.status == HoldStatus.HELD)
            .limit(1)
        )
    ) is not None


async def due_cards(session: AsyncSession, limit: int = SWEEP_BATCH) -> list[uuid.UUID]:
    """Cards with an expired hold, or past their validity with something left (every client)."""
    now = clock.now()
    holding = select(GiftHold.giftcard_id).where(
        GiftHold.status == HoldStatus.HELD, GiftHold.expires_at <= now
    )
    expiring = select(GiftCard.id).where(
        GiftCard.status == CardStatus.IN_PROGRESS,
        GiftCard.valid_until <= now,
        or_(
            GiftCard.balance > 0,
            GiftCard.id.in_(select(GiftHold.giftcard_id).where(GiftHold.status == HoldStatus.HELD)),
        ),
    )
    found = set((await session.execute(holding.limit(limit))).scalars())
    found |= set((await session.execute(expiring.limit(limit))).scalars())
    return sorted(found)


async def sweep(database: Database | None = None) -> int:
    """Settle every card that is due (``balances.settle``), each in its own transaction so one
    card busy elsewhere holds no other back. Returns how many were settled."""
    async with unit_of_work(database, write=False) as session:
        due = await due_cards(session)
    settled = 0
    for card_id in due:
        try:
            async with unit_of_work(database) as session:
                card = await session.get(GiftCard, card_id)
                if card is not None:
                    await settle(session, card)
                    settled += 1
        except DomainError as error:  # moved meanwhile: the next sweep (or its next use) settles it
            log.info("giftcards.sweep_skipped", giftcard_id=str(card_id), error=error.code)
    return settled


async def run(database: Database, stop: asyncio.Event, every: float = SWEEP_SECONDS) -> None:
    """The worker's sweep loop: settle due cards every ``every`` seconds until told to stop."""
    while not stop.is_set():
        try:
            settled = await sweep(database)
            if settled:
                log.info("giftcards.swept", settled=settled)
        except Exception as error:  # a database hiccup: try again next turn
            log.error("giftcards.sweep_failed", error=repr(error))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
