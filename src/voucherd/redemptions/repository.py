"""Redemption statements. The use counter only ever moves through guarded UPDATEs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.models import Redemption, Voucher

_vouchers = cast(Table, Voucher.__table__)
_redemptions = cast(Table, Redemption.__table__)


async def claim_use(session: AsyncSession, voucher_id: uuid.UUID, *, limit: int) -> bool:
    """Take one use if one is left, atomically. No read-then-write: the condition and the
    increment are one statement, so concurrent redemptions of the last use cannot both win (the
    row lock makes the loser re-check ``redeemed_count < limit`` after the winner commits)."""
    result = await session.execute(
        update(_vouchers)
        .where(_vouchers.c.id == voucher_id, _vouchers.c.redeemed_count < limit)
        .values(redeemed_count=_vouchers.c.redeemed_count + 1)
        .returning(_vouchers.c.redeemed_count)
    )
    return result.first() is not None


async def release_use(session: AsyncSession, voucher_id: uuid.UUID) -> None:
    await session.execute(
        update(_vouchers)
        .where(_vouchers.c.id == voucher_id, _vouchers.c.redeemed_count > 0)
        .values(redeemed_count=_vouchers.c.redeemed_count - 1)
    )


async def insert_redemption(session: AsyncSession, values: dict[str, object]) -> bool:
    """Insert unless ``(client, voucher, order_reference)`` exists; ``False`` on a duplicate.

    On PostgreSQL a concurrent insert of the same key waits for the first transaction and then
    sees its row, so a retried order replays instead of failing."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(_redemptions).values(values).on_conflict_do_nothing().returning(_redemptions.c.id)
    )
    return (await session.execute(statement)).first() is not None


async def get_by_reference(
    session: AsyncSession, client_id: uuid.UUID, voucher_id: uuid.UUID, order_reference: str
) -> Redemption | None:
    return await session.scalar(
        select(Redemption).where(
            Redemption.client_id == client_id,
            Redemption.voucher_id == voucher_id,
            Redemption.order_reference == order_reference,
        )
    )


async def mark_rolled_back(
    session: AsyncSession, redemption_id: uuid.UUID, *, at: datetime, reason: str
) -> bool:
    """Roll back once: ``False`` when it already was (the caller then changes nothing)."""
    result = await session.execute(
        update(_redemptions)
        .where(_redemptions.c.id == redemption_id, _redemptions.c.rolled_back_at.is_(None))
        .values(rolled_back_at=at, rollback_reason=reason)
        .returning(_redemptions.c.id)
    )
    return result.first() is not None
