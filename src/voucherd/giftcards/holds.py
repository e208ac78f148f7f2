"""Holds: an amount authorized on a gift card for a while, as a checkout that has not finished
needs. The amount leaves the balance at once (``debit``, kind ``hold``); a capture keeps all or
part of it (the rest comes back with ``credit``, kind ``release``), a void gives it all back, and
a hold past ``expires_at`` gives it back by itself (``balances.settle`` and the worker's sweep).

Every change of a hold's state is one guarded UPDATE (``... WHERE status = 'held'``), so a capture
racing a void or an expiry cannot give the money back twice. Repeating the same operation on a
hold is answered with the hold as it is (a retried capture or void); another operation on a
closed hold is :class:`HoldClosed` (409)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.core.money import MAX_MINOR
from voucherd.events import service as events
from voucherd.giftcards.balances import CardView, HoldStatus, close_hold, debit, find, units, unusable, view
from voucherd.giftcards.errors import HoldClosed, HoldNotFound
from voucherd.giftcards.ledger import HOLD
from voucherd.models import GiftCard, GiftHold

DEFAULT_SECONDS = 15 * 60
MAX_SECONDS = 7 * 24 * 3600


async def place(
    session: AsyncSession,
    principal: Principal,
    code: str,
    *,
    amount: Decimal,
    expires_in: int | None = None,
) -> tuple[GiftCard, GiftHold]:
    """Take ``amount`` (a decimal of a stored value's currency, or uses of a fixed voucher) off
    the card for ``expires_in`` seconds (15 minutes unless given, a week at most)."""
    require(principal, Permission.REDEEM)
    seconds = DEFAULT_SECONDS if expires_in is None else expires_in
    if not 0 < seconds <= MAX_SECONDS:
        raise InvalidInput(
            f"expires_in must be between 1 and {MAX_SECONDS} seconds (a week).", field="expires_in"
        )
    card = await find(session, principal, code)
    taken = units(card, amount, field="amount")
    if not 0 < taken <= MAX_MINOR:
        raise InvalidInput(f"amount must be more than 0 and at most {MAX_MINOR} minor units.", field="amount")
    now = clock.now()
    problem = unusable(card, now)
    if problem is not None:
        raise problem
    hold = GiftHold(
        id=uuid.uuid4(),
        giftcard_id=card.id,
        client_id=card.client_id,
        amount=taken,
        captured=0,
        status=HoldStatus.HELD.value,
        expires_at=now + timedelta(seconds=seconds),
        created_at=now,
        updated_at=now,
    )
    await debit(session, principal, card, taken, kind=HOLD, at=now, hold_id=hold.id)
    session.add(hold)
    await session.flush()
    return card, hold


async def _hold(session: AsyncSession, card: GiftCard, hold_id: uuid.UUID) -> GiftHold:
    hold = await session.scalar(
        select(GiftHold).where(
            GiftHold.id == hold_id, GiftHold.giftcard_id == card.id, GiftHold.client_id == card.client_id
        )
    )
    if hold is None:
        raise HoldNotFound()
    return hold


def _closed(hold: GiftHold) -> HoldClosed:
    return HoldClosed(f"This hold is {hold.status} already: nothing more can be done with it.")


async def get(
    session: AsyncSession, principal: Principal, code: str, hold_id: uuid.UUID
) -> tuple[GiftCard, GiftHold]:
    require(principal, Permission.REDEEM)
    card = await find(session, principal, code)
    return card, await _hold(session, card, hold_id)


async def capture(
    session: AsyncSession,
    principal: Principal,
    code: str,
    hold_id: uuid.UUID,
    *,
    amount: Decimal | None = None,
) -> tuple[GiftCard, GiftHold]:
    """Keep ``amount`` of the hold (all of it when ``None``) as a redemption; the rest comes back.
    A capture repeated (no amount, or the same) answers the captured hold; anything else on a
    closed hold is 409."""
    require(principal, Permission.REDEEM)
    card = await find(session, principal, code)  # settles: an expired hold is closed by now
    hold = await _hold(session, card, hold_id)
    wanted = None if amount is None else units(card, amount, field="amount")
    if wanted is not None and not 0 < wanted <= hold.amount:
        raise InvalidInput("amount must be more than 0 and at most the amount held.", field="amount")
    keep = hold.amount if wanted is None else wanted
    if hold.status == HoldStatus.HELD and await close_hold(
        session, principal, card, hold.id, to=HoldStatus.CAPTURED, captured=keep
    ):
        await events.record(
            session,
            card.client_id,
            events.GIFTCARD_REDEEMED,
            {
                "code": card.code,
                "giftcard_id": str(card.id),
                "amount": keep,
                "balance": card.balance,
                "stock": card.stock,
                "currency": card.currency,
                "monetary": card.monetary,
                "domainId": None,
                "order_reference": None,
                "hold_id": str(hold.id),
            },
        )
        return card, hold
    await session.refresh(hold)
    if hold.status == HoldStatus.CAPTURED and (wanted is None or wanted == hold.captured):
        return card, hold
    raise _closed(hold)


async def void(
    session: AsyncSession, principal: Principal, code: str, hold_id: uuid.UUID
) -> tuple[GiftCard, GiftHold]:
    """Give the whole hold back. A void repeated answers the voided hold; a captured or expired
    hold is 409."""
    require(principal, Permission.REDEEM)
    card = await find(session, principal, code)
    hold = await _hold(session, card, hold_id)
    if hold.status == HoldStatus.HELD and await close_hold(
        session, principal, card, hold.id, to=HoldStatus.VOIDED
    ):
        return card, hold
    await session.refresh(hold)
    if hold.status == HoldStatus.VOIDED:
        return card, hold
    raise _closed(hold)


async def open_on(session: AsyncSession, card: GiftCard) -> list[GiftHold]:
    return list(
        (
            await session.execute(
                select(GiftHold)
                .where(GiftHold.giftcard_id == card.id, GiftHold.status == HoldStatus.HELD)
                .order_by(GiftHold.created_at, GiftHold.id)
            )
        ).scalars()
    )


@dataclass(frozen=True)
class Details:
    """A card as our own API shows it: its status view, its open holds, and the code that
    replaced it (a regenerated one)."""

    view: CardView
    holds: list[GiftHold]
    replaced_by: str | None


async def details_of(session: AsyncSession, card: GiftCard) -> Details:
    replaced_by = (
        None
        if card.replaced_by is None
        else await session.scalar(select(GiftCard.code).where(GiftCard.id == card.replaced_by))
    )
    return Details(await view(session, card), await open_on(session, card), replaced_by)


async def details(session: AsyncSession, principal: Principal, code: str) -> Details:
    """Balance, ledger and open holds of the client's card (its expired holds settled first)."""
    require(principal, Permission.REDEEM)
    return await details_of(session, await find(session, principal, code))
