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
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.core.money import MAX_MINOR, display_price, to_minor
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
from voucherd.giftcards.ledger import EXPIRY, REDEEM, RELEASE, TOP_UP, actor, entries, entry
from voucherd.models import (
    GiftCard,
    GiftDeliveryMethod,
    GiftHold,
    GiftLedgerEntry,
    GiftOption,
    GiftOrder,
    GiftProduct,
    SalesPage,
)

_cards = cast(Table, GiftCard.__table__)
_holds = cast(Table, GiftHold.__table__)
SYSTEM = "system"  # the actor of what happens by itself: a hold or a card expiring
_WRITE_OPTION = "voucherd_write"  # how voucherd.db.engine marks the engine of write sessions
BACKDATING = timedelta(days=366)  # how far back a redemption may be dated (redeemDate)
CLOCK_SKEW = timedelta(minutes=5)


class CardStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REFUNDED = "refunded"
    EXPIRED = "expired"
    REGENERATED = "regenerated"


class HoldStatus(StrEnum):
    HELD = "held"
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"


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
    if card.status in (CardStatus.REFUNDED, CardStatus.REGENERATED, CardStatus.EXPIRED):
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
    if card.status == CardStatus.EXPIRED:
        return GiftCardExpired()
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
    await settle(session, card)
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


def units(card: GiftCard, amount: Decimal, *, field: str) -> int:
    """An amount given in the card's terms (our own API's): a decimal of the currency for a stored
    value (``12.50``), whole uses otherwise; in the minor units or uses a balance counts."""
    if card.monetary:
        return to_minor(amount, card.currency, field=field)
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise InvalidInput(f"{field} counts uses of this voucher: a whole number.", field=field)
    return int(amount)


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
        raise InvalidInput(f"reductor must be more than 0 and at most {MAX_MINOR}.", field="reductor")
    occurred = _occurred(at, card, now)
    take = card.balance if amount is None else amount
    await debit(session, principal, card, take, kind=REDEEM, at=occurred, page=where)
    return await view(session, card)


def spendable(amount: Any) -> ColumnElement[bool]:
    """The guard of every debit: the card is in progress and holds at least ``amount``."""
    return and_(_cards.c.status == CardStatus.IN_PROGRESS, _cards.c.balance >= amount)


async def debit(
    session: AsyncSession,
    principal: Principal | None,
    card: GiftCard,
    amount: int,
    *,
    kind: str,
    at: datetime,
    page: SalesPage | None = None,
    order_reference: str | None = None,
    transaction_amount: int | None = None,
    hold_id: uuid.UUID | None = None,
    close_as: CardStatus | None = None,
) -> GiftLedgerEntry:
    """Take ``amount`` from the card: the one guarded UPDATE that lowers a balance, its ledger row
    and (for a redemption) its ``giftcard.redeemed`` event, in the caller's transaction. More than
    is left, or a card that cannot be used now, is refused and nothing changes.

    ``close_as`` takes everything and closes the card in the same UPDATE (a refund, an expiry, a
    regeneration): then ``amount`` must be exactly the balance, or the UPDATE matches nothing and
    :class:`InsufficientBalance` says the card moved meanwhile."""
    now = clock.now()
    if amount > card.balance:
        raise unusable(card, now) or _insufficient(card, amount)
    guard = (
        and_(_cards.c.status == CardStatus.IN_PROGRESS, _cards.c.balance == amount)
        if close_as is not None
        else spendable(amount)
    )
    values: dict[str, object] = {"balance": _cards.c.balance - amount, "updated_at": now}
    if close_as is not None:
        values["status"] = close_as.value
    left = await session.scalar(
        update(_cards).where(_cards.c.id == card.id, guard).values(**values).returning(_cards.c.balance)
    )
    if left is None:  # another redemption got there first: say what holds now
        await session.refresh(card)
        raise unusable(card, now) or _insufficient(card, amount)
    _refresh(card, balance=int(left))
    if close_as is not None:
        set_committed_value(card, "status", close_as.value)
    row = entry(
        card,
        kind,
        -amount,
        balance_after=card.balance,
        at=at,
        page_id=None if page is None else page.id,
        who=SYSTEM if principal is None else actor(principal),
        hold_id=hold_id,
        order_reference=order_reference,
        transaction_amount=transaction_amount,
    )
    session.add(row)
    if kind == REDEEM:
        await events.record(
            session,
            card.client_id,
            events.GIFTCARD_REDEEMED,
            {**_event(card, amount=amount, page=page), "order_reference": order_reference},
        )
    await session.flush()
    return row


