"""Who a person is, decided in one place for every caller (uploads, leads, inline customers)."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign
from voucherd.customers import matching
from voucherd.customers import service as customers
from voucherd.customers.schemas import CustomerInput, Person
from voucherd.db import Database, unit_of_work


async def _match(database: Database, tenant: Tenant, *people: Person) -> list[uuid.UUID]:
    async with unit_of_work(database) as session:
        return await matching.match_or_create(session, tenant.client_id, list(people))


async def test_the_external_id_decides_when_given(database: Database, tenant: Tenant) -> None:
    [crm] = await _match(database, tenant, Person(external_id="CRM-1", email="ann@example.com"))
    # same email, another external id: another person (a family sharing one address)
    [other] = await _match(database, tenant, Person(external_id="CRM-2", email="ann@example.com"))
    [again] = await _match(database, tenant, Person(external_id="CRM-1", email="new@example.com"))
    assert other != crm
    assert again == crm


async def test_email_then_mobile_and_the_oldest_wins(database: Database, tenant: Tenant) -> None:
    first, by_mobile = await _match(
        database,
        tenant,
        Person(email="bo@example.com"),
        Person(mobile="07700 900123", mobile_e164="+447700900123"),
    )
    [by_email] = await _match(database, tenant, Person(email="bo@example.com", name="Bo"))
    [again_mobile] = await _match(
        database, tenant, Person(mobile="+447700900123", mobile_e164="+447700900123")
    )
    assert (by_email, again_mobile) == (first, by_mobile)
    assert first != by_mobile


async def test_people_repeated_in_one_call_share_one_new_customer(database: Database, tenant: Tenant) -> None:
    ids = await _match(database, tenant, Person(email="cy@example.com"), Person(email="cy@example.com"))
    assert ids[0] == ids[1]


async def test_nobody_identifiable_is_always_someone_new(database: Database, tenant: Tenant) -> None:
    ids = await _match(database, tenant, Person(name="Walk-in"), Person(name="Walk-in"))
    assert ids[0] != ids[1]


async def test_an_erased_customer_never_matches(database: Database, tenant: Tenant) -> None:
    [erased] = await _match(database, tenant, Person(email="dee@example.com"))
    async with unit_of_work(database) as session:
        await customers.delete_customer(session, tenant.principal, erased)
    [now] = await _match(database, tenant, Person(email="dee@example.com"))
    assert now != erased


async def test_every_caller_finds_the_same_person(
    database: Database, tenant: Tenant, api: httpx.AsyncClient
) -> None:
    # given a customer made by a recipient upload
    campaign = await make_campaign(database, tenant)
    uploaded = await api.post(
        f"/api/integrations/campaigns/{campaign.id}/recipients",
        json={"recipients": [{"email": "Eve@Example.com", "forename": "Eve"}]},
        headers=tenant.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    [upload_customer] = await _match(database, tenant, Person(email="eve@example.com"))
    # when a publication names her inline by email
    async with unit_of_work(database) as session:
        inline = await customers.find_or_create(
            session, tenant.principal, CustomerInput(email="eve@example.com")
        )
    # then it is the same customer
    assert inline.id == upload_customer
