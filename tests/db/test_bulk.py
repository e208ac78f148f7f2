"""Bulk inserts (COPY on PostgreSQL, executemany on SQLite) and bulk lookups (an array join on
PostgreSQL, IN lists on SQLite) behave the same on both backends."""

from __future__ import annotations

import uuid
from typing import cast

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.exc import IntegrityError

from tests.conftest import Tenant
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.db.bulk import IN_LIST_LENGTH, insert_rows, select_matching
from voucherd.models import Customer, Event

customers = cast(Table, Customer.__table__)
events = cast(Table, Event.__table__)


def customer(tenant: Tenant, external_id: str) -> dict[str, object]:
    now = clock.now()
    return {
        "id": uuid.uuid4(),
        "client_id": tenant.client_id,
        "email": None,
        "external_id": external_id,
        "metadata": {"tier": "gold", "tags": ["a", "ü"]},
        "created_at": now,
        "updated_at": now,
    }


async def test_rows_and_json_arrive(database: Database, tenant: Tenant) -> None:
    async with unit_of_work(database) as session:
        await insert_rows(session, customers, [customer(tenant, "A"), customer(tenant, "B")])
        await insert_rows(
            session,
            events,
            [
                {
                    "id": uuid.uuid4(),
                    "client_id": tenant.client_id,
                    "type": "t",
                    "data": {"x": 1},
                    "created_at": clock.now(),
                }
            ],
        )
    async with unit_of_work(database, write=False) as session:
        rows = (await session.scalars(select(Customer).order_by(Customer.external_id))).all()
        data = await session.scalar(select(Event.data))
    assert [(c.external_id, c.metadata_) for c in rows] == [
        ("A", {"tier": "gold", "tags": ["a", "ü"]}),
        ("B", {"tier": "gold", "tags": ["a", "ü"]}),
    ]
    assert data == {"x": 1}


async def test_a_broken_constraint_is_an_integrity_error_and_the_savepoint_recovers(
    database: Database, tenant: Tenant
) -> None:
    async with unit_of_work(database) as session:
        await insert_rows(session, customers, [customer(tenant, "A")])
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await insert_rows(session, customers, [customer(tenant, "B"), customer(tenant, "A")])
        await insert_rows(session, customers, [customer(tenant, "C")])
    async with unit_of_work(database, write=False) as session:
        names = sorted((await session.scalars(select(Customer.external_id))).all())
        assert await session.scalar(select(func.count()).select_from(Customer)) == 2
    assert names == ["A", "C"]


async def test_rows_sent_first_in_a_transaction_roll_back_with_it(database: Database, tenant: Tenant) -> None:
    # given a unit of work whose first statement is the bulk insert, and which then fails
    async def fails_after_the_rows() -> None:
        async with unit_of_work(database) as session:
            await insert_rows(session, customers, [customer(tenant, "A")])
            raise RuntimeError("the request fails after the rows were sent")

    with pytest.raises(RuntimeError):
        await fails_after_the_rows()
    # then the rows went with the transaction (they were not committed on their own)
    async with unit_of_work(database, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0


async def test_select_matching_finds_each_row_once_across_in_lists(
    database: Database, tenant: Tenant
) -> None:
    count = 2 * IN_LIST_LENGTH + 7  # three IN lists on SQLite
    async with unit_of_work(database) as session:
        await insert_rows(session, customers, [customer(tenant, f"C{n:04}") for n in range(count)])
    wanted = [f"C{n:04}" for n in range(0, count, 2)]
    sent = [*wanted, *wanted[:50], "missing", "C9999"]  # repeats and strangers
    query = select(Customer.external_id).where(Customer.client_id == tenant.client_id)
    async with unit_of_work(database, write=False) as session:
        rows = await select_matching(session, query, Customer.external_id, sent)
        uuids = await select_matching(
            session,
            select(Customer.id),
            Customer.id,
            [uuid.uuid4(), *(await session.scalars(select(Customer.id)))],
        )
        nothing = await select_matching(session, query, Customer.external_id, [])
    assert sorted(row.external_id for row in rows) == wanted
    assert len(uuids) == count
    assert nothing == []


async def test_select_matching_keeps_the_query_order(database: Database, tenant: Tenant) -> None:
    async with unit_of_work(database) as session:
        await insert_rows(session, customers, [customer(tenant, name) for name in "BCA"])
    query = select(Customer.external_id).order_by(Customer.external_id.desc())
    async with unit_of_work(database, write=False) as session:
        rows = await select_matching(session, query, Customer.external_id, ["A", "C", "B", "A"])
    assert [row.external_id for row in rows] == ["C", "B", "A"]
