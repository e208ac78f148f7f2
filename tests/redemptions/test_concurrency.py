"""RELIABILITY C1, C2, C7, C9, C10 and I2: races over real concurrent connections, real commits.

Requests go through the whole stack (ASGI app, one transaction per request) and are released
together with ``asyncio.gather``; each holds its own pooled database connection, so the database
sees truly concurrent transactions."""

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
from voucherd.config import Settings
from voucherd.db import Database, set_database, unit_of_work
from voucherd.db.engine import create_database
from voucherd.models import Event, Redemption, Voucher
from voucherd.redemptions import repository

pytestmark = pytest.mark.concurrency
RUNS = 20  # C1 passes 20 runs out of 20


@pytest.fixture
async def wide_api(database: Database) -> AsyncIterator[tuple[Database, httpx.AsyncClient]]:
    """The app over the test database; its pool (10 + 20 overflow on PostgreSQL, 5 + 10 on
    SQLite) holds that many transactions open at once."""
    transport = httpx.ASGITransport(app=create_app(embedded_worker=False), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test", timeout=60) as client:
        yield database, client


async def redeem_all(
    client: httpx.AsyncClient, tenant: Tenant, code: str, count: int, tag: str
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(
                client.post(
                    "/api/webhook/redemption",
                    json={"code": code, "transaction_amount": "20.00", "order_reference": f"{tag}-{i}"},
                    headers=tenant.headers,
                )
                for i in range(count)
            )
        )
    )


async def ledger(database: Database, code: str) -> tuple[int, int, int]:
    """(redeemed_count, live redemption rows, redeemed events) for the code."""
    async with unit_of_work(database, write=False) as session:
        used = await session.scalar(select(Voucher.redeemed_count).where(Voucher.code == code))
        rows = await session.scalar(
            select(func.count())
            .select_from(Redemption)
            .where(Redemption.code == code, Redemption.rolled_back_at.is_(None))
        )
        events = await session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.type == "voucher.redeemed", Event.data["voucher_code"].as_string() == code)
        )
    return int(used or 0), int(rows or 0), int(events or 0)


def statuses(responses: list[httpx.Response]) -> collections.Counter[int]:
    return collections.Counter(r.status_code for r in responses)


async def test_c1_single_use_code_200_concurrent_redemptions(
    wide_api: tuple[Database, httpx.AsyncClient], tenant: Tenant
) -> None:
    database, client = wide_api
    campaign = await make_campaign(database, tenant)
    codes = await make_codes(database, tenant, campaign, RUNS)
    for run, code in enumerate(codes):
        responses = await redeem_all(client, tenant, code, 200, f"c1-{run}")
        assert statuses(responses) == {201: 1, 409: 199}, f"run {run}"
        refused = {(r.json()["error_code"], r.json()["error"]) for r in responses if r.status_code == 409}
        assert refused == {("voucher_exhausted", "Voucher has already been redeemed")}
        assert await ledger(database, code) == (1, 1, 1)


async def test_c2_limit_10_under_200_concurrent(
    wide_api: tuple[Database, httpx.AsyncClient], tenant: Tenant
) -> None:
    database, client = wide_api
    campaign = await make_campaign(database, tenant, uses_per_voucher=10)
    [code] = await make_codes(database, tenant, campaign)
    responses = await redeem_all(client, tenant, code, 200, "c2")
    assert statuses(responses) == {201: 10, 409: 190}
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"Maximum uses reached"}
    assert await ledger(database, code) == (10, 10, 10)


async def test_c7_redemptions_and_rollbacks_at_once(
    wide_api: tuple[Database, httpx.AsyncClient], tenant: Tenant
) -> None:
    database, client = wide_api
    campaign = await make_campaign(database, tenant, uses_per_voucher=50)
    [code] = await make_codes(database, tenant, campaign)
    # given a voucher whose 50 uses are all taken
    assert statuses(await redeem_all(client, tenant, code, 50, "old")) == {201: 50}
    # when 100 new redemptions race 50 rollbacks of the old ones
    rollbacks = [
        client.post(
            "/api/webhook/redemption/rollback",
            json={"code": code, "order_reference": f"old-{i}", "reason": "refunded"},
            headers=tenant.headers,
        )
        for i in range(50)
    ]
    new = [
        client.post(
            "/api/webhook/redemption",
            json={"code": code, "transaction_amount": "20.00", "order_reference": f"new-{i}"},
            headers=tenant.headers,
        )
        for i in range(100)
    ]
    responses = await asyncio.gather(*rollbacks, *new)
    voided = statuses(list(responses[:50]))
    redeemed = statuses(list(responses[50:]))
    # then every rollback counts once, and used = successes - voids, within 0..limit
    assert voided == {200: 50}
    assert set(redeemed) <= {201, 409}
    used, live_rows, _ = await ledger(database, code)
    assert used == 50 + redeemed[201] - 50
    assert 0 <= used <= 50
    assert live_rows == used


