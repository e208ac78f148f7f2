"""The customer profile (phone as written, description, birthdate, address), the upsert by
external_id, and the erasure that empties every personal field."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from tests.conftest import Tenant
from voucherd.core.errors import InvalidInput
from voucherd.customers import service as customers
from voucherd.customers.errors import CustomerNotFound
from voucherd.db import Database, unit_of_work
from voucherd.models import Customer

PROFILE = {
    "external_id": "crm-9",
    "name": "Mary Somerville",
    "email": "mary@example.com",
    "mobile": "+447700900123",
    "phone": "01234 567890 (evenings)",
    "description": "Astronomer",
    "birthdate": date(1780, 12, 26),
    "address_line_1": "1 Burntisland Road",
    "address_line_2": "Top floor",
    "city": "Jedburgh",
    "state": "Borders",
    "country": "GB",
    "postcode": "TD8 6AA",
    "metadata": {"k": "v"},
}


async def test_erasure_empties_the_profile_too(database: Database, tenant: Tenant) -> None:
    async with unit_of_work(database) as session:
        made = await customers.upsert_customer(session, tenant.principal, dict(PROFILE))
        customer_id = made.id
    async with unit_of_work(database) as session:
        await customers.delete_customer(session, tenant.principal, customer_id)
    async with unit_of_work(database) as session:
        row = await session.get(Customer, customer_id)
        assert row is not None
        assert row.deleted_at is not None
        personal = [
            "email", "email_key", "name", "forename", "surname", "mobile", "mobile_e164", "postcode",
            "external_id", "metadata_", "phone", "description", "birthdate", "address_line_1",
            "address_line_2", "city", "state", "country",
        ]  # fmt: skip
        assert {field: getattr(row, field) for field in personal} == dict.fromkeys(personal)
        with pytest.raises(CustomerNotFound):
            await customers.find_by_external_id(session, tenant.principal, "crm-9")


async def test_the_upsert_changes_only_the_fields_named(database: Database, tenant: Tenant) -> None:
    async with unit_of_work(database) as session:
        made = await customers.upsert_customer(session, tenant.principal, dict(PROFILE))
    async with unit_of_work(database) as session:
        again = await customers.upsert_customer(
            session, tenant.principal, {"external_id": "crm-9", "city": "Edinburgh"}
        )
        assert again.id == made.id
        assert (again.city, again.name, again.phone, again.birthdate) == (
            "Edinburgh",
            "Mary Somerville",
            "01234 567890 (evenings)",
            date(1780, 12, 26),
        )
    async with unit_of_work(database) as session:
        with pytest.raises(InvalidInput):
            await customers.upsert_customer(session, tenant.principal, {"city": "x" * 101})
        with pytest.raises(ValueError, match="not changeable"):
            await customers.upsert_customer(session, tenant.principal, {"email_key": "x"})


async def test_two_upserts_racing_for_one_external_id_end_on_one_customer(
    database: Database, tenant: Tenant
) -> None:
    async def upsert(name: str) -> Customer:
        async with unit_of_work(database) as session:
            return await customers.upsert_customer(
                session, tenant.principal, {"external_id": "crm-race", "name": name}
            )

    # the first has inserted and not yet committed when the second looks, finds none and inserts
    async with unit_of_work(database) as session:
        first = await customers.upsert_customer(
            session, tenant.principal, {"external_id": "crm-race", "name": "One"}
        )
        racing = asyncio.create_task(upsert("Two"))
        await asyncio.sleep(0.3)
    second = await racing
    assert second.id == first.id
    async with unit_of_work(database) as session:
        found = await customers.find_by_external_id(session, tenant.principal, "crm-race")
        assert (found.id, found.name) == (first.id, "Two")