async def credit(
    session: AsyncSession,
    principal: Principal | None,
    card: GiftCard,
    amount: int,
    *,
    kind: str,
    at: datetime,
    page: SalesPage | None = None,
    hold_id: uuid.UUID | None = None,
    cap: int = MAX_MINOR,
    note: str | None = None,
    order_reference: str | None = None,
    event: str | None = None,
) -> GiftLedgerEntry:
    """Add ``amount`` to the card: the one guarded UPDATE that raises a balance, its ledger row
    and its event (``giftcard.topped_up`` for a top-up, else ``event`` if given), in the caller's
    transaction.

    A top-up (``TOP_UP``) raises ``stock`` too, and may not take the balance past ``cap``; a
    release (``RELEASE``: what a hold took, given back) never takes it past ``stock``. Only a card
    in progress moves: a refunded, expired or regenerated one is refused and nothing changes."""
    now = clock.now()
    grows = kind == TOP_UP
    values: dict[str, object] = {"balance": _cards.c.balance + amount, "updated_at": now}
    if grows:
        values["stock"] = _cards.c.stock + amount
    limit = _cards.c.balance + amount <= (cap if grows else _cards.c.stock)
    row = (
        await session.execute(
            update(_cards)
            .where(_cards.c.id == card.id, _cards.c.status == CardStatus.IN_PROGRESS, limit)
            .values(**values)
            .returning(_cards.c.balance, _cards.c.stock)
        )
    ).first()
    if row is None:
        await session.refresh(card)
        if card.status != CardStatus.IN_PROGRESS:
            raise unusable(card, now) or GiftCardUnusable()
        if grows:
            raise TopUpOverCap(
                f"A top-up of {display_price(amount, card.currency)} would take the balance past "
                f"{display_price(cap, card.currency)}, the most this voucher may hold.",
                field="amount",
            )
        raise GiftCardUnusable("This voucher cannot take back more than it was given.")
    _refresh(card, balance=int(row.balance), stock=int(row.stock))
    ledger_row = entry(
        card,
        kind,
        amount,
        balance_after=card.balance,
        at=at,
        page_id=None if page is None else page.id,
        who=SYSTEM if principal is None else actor(principal),
        hold_id=hold_id,
        note=note,
        order_reference=order_reference,
    )
    session.add(ledger_row)
    if grows:
        event = events.GIFTCARD_TOPPED_UP
    if event is not None:
        data = _event(card, amount=amount, page=page)
        if order_reference is not None:
            data["order_reference"] = order_reference
        await events.record(session, card.client_id, event, data)
    await session.flush()
    return ledger_row


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
        raise InvalidInput(
            f"amount must be more than 0 and at most {MAX_MINOR} (minor units: 19.95 is 1995).",
            field="amount",
        )
    product = await session.get_one(GiftProduct, card.product_id)
    cap = (
        MAX_MINOR
        if product.type != ProductType.MONETARY or product.max_amount is None
        else product.max_amount
    )
    await credit(session, principal, card, amount, kind=TOP_UP, at=now, page=where, cap=cap)
    return await view(session, card)


