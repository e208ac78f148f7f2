"""The checkout store contract, for each store on each backend where it runs: SessionStore on
SQLite and PostgreSQL, PostgresStore (asyncpg, one statement per redemption) on PostgreSQL, both
on a connection of its own pool and on a session's connection inside the session's transaction."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from voucherd.core import clock
from voucherd.customers import matching
from voucherd.customers.schemas import Person
from voucherd.db import Database, unit_of_work
from voucherd.db.session import driver_of
from voucherd.events import service as events
from voucherd.models import Event, Redemption, Voucher
from voucherd.redemptions.repository import CheckoutStore, Outcome, PostgresStore, SessionStore

StoreFactory = Callable[[], AbstractAsyncContextManager[CheckoutStore]]


@pytest.fixture(params=["session", "postgres", "postgres-in-session"])
def store(request: pytest.FixtureRequest, database: Database) -> StoreFactory:
    """Opens one unit of work with the store, committing at the end as a request does."""
    if request.param.startswith("postgres") and not database.is_postgres:
        pytest.skip("PostgresStore runs on PostgreSQL only")

    @asynccontextmanager
    async def open_store() -> AsyncIterator[CheckoutStore]:
        if request.param == "postgres":
            async with (await database.driver()).acquire() as connection:
                yield PostgresStore(connection)
        elif request.param == "postgres-in-session":
            async with unit_of_work(database) as session:
                yield PostgresStore(await driver_of(session), session)
        else:
            async with unit_of_work(database) as session:
                yield SessionStore(session)

    return open_store


def _redemption(
    tenant: Tenant,
    offer: Any,
    order_reference: str | None,
    amount: int = 1000,
    customer_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    now = clock.now()
    return {
        "customer_id": customer_id,
        "id": uuid.uuid4(),
        "client_id": tenant.client_id,
        "campaign_id": offer.campaign_id,
        "voucher_id": offer.id,
        "code": offer.code,
        "order_reference": order_reference,
        "currency": offer.currency,
        "transaction_amount": amount,
        "discount_applied": 200,
        "channel": "online",
        "redeemed_at": now,
        "created_at": now,
    }


async def _counts(database: Database, voucher_id: uuid.UUID) -> tuple[int, int, int]:
    async with unit_of_work(database, write=False) as session:
        used = await session.scalar(select(Voucher.redeemed_count).where(Voucher.id == voucher_id))
        rows = await session.scalar(select(func.count()).where(Redemption.voucher_id == voucher_id))
        event_rows = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == events.VOUCHER_REDEEMED)
        )
    return used or 0, rows or 0, event_rows or 0


async def test_lookup_is_scoped_by_client(
    database: Database, store: StoreFactory, tenant: Tenant, other_tenant: Tenant
) -> None:
    campaign = await make_campaign(database, tenant, name="Scoped")
    [code] = await make_codes(database, tenant, campaign)
    async with store() as checkout:
        offer = await checkout.lookup(tenant.client_id, code)
        assert offer is not None
        assert (offer.code, offer.campaign_name, offer.redeemed_count) == (code, "Scoped", 0)
        assert offer.discount_value == 2000  # 20% in basis points
        assert await checkout.lookup(other_tenant.client_id, code) is None
        assert await checkout.lookup(tenant.client_id, "NOSUCHCODE") is None


async def test_redeem_duplicate_exhausted(database: Database, store: StoreFactory, tenant: Tenant) -> None:
    campaign = await make_campaign(database, tenant, uses_per_voucher=2)
    [code] = await make_codes(database, tenant, campaign)
    async with store() as checkout:
        offer = await checkout.lookup(tenant.client_id, code)
    assert offer is not None

    def event() -> dict[str, Any]:
        return events.new_event(tenant.client_id, events.VOUCHER_REDEEMED, {"voucher_code": code})

    first = _redemption(tenant, offer, "order-1")
    async with store() as checkout:
        assert await checkout.redeem(first, event(), limit=2) is Outcome.REDEEMED
    assert await _counts(database, offer.id) == (1, 1, 1)

    # The same order again, a use still left: its key is taken, nothing more is written.
    async with store() as checkout:
        assert (
            await checkout.redeem(_redemption(tenant, offer, "order-1"), event(), limit=2)
            is Outcome.DUPLICATE
        )
        past = await checkout.past(tenant.client_id, offer.id, "order-1")
    assert past is not None
    assert (past.id, past.transaction_amount) == (first["id"], 1000)
    assert await _counts(database, offer.id) == (1, 1, 1)

    async with store() as checkout:
        assert (
            await checkout.redeem(_redemption(tenant, offer, "order-2"), event(), limit=2) is Outcome.REDEEMED
        )
    assert await _counts(database, offer.id) == (2, 2, 2)

    # No use left: nothing is written, whatever the caller does next.
    outcomes: list[Outcome] = []
    with pytest.raises(_Refused):
        await _redeem_and_refuse(store, _redemption(tenant, offer, "order-3"), event(), outcomes)
    assert outcomes == [Outcome.EXHAUSTED]
    assert await _counts(database, offer.id) == (2, 2, 2)
    async with store() as checkout:
        assert await checkout.past(tenant.client_id, offer.id, "order-3") is None


async def _redeem_and_refuse(
    store: StoreFactory, redemption: dict[str, Any], event: dict[str, Any], outcomes: list[Outcome]
) -> None:
    async with store() as checkout:
        outcomes.append(await checkout.redeem(redemption, event, limit=2))
        raise _Refused


class _Refused(Exception):
    """What the service raises on EXHAUSTED, as far as the unit of work is concerned."""


async def _sequences(database: Database, voucher_id: uuid.UUID) -> tuple[int, list[tuple[str, int]]]:
    """(the voucher's event_sequence, (type, sequence) of its events in number order)."""
    async with unit_of_work(database, write=False) as session:
        counter = await session.scalar(select(Voucher.event_sequence).where(Voucher.id == voucher_id))
        rows = (await session.execute(select(Event.type, Event.data))).all()
    numbered = sorted(
        (data["sequence"], kind) for kind, data in rows if data.get("voucher_id") == str(voucher_id)
    )
    return counter or 0, [(kind, number) for number, kind in numbered]


async def test_redeem_numbers_its_event_after_the_vouchers_last(
    database: Database, store: StoreFactory, tenant: Tenant
) -> None:
    # given a bulk-made code (no event of its own yet) with one event about it since
    campaign = await make_campaign(database, tenant, uses_per_voucher=2)
    [code] = await make_codes(database, tenant, campaign)
    async with store() as checkout:
        offer = await checkout.lookup(tenant.client_id, code)
    assert offer is not None
    assert await _sequences(database, offer.id) == (0, [])
    async with unit_of_work(database) as session:
        await events.record(
            session, tenant.client_id, events.VOUCHER_PUBLISHED, {"channel": "API"}, voucher_id=offer.id
        )

    def event() -> dict[str, Any]:
        return events.new_event(
            tenant.client_id, events.VOUCHER_REDEEMED, {"voucher_id": str(offer.id), "voucher_code": code}
        )

    # when it is redeemed, retried, redeemed again and refused
    async with store() as checkout:
        assert (
            await checkout.redeem(_redemption(tenant, offer, "order-1"), event(), limit=2) is Outcome.REDEEMED
        )
    async with store() as checkout:
        assert (
            await checkout.redeem(_redemption(tenant, offer, "order-1"), event(), limit=2)
            is Outcome.DUPLICATE
        )
    async with store() as checkout:
        assert (
            await checkout.redeem(_redemption(tenant, offer, "order-2"), event(), limit=2) is Outcome.REDEEMED
        )
    with pytest.raises(_Refused):
        await _redeem_and_refuse(store, _redemption(tenant, offer, "order-3"), event(), [])
    # then each redemption took the next number with its use; the refused ones took none
    assert await _sequences(database, offer.id) == (
        3,
        [("voucher.published", 1), ("voucher.redeemed", 2), ("voucher.redeemed", 3)],
    )


async def test_customer_limit_counts_the_customers_live_redemptions_of_the_campaign(
    database: Database, store: StoreFactory, tenant: Tenant, request: pytest.FixtureRequest
) -> None:
    if request.node.callspec.params["store"] == "postgres":
        pytest.skip("the customer's lock needs a transaction: the checkout opens one for a named customer")
    # given a campaign's three codes, a customer, and another customer
    campaign = await make_campaign(database, tenant, uses_per_voucher=5, uses_per_customer=2)
    codes = await make_codes(database, tenant, campaign, 3)
    async with unit_of_work(database) as session:
        alice, bob = await matching.match_or_create(
            session, tenant.client_id, [Person(email="alice@example.com"), Person(email="bob@example.com")]
        )
    async with store() as checkout:
        offers = [await checkout.lookup(tenant.client_id, code) for code in codes]

    async def redeem(offer: Any, order: str, customer: uuid.UUID) -> Outcome:
        event = events.new_event(tenant.client_id, events.VOUCHER_REDEEMED, {"voucher_code": offer.code})
        async with store() as checkout:
            return await checkout.redeem(
                _redemption(tenant, offer, order, customer_id=customer), event, limit=5, customer_limit=2
            )

    # when she redeems across codes, her limit counts the campaign, not the code
    assert await redeem(offers[0], "a-1", alice) is Outcome.REDEEMED
    assert await redeem(offers[1], "a-2", alice) is Outcome.REDEEMED
    assert await redeem(offers[2], "a-3", alice) is Outcome.CUSTOMER_LIMIT
    # the same order again takes nothing either (the service then finds it and replays it)
    assert await redeem(offers[1], "a-2", alice) is Outcome.CUSTOMER_LIMIT
    # another customer has a limit of their own
    assert await redeem(offers[2], "b-1", bob) is Outcome.REDEEMED
    # a refused redemption wrote nothing
    assert [(await _counts(database, offer.id))[:2] for offer in offers] == [(1, 1), (1, 1), (1, 1)]
    # and a rolled-back redemption no longer counts
    async with unit_of_work(database) as session:
        await session.execute(
            Redemption.__table__.update()
            .where(Redemption.order_reference == "a-1")
            .values(rolled_back_at=clock.now(), rollback_reason="refunded")
        )
    assert await redeem(offers[2], "a-3", alice) is Outcome.REDEEMED
