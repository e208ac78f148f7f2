"""Like RELIABILITY C1: concurrent publishes never hand one code to two customers.

Requests go through the whole stack and are released together with ``asyncio.gather``; each holds
its own pooled connection, so the database sees truly concurrent transactions (real commits)."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from voucherd.api.app import create_app
from voucherd.db import Database, unit_of_work
from voucherd.models import Event, Publication, VoucherOwner

pytestmark = pytest.mark.concurrency
RUNS = 5  # 200 concurrent publishes per run; 20 runs would add 2 minutes to the suite


@pytest.fixture
async def wide_api(patient_database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app over the test database. A publish writes more than a redemption (the customer, the
    owner, the history, the event), so 200 SQLite writers queue past the default busy timeout:
    the app's pool is the patient one (PostgreSQL is unchanged)."""
    transport = httpx.ASGITransport(app=create_app(embedded_worker=False), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test", timeout=120) as client:
        yield client


async def owners(database: Database) -> tuple[int, int, int, int]:
    """(owner rows, distinct owned codes, publication rows, voucher.published events)."""
    async with unit_of_work(database, write=False) as session:
        rows = await session.scalar(select(func.count()).select_from(VoucherOwner))
        distinct = await session.scalar(select(func.count(func.distinct(VoucherOwner.voucher_id))))
        publications = await session.scalar(select(func.count()).select_from(Publication))
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "voucher.published")
        )
    return int(rows or 0), int(distinct or 0), int(publications or 0), int(events or 0)


async def test_200_customers_race_for_one_code(
    wide_api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    campaign = await make_campaign(database, tenant)
    codes = await make_codes(database, tenant, campaign, RUNS)
    for run, code in enumerate(codes):
        responses = await asyncio.gather(
            *(
                wide_api.post(
                    "/api/publications",
                    json={"voucher": code, "customer": {"email": f"r{run}-c{i}@example.com"}},
                    headers=tenant.headers,
                )
                for i in range(200)
            )
        )
        statuses = collections.Counter(r.status_code for r in responses)
        assert statuses == {201: 1, 409: 199}, f"run {run}: {statuses}"
        assert {r.json()["error_code"] for r in responses if r.status_code == 409} == {
            "voucher_already_published"
        }
        assert await owners(database) == (run + 1, run + 1, run + 1, run + 1)


async def test_200_publishes_from_a_pool_of_50(
    wide_api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    campaign = await make_campaign(database, tenant)
    codes = await make_codes(database, tenant, campaign, 50)
    responses = await asyncio.gather(
        *(
            wide_api.post(
                "/api/publications",
                json={"campaign": {"id": str(campaign.id)}, "customer": {"email": f"c{i}@example.com"}},
                headers=tenant.headers,
            )
            for i in range(200)
        )
    )
    statuses = collections.Counter(r.status_code for r in responses)
    assert statuses == {201: 50, 409: 150}
    published = [r.json()["vouchers"][0] for r in responses if r.status_code == 201]
    assert sorted(published) == sorted(codes)  # every code once, none twice
    assert {r.json()["error_code"] for r in responses if r.status_code == 409} == {"campaign_pool_exhausted"}
    assert await owners(database) == (50, 50, 50, 50)
