"""Redemption statements. The use counter only ever moves through guarded UPDATEs.

The checkout (validate, redeem) runs through a :class:`CheckoutStore`: :class:`PostgresStore` on
PostgreSQL, :class:`SessionStore` on SQLite (and, in tests and tools, anywhere a session is at
hand). The redemption's rules are written once, as the Core expressions below (a use left on the
voucher, the customer under the campaign's limit), and the write once, as one Core statement
(:func:`_redeem_statement`) that asyncpg runs compiled (:mod:`voucherd.db.driver`): atomic by
itself, so it needs no transaction unless a second write must commit with it (an idempotency
record, a customer made for the redemption), when it runs on the connection of the request's
session, inside its transaction. SQLite cannot run data-modifying CTEs: :class:`SessionStore`
runs the statement's steps in order, built from the same expressions, in a transaction whose
BEGIN IMMEDIATE already serializes the writers. The tests run every checkout call against both
stores on PostgreSQL and the second on SQLite."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import asyncpg  # type: ignore[import-untyped]
import orjson
from sqlalchemy import (
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.customers import matching as customers
from voucherd.db.driver import for_driver
from voucherd.db.session import driver_of
from voucherd.events.service import SEQUENCE
from voucherd.models import Customer, Event, Redemption, Voucher
from voucherd.offers import repository as offers
from voucherd.offers.repository import Offer

_vouchers = cast(Table, Voucher.__table__)
_redemptions = cast(Table, Redemption.__table__)
_events = cast(Table, Event.__table__)
_customers = cast(Table, Customer.__table__)


class Outcome(enum.Enum):
    REDEEMED = "redeemed"
    DUPLICATE = "duplicate"  # the order was redeemed before: the caller replays the answer
    EXHAUSTED = "exhausted"  # no use left: nothing was written
    CUSTOMER_LIMIT = "customer_limit"  # the customer used the campaign's limit: nothing was written


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
    stack_id: uuid.UUID | None


PAST_COLUMNS = (
    _redemptions.c.id,
    _redemptions.c.code,
    _redemptions.c.order_reference,
    _redemptions.c.currency,
    _redemptions.c.transaction_amount,
    _redemptions.c.discount_applied,
    _redemptions.c.rolled_back_at,
    _redemptions.c.stack_id,
)
# The columns a redemption is written with, each the bound parameter of its name.
REDEMPTION_FIELDS = (
    "id",
    "client_id",
    "campaign_id",
    "voucher_id",
    "code",
    "customer_id",
    "order_reference",
    "currency",
    "transaction_amount",
    "discount_applied",
    "channel",
    "redeemed_at",
    "created_at",
    "stack_id",
    "staff_id",
    "sales_page_id",
)


class CheckoutStore(Protocol):
    @property
    def session(self) -> AsyncSession | None:
        """The request's session, when its writes go through SQLAlchemy (a gift card's code
        needs one)."""
        ...

    async def lookup(self, client_id: uuid.UUID, code: str) -> Offer | None: ...

    async def customer(self, client_id: uuid.UUID, reference: str) -> uuid.UUID:
        """The customer a redemption names (an email or a customer id): see
        :func:`voucherd.customers.matching.for_redemption`."""
        ...

    async def redeem(
        self,
        redemption: dict[str, Any],
        event: dict[str, Any],
        *,
        limit: int,
        customer_limit: int | None = None,
    ) -> Outcome:
        """Record the redemption, take one use and append the event, all or nothing: DUPLICATE
        when the order's key is taken, EXHAUSTED when no use is left, CUSTOMER_LIMIT when
        ``customer_limit`` is given and the redemption's customer has used the campaign that
        often (the caller then checks whether the order itself was one of them). The UPDATE that
        takes the use also takes the voucher's next event number, which the event's data
        carries as ``sequence``."""
        ...

    async def past(
        self, client_id: uuid.UUID, voucher_id: uuid.UUID, order_reference: str
    ) -> PastRedemption | None: ...

    async def lock(self, client_id: uuid.UUID, codes: list[str]) -> None:
        """Lock the client's vouchers of ``codes`` in one order (by id), inside the transaction,
        before a stack redeems them one by one in the order asked: two stacks sharing codes in
        different orders then queue on the first shared voucher instead of deadlocking."""
        ...


# The rules, once. A use is left on the voucher:
_use_left = and_(_vouchers.c.id == bindparam("voucher_id"), _vouchers.c.redeemed_count < bindparam("limit"))
# The customer has redeemed the campaign fewer times than its limit (rolled back ones do not count).
# Exact only while the customer's row is locked (:data:`_LOCK_CUSTOMER`): a count cannot be
# guarded like the voucher's counter, so the lock serializes one customer's redemptions.
_customer_under_limit = select(func.count()).select_from(_redemptions).where(
    _redemptions.c.customer_id == bindparam("customer_id"),
    _redemptions.c.campaign_id == bindparam("campaign_id"),
    _redemptions.c.rolled_back_at.is_(None),
).scalar_subquery() < bindparam("customer_limit")
_LOCK_CUSTOMER = select(_customers.c.id).where(_customers.c.id == bindparam("customer_id")).with_for_update()
# The voucher row, locked, if a use is left (SQLite has no row locks: BEGIN IMMEDIATE already
# serializes its writers).
_usable = select(_vouchers.c.id).where(_use_left).with_for_update()
# A stack's vouchers, locked in id order (PostgreSQL; SQLite's BEGIN IMMEDIATE serializes).
_LOCK_VOUCHERS = (
    select(_vouchers.c.id)
    .where(
        _vouchers.c.client_id == bindparam("client_id"),
        _vouchers.c.code == any_(bindparam("codes", type_=postgresql.ARRAY(String))),
    )
    .order_by(_vouchers.c.id)
    .with_for_update()
)


def _redeem_statement(*, per_customer: bool) -> Any:
    """The redemption as one statement, so one round trip and no BEGIN/COMMIT. It locks the
    voucher row if a use is left (a concurrent redemption waits here, then re-checks the count on
    the row as committed), checks the customer's limit when there is one, inserts the redemption
    (skipped if the order's key is taken: a duplicate) and only then takes the use with the
    voucher's next event number, and appends the event carrying that number. So a refused
    redemption writes nothing, and numbers follow commit order. It answers (use left, available,
    claimed)."""
    usable = _usable.cte("usable")
    available = select(usable.c.id)
    if per_customer:
        available = available.where(_customer_under_limit)
    available_cte = available.cte("available")
    values = select(*(bindparam(name, type_=_redemptions.c[name].type) for name in REDEMPTION_FIELDS))
    inserted = (
        postgresql.insert(_redemptions)
        .from_select(list(REDEMPTION_FIELDS), values.select_from(available_cte))
        .on_conflict_do_nothing()
        .returning(_redemptions.c.voucher_id)
        .cte("inserted")
    )
    claimed = (
        update(_vouchers)
        .where(
            _vouchers.c.id.in_(select(inserted.c.voucher_id)), _vouchers.c.redeemed_count < bindparam("limit")
        )
        .values(
            redeemed_count=_vouchers.c.redeemed_count + 1,
            event_sequence=_vouchers.c.event_sequence + 1,
        )
        .returning(_vouchers.c.id, _vouchers.c.event_sequence)
        .cte("claimed")
    )
    data = sql_cast(bindparam("event_data", type_=Text), JSONB).op("||", return_type=JSONB)(
        func.jsonb_build_object(literal(SEQUENCE, Text), claimed.c.event_sequence)
    )
    event = (
        insert(_events)
        .from_select(
            ["id", "client_id", "type", "data", "created_at"],
            select(
                bindparam("event_id", type_=_events.c.id.type),
                bindparam("client_id"),
                bindparam("event_type", type_=_events.c.type.type),
                data,
                bindparam("created_at"),
            ).select_from(claimed),
        )
        .cte("event")
    )
    return select(
        exists(select(usable.c.id)), exists(select(available_cte.c.id)), exists(select(claimed.c.id))
    ).add_cte(event)


_REDEEM = {
    per_customer: for_driver(_redeem_statement(per_customer=per_customer)) for per_customer in (False, True)
}
_LOCK_CUSTOMER_FOR_DRIVER = for_driver(_LOCK_CUSTOMER)
_LOCK_VOUCHERS_FOR_DRIVER = for_driver(_LOCK_VOUCHERS)
_past = select(*PAST_COLUMNS).where(
    _redemptions.c.client_id == bindparam("client_id"),
    _redemptions.c.voucher_id == bindparam("voucher_id"),
    _redemptions.c.order_reference == bindparam("order_reference"),
)
_PAST = for_driver(_past)


def _outcome(use_left: bool, available: bool, claimed: bool) -> Outcome:
    if claimed:
        return Outcome.REDEEMED
    if available:
        return Outcome.DUPLICATE
    return Outcome.CUSTOMER_LIMIT if use_left else Outcome.EXHAUSTED


def _parameters(redemption: dict[str, Any], limit: int, customer_limit: int | None) -> dict[str, Any]:
    """The statements' parameters (a redemption that names no customer, made by no staff member
    at no counter, or outside a stack has those columns None)."""
    unnamed = {"customer_id": None, "staff_id": None, "sales_page_id": None, "stack_id": None}
    return {**unnamed, **redemption, "limit": limit, "customer_limit": customer_limit}


def _per_customer(redemption: dict[str, Any], customer_limit: int | None) -> bool:
    return customer_limit is not None and redemption.get("customer_id") is not None


class SessionStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lookup(self, client_id: uuid.UUID, code: str) -> Offer | None:
        return await offers.lookup(self.session, client_id, code)

    async def customer(self, client_id: uuid.UUID, reference: str) -> uuid.UUID:
        return await customers.for_redemption(self.session, client_id, reference)

    async def redeem(
        self,
        redemption: dict[str, Any],
        event: dict[str, Any],
        *,
        limit: int,
        customer_limit: int | None = None,
    ) -> Outcome:
        """The steps of :func:`_redeem_statement`, in the session's transaction."""
        parameters = _parameters(redemption, limit, customer_limit)
        per_customer = _per_customer(redemption, customer_limit)
        if per_customer:
            await self.session.execute(_LOCK_CUSTOMER, parameters)
        if await self.session.scalar(_usable, parameters) is None:
            return Outcome.EXHAUSTED
        if per_customer and not await self.session.scalar(select(_customer_under_limit), parameters):
            return Outcome.CUSTOMER_LIMIT
        if not await insert_redemption(self.session, redemption):
            return Outcome.DUPLICATE
        sequence = await claim_use(self.session, redemption["voucher_id"], limit=limit)
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

    async def lock(self, client_id: uuid.UUID, codes: list[str]) -> None:
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(_LOCK_VOUCHERS, {"client_id": client_id, "codes": codes})


