"""Redemptions at a shop counter (the staff screen): what this counter redeemed today, and the
undo a member may make of their own redemption within :data:`UNDO_WINDOW`: a campaign code's is a
rollback with the reason :data:`UNDO_REASON`, so it writes the same event and webhook as the API's
rollback; a gift card's payment is given back to the card (a ``rollback`` ledger row noting
:data:`UNDO_REASON`, and a ``giftcard.redemption_undone`` event)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.events import service as events
from voucherd.giftcards import balances
from voucherd.giftcards.ledger import REDEEM, ROLLBACK, actor
from voucherd.models import GiftCard, GiftLedgerEntry, Redemption, SalesPage, Staff
from voucherd.redemptions.errors import RedemptionNotFound, UndoNotYours, UndoTooLate
from voucherd.redemptions.service import rollback_redemption

UNDO_WINDOW = timedelta(minutes=5)
UNDO_REASON = "undone at counter"


@dataclass(frozen=True)
class CounterRedemption:
    """One line of the counter's day: a campaign code's redemption or a gift card's payment."""

    id: uuid.UUID
    code: str
    gift_card: bool
    currency: str
    transaction_amount: int | None
    taken: int  # the discount applied, or what the gift card paid
    recorded_at: datetime
    staff_name: str | None
    rolled_back: bool
    undoable: bool  # by the caller, now