async def close_hold(
    session: AsyncSession,
    principal: Principal | None,
    card: GiftCard,
    hold_id: uuid.UUID,
    *,
    to: HoldStatus,
    captured: int = 0,
) -> bool:
    """Move a hold out of ``held`` with one guarded UPDATE (``... WHERE status = 'held'``) and give
    back what it took and did not capture (``credit``, kind ``release``). ``False`` when the hold
    was closed already (by a capture, a void or its expiry racing this one): then nothing moves, so
    a hold's amount comes back at most once."""
    now = clock.now()
    amount = await session.scalar(
        update(_holds)
        .where(_holds.c.id == hold_id, _holds.c.status == HoldStatus.HELD, _holds.c.amount >= captured)
        .values(status=to.value, captured=captured, updated_at=now)
        .returning(_holds.c.amount)
    )
    if amount is None:
        return False
    back = int(amount) - captured
    if back > 0:
        await credit(session, principal, card, back, kind=RELEASE, at=now, hold_id=hold_id)
    hold = session.identity_map.get(session.identity_key(GiftHold, hold_id))  # type: ignore[arg-type]
    if isinstance(hold, GiftHold):
        set_committed_value(hold, "status", to.value)
        set_committed_value(hold, "captured", captured)
        set_committed_value(hold, "updated_at", now)
    return True


def holds_open(card_id: Any, *, due_by: Any = None) -> ColumnElement[bool]:
    """The card's open holds (those whose time is up by ``due_by``, when given): what
    :func:`settle` gives back, and what keeps the one-statement redemption off a card."""
    held = and_(GiftHold.giftcard_id == card_id, GiftHold.status == HoldStatus.HELD)
    return held if due_by is None else and_(held, GiftHold.expires_at <= due_by)


async def open_holds(
    session: AsyncSession, card: GiftCard, *, due_by: datetime | None = None
) -> list[uuid.UUID]:
    query = select(GiftHold.id).where(holds_open(card.id, due_by=due_by))
    return list((await session.execute(query.order_by(GiftHold.created_at, GiftHold.id))).scalars())


async def release_holds(
    session: AsyncSession, principal: Principal | None, card: GiftCard, *, to: HoldStatus
) -> None:
    """Give back every open hold of the card (before it closes: a refund, an expiry)."""
    for hold_id in await open_holds(session, card):
        await close_hold(session, principal, card, hold_id, to=to)


TAKE_ALL_TRIES = 5


async def take_all(
    session: AsyncSession,
    principal: Principal | None,
    card: GiftCard,
    *,
    kind: str,
    close_as: CardStatus,
) -> int:
    """Release the card's open holds, then take what is left with one ledger row of ``kind``
    (``debit`` with ``close_as``) and close the card. Returns the amount taken. A redemption
    landing in between only makes the guarded UPDATE miss: it is tried again on the new balance."""
    await release_holds(session, principal, card, to=HoldStatus.VOIDED)
    for _ in range(TAKE_ALL_TRIES):
        await session.refresh(card)
        if card.status != CardStatus.IN_PROGRESS:
            raise unusable(card, clock.now()) or GiftCardUnusable()
        left = card.balance
        try:
            await debit(session, principal, card, left, kind=kind, at=clock.now(), close_as=close_as)
        except InsufficientBalance:
            continue
        return left
    raise GiftCardUnusable("This voucher is being used right now; try again in a moment.")


def writable(session: AsyncSession) -> bool:
    """Whether the session is a write transaction (a read one must not settle a card)."""
    bind = session.sync_session.bind
    return bind is not None and bool(bind.get_execution_options().get(_WRITE_OPTION, False))


async def settle(session: AsyncSession, card: GiftCard) -> None:
    """What time did to the card, done before it is read or used (lazily; the worker's sweep
    does it for cards no one looks at): its expired holds give their amounts back, and a card
    past its ``valid_until`` with something left loses it (ledger ``expiry``) and is ``expired``.
    Nothing happens in a read transaction, nor when nothing is due."""
    if card.status != CardStatus.IN_PROGRESS or not writable(session):
        return
    now = clock.now()
    for hold_id in await open_holds(session, card, due_by=now):
        await close_hold(session, None, card, hold_id, to=HoldStatus.EXPIRED)
    if card.valid_until is not None and now >= card.valid_until:
        await release_holds(session, None, card, to=HoldStatus.EXPIRED)
        await session.refresh(card)
        if card.status == CardStatus.IN_PROGRESS and card.balance > 0:
            await debit(session, None, card, card.balance, kind=EXPIRY, at=now, close_as=CardStatus.EXPIRED)


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