class PostgresStore:
    """The checkout on an asyncpg connection: one from the checkout's own pool (no transaction:
    each statement is atomic by itself), or the connection of ``session`` inside its transaction,
    when a second write must commit with the redemption."""

    def __init__(self, connection: asyncpg.Connection, session: AsyncSession | None = None) -> None:
        self.connection = connection
        self.session = session

    async def lookup(self, client_id: uuid.UUID, code: str) -> Offer | None:
        statement = offers.LOOKUP_FOR_DRIVER
        record = await self.connection.fetchrow(
            statement.sql, *statement.arguments({"client_id": client_id, "code": code})
        )
        return None if record is None else Offer(*record)

    async def customer(self, client_id: uuid.UUID, reference: str) -> uuid.UUID:
        if self.session is None:
            raise RuntimeError("a redemption that names its customer runs in the request's session")
        return await customers.for_redemption(self.session, client_id, reference)

    async def redeem(
        self,
        redemption: dict[str, Any],
        event: dict[str, Any],
        *,
        limit: int,
        customer_limit: int | None = None,
    ) -> Outcome:
        per_customer = _per_customer(redemption, customer_limit)
        if per_customer:
            # The customer's row stays locked until the transaction ends; the statement after
            # it (a new snapshot) counts every redemption committed before.
            assert self.connection.is_in_transaction(), "the customer's lock needs a transaction"
            await self.connection.execute(_LOCK_CUSTOMER_FOR_DRIVER.sql, redemption["customer_id"])
        statement = _REDEEM[per_customer]
        parameters = {
            **_parameters(redemption, limit, customer_limit),
            "event_id": event["id"],
            "event_type": event["type"],
            "event_data": orjson.dumps(event["data"]).decode(),
        }
        record = await self.connection.fetchrow(statement.sql, *statement.arguments(parameters))
        return _outcome(*record)

    async def past(
        self, client_id: uuid.UUID, voucher_id: uuid.UUID, order_reference: str
    ) -> PastRedemption | None:
        record = await self.connection.fetchrow(
            _PAST.sql,
            *_PAST.arguments(
                {"client_id": client_id, "voucher_id": voucher_id, "order_reference": order_reference}
            ),
        )
        return None if record is None else PastRedemption(*record)

    async def lock(self, client_id: uuid.UUID, codes: list[str]) -> None:
        assert self.connection.is_in_transaction(), "the vouchers' locks need a transaction"
        statement = _LOCK_VOUCHERS_FOR_DRIVER
        await self.connection.fetch(
            statement.sql, *statement.arguments({"client_id": client_id, "codes": codes})
        )


async def session_store(session: AsyncSession) -> CheckoutStore:
    """The checkout's store inside the session's transaction, as the checkout opens it when a
    second write must commit with the redemption (:mod:`voucherd.http.checkout`): the same
    statement on PostgreSQL, the same steps on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return PostgresStore(await driver_of(session), session)
    return SessionStore(session)


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