def _start_of_day(timezone: str, now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    return datetime.combine(local.date(), time.min, tzinfo=local.tzinfo)


def _may_undo(principal: Principal, staff_id: uuid.UUID | None, recorded_at: datetime, now: datetime) -> bool:
    return staff_id == principal.subject.id and now - recorded_at <= UNDO_WINDOW


async def todays_redemptions(
    session: AsyncSession, principal: Principal, *, sales_page_id: uuid.UUID, limit: int = 100
) -> list[CounterRedemption]:
    """What was redeemed on this sales page since midnight in the client's timezone, newest
    first: campaign codes and gift cards."""
    now = clock.now()
    since = _start_of_day(principal.timezone, now)
    codes = await session.execute(
        select(Redemption, Staff.full_name)
        .outerjoin(Staff, Staff.id == Redemption.staff_id)
        .where(
            Redemption.client_id == principal.client_id,
            Redemption.sales_page_id == sales_page_id,
            Redemption.created_at >= since,
        )
        .order_by(Redemption.created_at.desc())
        .limit(limit)
    )
    lines = [
        CounterRedemption(
            id=row.id,
            code=row.code,
            gift_card=False,
            currency=row.currency,
            transaction_amount=row.transaction_amount,
            taken=row.discount_applied,
            recorded_at=row.created_at,
            staff_name=name,
            rolled_back=row.rolled_back_at is not None,
            undoable=row.rolled_back_at is None and _may_undo(principal, row.staff_id, row.created_at, now),
        )
        for row, name in codes.all()
    ]
    cards = await session.execute(
        select(GiftLedgerEntry, GiftCard.code, GiftCard.currency)
        .join(GiftCard, GiftCard.id == GiftLedgerEntry.giftcard_id)
        .where(
            GiftLedgerEntry.client_id == principal.client_id,
            GiftLedgerEntry.sales_page_id == sales_page_id,
            GiftLedgerEntry.kind == REDEEM,
            GiftLedgerEntry.created_at >= since,
            # A gift voucher of a campaign is listed by its redemption row above.
            GiftCard.voucher_id.is_(None),
        )
        .order_by(GiftLedgerEntry.created_at.desc())
        .limit(limit)
    )
    found = cards.all()
    undone = await _undone(session, [entry for entry, _, _ in found])
    members = {
        uuid.UUID(entry.actor.removeprefix("staff:"))
        for entry, _, _ in found
        if entry.actor and entry.actor.startswith("staff:")
    }
    names = {
        f"staff:{member_id}": name
        for member_id, name in (
            await session.execute(select(Staff.id, Staff.full_name).where(Staff.id.in_(members)))
        ).all()
    }
    lines.extend(
        CounterRedemption(
            id=entry.id,
            code=code,
            gift_card=True,
            currency=currency,
            transaction_amount=entry.transaction_amount,
            taken=-entry.amount,
            recorded_at=entry.created_at,
            staff_name=names.get(entry.actor or ""),
            rolled_back=entry.id in undone,
            undoable=entry.id not in undone
            and entry.actor == actor(principal)
            and now - entry.created_at <= UNDO_WINDOW,
        )
        for entry, code, currency in found
    )
    lines.sort(key=lambda line: line.recorded_at, reverse=True)
    return lines[:limit]


def _undo_reference(entry_id: uuid.UUID) -> str:
    """The undo's ledger row carries this reference: unique per card, so a payment is given back
    once however often (or concurrently) its undo is sent."""
    return f"undo:{entry_id}"


async def _undone(session: AsyncSession, entries: list[GiftLedgerEntry]) -> set[uuid.UUID]:
    """Which of these gift card payments were undone."""
    if not entries:
        return set()
    by_reference = {_undo_reference(entry.id): entry.id for entry in entries}
    found = await session.scalars(
        select(GiftLedgerEntry.order_reference).where(
            GiftLedgerEntry.giftcard_id.in_({entry.giftcard_id for entry in entries}),
            GiftLedgerEntry.kind == ROLLBACK,
            GiftLedgerEntry.order_reference.in_(by_reference),
        )
    )
    return {by_reference[reference] for reference in found.all() if reference is not None}


async def undo(session: AsyncSession, principal: Principal, line_id: uuid.UUID) -> str:
    """Undo the caller's own counter redemption (a line of :func:`todays_redemptions`) within
    :data:`UNDO_WINDOW` of recording it (:class:`UndoNotYours`, :class:`UndoTooLate`), and
    return its code; undoing it again changes nothing."""
    redemption = await session.scalar(
        select(Redemption).where(Redemption.id == line_id, Redemption.client_id == principal.client_id)
    )
    if redemption is None:
        return await _undo_gift_payment(session, principal, line_id)
    if redemption.staff_id != principal.subject.id:
        raise UndoNotYours()
    if redemption.rolled_back_at is not None:
        return redemption.code
    if clock.now() - redemption.created_at > UNDO_WINDOW:
        raise UndoTooLate()
    undone, _ = await rollback_redemption(session, principal, reason=UNDO_REASON, redemption_id=redemption.id)
    return undone.code


async def _undo_gift_payment(session: AsyncSession, principal: Principal, entry_id: uuid.UUID) -> str:
    """Give a gift card back what one payment took, under the card's row lock."""
    entry = await session.scalar(
        select(GiftLedgerEntry).where(
            GiftLedgerEntry.id == entry_id,
            GiftLedgerEntry.client_id == principal.client_id,
            GiftLedgerEntry.kind == REDEEM,
        )
    )
    if entry is None:
        raise RedemptionNotFound("No redemption with this id.")
    if entry.actor != actor(principal):
        raise UndoNotYours()
    card = await session.scalar(
        select(GiftCard)
        .where(GiftCard.id == entry.giftcard_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert card is not None  # the ledger row's card (deleted with it)
    if await _undone(session, [entry]):
        return card.code
    now = clock.now()
    if now - entry.created_at > UNDO_WINDOW:
        raise UndoTooLate()
    page = await session.get(SalesPage, entry.sales_page_id) if entry.sales_page_id else None
    await balances.credit(
        session,
        principal,
        card,
        -entry.amount,
        kind=ROLLBACK,
        at=now,
        page=page,
        note=UNDO_REASON,
        order_reference=_undo_reference(entry.id),
        event=events.GIFTCARD_REDEMPTION_UNDONE,
    )
    return card.code
