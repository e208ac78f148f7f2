"""The ledger of gift card balances: one row per movement, written beside the guarded UPDATE
that moved the balance, with the balance that UPDATE returned."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.models import GiftCard, GiftLedgerEntry

ISSUE = "issue"
REDEEM = "redeem"
TOP_UP = "top_up"
HOLD = "hold"
RELEASE = "release"
REFUND = "refund"
EXPIRY = "expiry"
REGENERATE = "regenerate"  # the balance leaving a lost code (and ISSUE on its successor)
ROLLBACK = "rollback"  # what a redemption took, given back when it is rolled back


def actor(principal: Principal) -> str:
    return f"{principal.subject.kind}:{principal.subject.id}"


def entry(
    card: GiftCard,
    kind: str,
    amount: int,
    *,
    balance_after: int,
    at: datetime,
    page_id: uuid.UUID | None = None,
    who: str | None = None,
    hold_id: uuid.UUID | None = None,
    note: str | None = None,
    order_reference: str | None = None,
    transaction_amount: int | None = None,
) -> GiftLedgerEntry:
    return GiftLedgerEntry(
        giftcard_id=card.id,
        client_id=card.client_id,
        kind=kind,
        amount=amount,
        balance_after=balance_after,
        occurred_at=at,
        sales_page_id=page_id,
        hold_id=hold_id,
        actor=who,
        note=note,
        order_reference=order_reference,
        transaction_amount=transaction_amount,
    )


async def entries(session: AsyncSession, card_id: uuid.UUID) -> list[GiftLedgerEntry]:
    return list(
        (
            await session.execute(
                select(GiftLedgerEntry)
                .where(GiftLedgerEntry.giftcard_id == card_id)
                .order_by(GiftLedgerEntry.created_at, GiftLedgerEntry.id)
            )
        ).scalars()
    )


async def total(session: AsyncSession, card_id: uuid.UUID) -> int:
    """Σ ledger of a card: always its balance."""
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(GiftLedgerEntry.amount), 0)).where(
                GiftLedgerEntry.giftcard_id == card_id
            )
        )
        or 0
    )
