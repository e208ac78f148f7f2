"""Redemptions at a shop counter (the staff screen): what this counter redeemed today, and the
undo a member may make of their own redemption within :data:`UNDO_WINDOW` (a rollback with the
reason :data:`UNDO_REASON`, so it writes the same event and webhook as the API's rollback)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.giftcards.ledger import REDEEM
from voucherd.models import GiftCard, GiftLedgerEntry, Redemption, Staff
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
            rolled_back=False,
            undoable=False,  # a gift card's payment is given back by a manager (a top-up)
        )
        for entry, code, currency in found
    )
    lines.sort(key=lambda line: line.recorded_at, reverse=True)
    return lines[:limit]


async def undo(session: AsyncSession, principal: Principal, redemption_id: uuid.UUID) -> Redemption:
    """Roll back the caller's own counter redemption within :data:`UNDO_WINDOW` of recording it
    (:class:`UndoNotYours`, :class:`UndoTooLate`); undoing it again changes nothing."""
    redemption = await session.scalar(
        select(Redemption).where(Redemption.id == redemption_id, Redemption.client_id == principal.client_id)
    )
    if redemption is None:
        raise RedemptionNotFound("No redemption with this id.")
    if redemption.staff_id != principal.subject.id:
        raise UndoNotYours()
    if redemption.rolled_back_at is not None:
        return redemption
    if clock.now() - redemption.created_at > UNDO_WINDOW:
        raise UndoTooLate()
    undone, _ = await rollback_redemption(session, principal, reason=UNDO_REASON, redemption_id=redemption.id)
    return undone
