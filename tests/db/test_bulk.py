"""Bulk inserts (COPY on PostgreSQL, executemany on SQLite) behave the same on both backends."""

from __future__ import annotations

import uuid
from typing import cast

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.exc import IntegrityError

from tests.conftest import Tenant
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.db.bulk import insert_rows
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
