"""The request's unit of work writes for every method but GET/HEAD/OPTIONS, and for GET routes
marked ``writes`` (an export that records itself, a tracking pixel); it commits before the reply
leaves (RELIABILITY I8)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import select

from tests.conftest import make_tenant
from tests.fixtures.factories import make_campaign, make_codes
from tests.fixtures.processes import env_for, serving
from voucherd.db import unit_of_work
from voucherd.db.engine import create_database
from voucherd.http.session import is_write, writes
from voucherd.models import Redemption, Voucher


async def test_a_marked_get_route_writes_and_others_read() -> None:
    app = FastAPI()

    @app.get("/reads")
    async def reads(request: Request) -> bool:
        return is_write(request)

    @app.get("/writes")
    @writes
    async def records(request: Request) -> bool:
        return is_write(request)

    @app.post("/posts")
    async def posts(request: Request) -> bool:
        return is_write(request)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test") as client:
        answers = [(await client.get("/reads")).json(), (await client.get("/writes")).json()]
        answers.append((await client.post("/posts")).json())
    assert answers == [False, True, True]


# --- RELIABILITY I8: a real `voucherd serve` that dies between the commit and its reply --------


async def _setup(db_url: str) -> tuple[str, list[str]]:
    database = create_database(db_url, pool=False)
    try:
        tenant = await make_tenant(database)
        campaign = await make_campaign(database, tenant)
        return tenant.api_key, await make_codes(database, tenant, campaign, 2)
    finally:
        await database.dispose()


async def _redemptions(db_url: str) -> list[tuple[str | None, int]]:
    """Each redemption's order reference and its voucher's use count."""
    database = create_database(db_url, pool=False)
    try:
        async with unit_of_work(database, write=False) as session:
            rows = await session.execute(
                select(Redemption.order_reference, Voucher.redeemed_count)
                .join(Voucher, Voucher.id == Redemption.voucher_id)
                .order_by(Redemption.order_reference)
            )
            return [(reference, count) for reference, count in rows.all()]
    finally:
        await database.dispose()


@pytest.mark.crash
def test_i8_a_server_killed_after_the_commit_leaves_the_stored_reply_for_the_retry(db_url: str) -> None:
    """RELIABILITY I8: the test-only fault point ``after_commit_before_response`` ends the
    process (``os._exit``) once the redemption committed and before its reply leaves. The client
    sees the connection drop; against a fresh server the retry gets the stored reply
    (``Idempotent-Replayed: true``) and there is 1 redemption. Both ways to retry: with an
    ``Idempotency-Key``, and with only the ``order_reference`` (on PostgreSQL the checkout's own
    connection, not a session: the other fault point)."""
    api_key, codes = asyncio.run(_setup(db_url))
    requests = [
        (
            {"X-API-Key": api_key, "Idempotency-Key": "crash-1"},
            {"code": codes[0], "order_reference": "ORD-1"},
        ),
        ({"X-API-Key": api_key}, {"code": codes[1], "order_reference": "ORD-2"}),
    ]
    for headers, body in requests:
        body = {**body, "transaction_amount": "45.99"}
        with serving(env_for(db_url, VOUCHERD_FAULT="after_commit_before_response")) as (base, server):
            with pytest.raises(httpx.TransportError):
                httpx.post(f"{base}/api/webhook/redemption", json=body, headers=headers, timeout=30)
            assert server.wait(timeout=30) == 137  # the fault point's exit, not a clean stop
        with serving(env_for(db_url)) as (base, _):
            retry = httpx.post(f"{base}/api/webhook/redemption", json=body, headers=headers, timeout=30)
        assert retry.status_code == 201, retry.text
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json()["voucher_code"] == body["code"]
        assert retry.json()["success"] is True
    assert asyncio.run(_redemptions(db_url)) == [("ORD-1", 1), ("ORD-2", 1)]