async def test_c9_the_race_test_catches_read_then_write(
    wide_api: tuple[Database, httpx.AsyncClient], tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replace the guarded UPDATE by read -> sleep -> write, in both checkout stores: C1 must fail."""
    database, client = wide_api

    async def read_then_write(session, voucher_id, *, limit):  # type: ignore[no-untyped-def]
        used, sequence = (
            await session.execute(
                select(Voucher.redeemed_count, Voucher.event_sequence).where(Voucher.id == voucher_id)
            )
        ).one()
        if used >= limit:
            return None
        await asyncio.sleep(0.05)
        await session.execute(
            Voucher.__table__.update()
            .where(Voucher.id == voucher_id)
            .values(redeemed_count=used + 1, event_sequence=sequence + 1)
        )
        return sequence + 1

    async def read_then_write_pg(self, redemption, event, *, limit, customer_limit=None):  # type: ignore[no-untyped-def]
        async with self.connection.transaction():
            voucher_id = redemption["voucher_id"]
            used = await self.connection.fetchval(
                "SELECT redeemed_count FROM vouchers WHERE id = $1", voucher_id
            )
            if used >= limit:
                return repository.Outcome.EXHAUSTED
            await asyncio.sleep(0.05)
            await self.connection.execute(
                "UPDATE vouchers SET redeemed_count = $2 WHERE id = $1", voucher_id, used + 1
            )
            return repository.Outcome.REDEEMED

    monkeypatch.setattr(repository, "claim_use", read_then_write)
    monkeypatch.setattr(repository.PostgresStore, "redeem", read_then_write_pg)
    campaign = await make_campaign(database, tenant)
    codes = await make_codes(database, tenant, campaign, 3)
    if database.is_sqlite:
        # BEGIN IMMEDIATE alone serializes SQLite writers, so there the bug is both gone together
        # (a short busy timeout keeps the doomed run quick).
        bugged = create_database(database.url, Settings(sqlite_busy_timeout_ms=100))
        bugged.write_sessions = bugged.read_sessions
        set_database(bugged)
        codes = codes[:1]  # each doomed run waits out lock timeouts
    caught = 0
    try:
        for run, code in enumerate(codes):
            responses = await redeem_all(client, tenant, code, 5, f"c9-{run}")
            if statuses(responses) != {201: 1, 409: 4}:
                caught += 1
    finally:
        set_database(database)
    assert caught == len(codes)


async def test_c10_sqlite_16_writers_never_see_database_locked(
    wide_api: tuple[Database, httpx.AsyncClient], tenant: Tenant
) -> None:
    database, client = wide_api
    campaign = await make_campaign(database, tenant)
    codes = await make_codes(database, tenant, campaign, 160)
    for batch in range(10):
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/webhook/redemption",
                    json={"code": code, "transaction_amount": "5"},
                    headers=tenant.headers,
                )
                for code in codes[batch * 16 : (batch + 1) * 16]
            )
        )
        assert statuses(list(responses)) == {201: 16}
    async with unit_of_work(database, write=False) as session:
        assert await session.scalar(select(func.sum(Voucher.redeemed_count))) == 160


async def test_i2_fifty_parallel_requests_with_one_key_run_once(
    patient_database: Database, tenant: Tenant
) -> None:
    """RELIABILITY I2: 50 requests at once with one Idempotency-Key: one execution; each of the
    others gets the stored reply, or a 409 while the first still runs (then the replay)."""
    campaign = await make_campaign(patient_database, tenant, uses_per_voucher=100)
    [code] = await make_codes(patient_database, tenant, campaign)
    headers = {**tenant.headers, "Idempotency-Key": "parallel-1"}
    body = {"code": code, "transaction_amount": "20.00"}
    transport = httpx.ASGITransport(app=create_app(embedded_worker=False), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test", timeout=60) as client:
        replies = await asyncio.gather(
            *(client.post("/api/webhook/redemption", json=body, headers=headers) for _ in range(50))
        )
        statuses = collections.Counter(reply.status_code for reply in replies)
        assert set(statuses) <= {201, 409}, [r.text for r in replies if r.status_code not in (201, 409)][:3]
        first = [r for r in replies if r.status_code == 201 and "Idempotent-Replayed" not in r.headers]
        assert len(first) == 1, statuses
        assert all(
            r.headers.get("Idempotent-Replayed") == "true"
            for r in replies
            if r.status_code == 201 and r is not first[0]
        )
        # then the replay, for every one of them
        again = await client.post("/api/webhook/redemption", json=body, headers=headers)
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.content == first[0].content
    assert await ledger(patient_database, code) == (1, 1, 1)
