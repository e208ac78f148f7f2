"""Redemption statements. The use counter only ever moves through guarded UPDATEs.

The checkout (validate, redeem) runs through a :class:`CheckoutStore`: :class:`SessionStore` is
SQLAlchemy Core in the request's session (SQLite, and PostgreSQL requests that carry an
``Idempotency-Key``, whose record must share the transaction); :class:`PostgresStore` runs the
same statements on an asyncpg connection, the redemption as one statement. The tests run every
checkout call against both on PostgreSQL and the first on SQLite."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import asyncpg  # type: ignore[import-untyped]
import orjson
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.models import Event, Redemption, Voucher
from voucherd.vouchers import repository as vouchers
from voucherd.vouchers.repository import Offer

_vouchers = cast(Table, Voucher.__table__)
_redemptions = cast(Table, Redemption.__table__)
_events = cast(Table, Event.__table__)


class Outcome(enum.Enum):
    REDEEMED = "redeemed"
    DUPLICATE = "duplicate"  # the order was redeemed before: the caller replays the answer
    EXHAUSTED = "exhausted"  # no use left: nothing was written


@dataclass(frozen=True, slots=True)
class PastRedemption:
    """What a replay of an order needs to know about its earlier redemption."""

    id: uuid.UUID
    code: str
    order_reference: str | None
    currency: str
    transaction_amount: int
    discount_applied: int
    rolled_back_at: datetime | None


PAST_COLUMNS = (
    _redemptions.c.id,
    _redemptions.c.code,
    _redemptions.c.order_reference,
    _redemptions.c.currency,
    _redemptions.c.transaction_amount,
    _redemptions.c.discount_applied,
    _redemptions.c.rolled_back_at,
)


class CheckoutStore(Protocol):
    async def lookup(self, client_id: uuid.UUID, code: str) -> Offer | None: ...

    async def redeem(self, redemption: dict[str, Any], event: dict[str, Any], *, limit: int) -> Outcome:
        """Record the redemption, take one use and append the event, all or nothing. The
        redemption row goes first, so a retried order finds its key taken (DUPLICATE) rather
        than the voucher used up by itself."""
        ...

    async def past(
        self, client_id: uuid.UUID, voucher_id: uuid.UUID, order_reference: str
    ) -> PastRedemption | None: ...


class SessionStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lookup(self, client_id: uuid.UUID, code: str) -> Offer | None:
        return await vouchers.lookup(self.session, client_id, code)

    async def redeem(self, redemption: dict[str, Any], event: dict[str, Any], *, limit: int) -> Outcome:
        if not await insert_redemption(self.session, redemption):
            return Outcome.DUPLICATE
        if not await claim_use(self.session, redemption["voucher_id"], limit=limit):
            return Outcome.EXHAUSTED  # the unit of work rolls the row back with the error raised
        await self.session.execute(insert(_events).values(event))
        return Outcome.REDEEMED

    async def past(
        self, client_id: uuid.UUID, voucher_id: uuid.UUID, order_reference: str
    ) -> PastRedemption | None:
        row = (
            await self.session.execute(
                _past, {"client_id": client_id, "voucher_id": voucher_id, "order_reference": order_reference}
            )
        ).first()
        return None if row is None else PastRedemption(*row)


_past = select(*PAST_COLUMNS).where(
    _redemptions.c.client_id == bindparam("client_id"),
    _redemptions.c.voucher_id == bindparam("voucher_id"),
    _redemptions.c.order_reference == bindparam("order_reference"),
)

# One round trip: the redemption row (skipped on a duplicate key), the use (taken only if the row
# went in, and only while one is left), the event (only if the use was taken). If the row went in
# but no use was left, the caller's transaction is rolled back, so nothing stays written.
_PG_REDEEM = """
WITH inserted AS (
    INSERT INTO redemptions (id, client_id, campaign_id, voucher_id, code, order_reference, currency,
                             transaction_amount, discount_applied, channel, redeemed_at, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
    ON CONFLICT DO NOTHING
    RETURNING id
), claimed AS (
    UPDATE vouchers SET redeemed_count = redeemed_count + 1
    WHERE id = $4 AND redeemed_count < $13 AND EXISTS (SELECT FROM inserted)
    RETURNING id
), event AS (
    INSERT INTO events (id, client_id, type, data, created_at)
    SELECT $14, $2, $15, $16::jsonb, $12 FROM claimed
)
SELECT EXISTS (SELECT FROM inserted) AS inserted, EXISTS (SELECT FROM claimed) AS claimed
"""

_PG_PAST = """
SELECT id, code, order_reference, currency, transaction_amount, discount_applied, rolled_back_at
FROM redemptions WHERE client_id = $1 AND voucher_id = $2 AND order_reference = $3
"""


class PostgresStore:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def lookup(self, client_id: uuid.UUID, code: str) -> Offer | None:
        record = await self.connection.fetchrow(vouchers.LOOKUP_SQL, client_id, code)
        return None if record is None else Offer(*record)

    async def redeem(self, redemption: dict[str, Any], event: dict[str, Any], *, limit: int) -> Outcome:
        r = redemption
        transaction = self.connection.transaction()
        await transaction.start()
        try:
            inserted, claimed = await self.connection.fetchrow(
                _PG_REDEEM,
                r["id"], r["client_id"], r["campaign_id"], r["voucher_id"], r["code"],
                r["order_reference"], r["currency"], r["transaction_amount"], r["discount_applied"],
                r["channel"], r["redeemed_at"], r["created_at"],
                limit,
                event["id"], event["type"], orjson.dumps(event["data"]).decode(),
            )  # fmt: skip
        except BaseException:
            await transaction.rollback()
            raise
        if inserted and not claimed:
            await transaction.rollback()
            return Outcome.EXHAUSTED
        await transaction.commit()
        return Outcome.REDEEMED if inserted else Outcome.DUPLICATE

    async def past(
        self, client_id: uuid.UUID, voucher_id: uuid.UUID, order_reference: str
    ) -> PastRedemption | None:
        record = await self.connection.fetchrow(_PG_PAST, client_id, voucher_id, order_reference)
        return None if record is None else PastRedemption(*record)


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
