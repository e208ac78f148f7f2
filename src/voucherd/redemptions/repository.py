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
from sqlalchemy import Table, bindparam, case, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.events.service import SEQUENCE
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
        """Record the redemption, take one use and append the event, all or nothing: DUPLICATE
        when the order's key is taken, EXHAUSTED when no use is left (the caller then checks
        whether the order itself took the last one). The UPDATE that takes the use also takes
        the voucher's next event number, which the event's data carries as ``sequence``."""
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
        """The steps of :data:`_PG_REDEEM` as separate statements in the session's transaction."""
        voucher_id = redemption["voucher_id"]
        if await self.session.scalar(_available, {"voucher_id": voucher_id, "limit": limit}) is None:
            return Outcome.EXHAUSTED
        if not await insert_redemption(self.session, redemption):
            return Outcome.DUPLICATE
        sequence = await claim_use(self.session, voucher_id, limit=limit)
        if sequence is None:  # pragma: no cover - locked
            raise RuntimeError("the use was taken under the row lock")
        await self.session.execute(
            insert(_events).values({**event, "data": {**event["data"], SEQUENCE: sequence}})
        )
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


# The voucher row, locked, if a use is left (SQLite has no row locks: BEGIN IMMEDIATE already
# serializes its writers).
_available = (
    select(_vouchers.c.id)
    .where(_vouchers.c.id == bindparam("voucher_id"), _vouchers.c.redeemed_count < bindparam("limit"))
    .with_for_update()
)

_past = select(*PAST_COLUMNS).where(
    _redemptions.c.client_id == bindparam("client_id"),
    _redemptions.c.voucher_id == bindparam("voucher_id"),
    _redemptions.c.order_reference == bindparam("order_reference"),
)

# One statement, so one round trip and no BEGIN/COMMIT: atomic by itself. It locks the voucher row
# if a use is left (a concurrent redemption waits here, then re-checks the count on the row as
# committed), inserts the redemption (skipped if the order's key is taken: a duplicate) and only
# then takes the use with the voucher's next event number, and appends the event carrying that
# number. So a refused redemption writes nothing, and numbers follow commit order.
_PG_REDEEM = """
WITH available AS (
    SELECT id FROM vouchers WHERE id = $4 AND redeemed_count < $13 FOR UPDATE
), inserted AS (
    INSERT INTO redemptions (id, client_id, campaign_id, voucher_id, code, order_reference, currency,
                             transaction_amount, discount_applied, channel, redeemed_at, created_at)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM available
    ON CONFLICT DO NOTHING
    RETURNING voucher_id
), claimed AS (
    UPDATE vouchers SET redeemed_count = redeemed_count + 1, event_sequence = event_sequence + 1
    WHERE id IN (SELECT voucher_id FROM inserted) AND redeemed_count < $13
    RETURNING id, event_sequence
), event AS (
    INSERT INTO events (id, client_id, type, data, created_at)
    SELECT $14, $2, $15, $16::jsonb || jsonb_build_object('sequence', claimed.event_sequence), $12
    FROM claimed
)
SELECT EXISTS (SELECT FROM available) AS available, EXISTS (SELECT FROM claimed) AS claimed
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
        available, claimed = await self.connection.fetchrow(
            _PG_REDEEM,
            r["id"], r["client_id"], r["campaign_id"], r["voucher_id"], r["code"],
            r["order_reference"], r["currency"], r["transaction_amount"], r["discount_applied"],
            r["channel"], r["redeemed_at"], r["created_at"],
            limit,
            event["id"], event["type"], orjson.dumps(event["data"]).decode(),
        )  # fmt: skip
        if claimed:
            return Outcome.REDEEMED
        return Outcome.DUPLICATE if available else Outcome.EXHAUSTED

    async def past(
        self, client_id: uuid.UUID, voucher_id: uuid.UUID, order_reference: str
    ) -> PastRedemption | None:
        record = await self.connection.fetchrow(_PG_PAST, client_id, voucher_id, order_reference)
        return None if record is None else PastRedemption(*record)


async def claim_use(session: AsyncSession, voucher_id: uuid.UUID, *, limit: int) -> int | None:
    """Take one use if one is left, atomically, with the voucher's next event number (returned;
    ``None``: no use left). No read-then-write: the condition and the increment are one
    statement, so concurrent redemptions of the last use cannot both win (the row lock makes the
    loser re-check ``redeemed_count < limit`` after the winner commits)."""
    result = await session.execute(
        update(_vouchers)
        .where(_vouchers.c.id == voucher_id, _vouchers.c.redeemed_count < limit)
        .values(
            redeemed_count=_vouchers.c.redeemed_count + 1,
            event_sequence=_vouchers.c.event_sequence + 1,
        )
        .returning(_vouchers.c.event_sequence)
    )
    row = result.first()
    return None if row is None else int(row[0])


async def release_use(session: AsyncSession, voucher_id: uuid.UUID) -> int:
    """Give one use back (never below 0) and take the voucher's next event number, in one UPDATE."""
    count = _vouchers.c.redeemed_count
    result = await session.execute(
        update(_vouchers)
        .where(_vouchers.c.id == voucher_id)
        .values(
            redeemed_count=case((count > 0, count - 1), else_=count),
            event_sequence=_vouchers.c.event_sequence + 1,
        )
        .returning(_vouchers.c.event_sequence)
    )
    return int(result.scalar_one())


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
