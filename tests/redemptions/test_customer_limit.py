"""A campaign's uses per customer through the checkout API: the customer named by email or by our
id, refused once used up, freed by a rollback, required or not when no customer is named, and
exact under 200 concurrent redemptions by one customer."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from voucherd.api.app import create_app
from voucherd.db import Database, unit_of_work
from voucherd.models import Customer, Redemption


def _redeem(
    api: httpx.AsyncClient, tenant: Tenant, code: str, order: str, customer: str | None, **headers: str
) -> Any:
    body: dict[str, Any] = {"code": code, "transaction_amount": "20.00", "order_reference": order}
    if customer is not None:
        body["customer"] = customer
    return api.post("/api/webhook/redemption", json=body, headers={**tenant.headers, **headers})


async def _live_redemptions(database: Database) -> int:
    async with unit_of_work(database, write=False) as session:
        count = await session.scalar(
            select(func.count()).select_from(Redemption).where(Redemption.rolled_back_at.is_(None))
        )
    return int(count or 0)


async def test_the_limit_counts_a_customer_across_the_campaigns_codes(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    campaign = await make_campaign(database, tenant, uses_per_voucher=10, uses_per_customer=2)
    one, two, three = await make_codes(database, tenant, campaign, 3)

    first = await _redeem(api, tenant, one, "o-1", "Alice@Example.com")
    assert first.status_code == 201, first.text
    # the same person by another spelling of her email, on another code
    assert (await _redeem(api, tenant, two, "o-2", "alice@example.com")).status_code == 201
    refused = await _redeem(api, tenant, three, "o-3", "ALICE@example.com")
    assert refused.status_code == 409
    assert refused.json() == {
        "success": False,
        "voucher_code": three,
        "error": "This customer has redeemed this campaign 2 times, as often as it allows.",
        "error_code": "customer_limit_reached",
    }
    assert await _live_redemptions(database) == 2
    # a retry of an order she placed before still gets its answer
    retry = await _redeem(api, tenant, two, "o-2", "alice@example.com")
    assert (retry.status_code, retry.headers.get("Idempotent-Replayed")) == (201, "true")
    # by our customer id, and with an Idempotency-Key: the same customer, the same limit
    async with unit_of_work(database, write=False) as session:
        [alice] = (await session.scalars(select(Customer.id))).all()
    by_id = await _redeem(api, tenant, three, "o-4", str(alice), **{"Idempotency-Key": "k-4"})
    assert (by_id.status_code, by_id.json()["error_code"]) == (409, "customer_limit_reached")
    # someone else has a limit of their own
    assert (await _redeem(api, tenant, three, "o-5", "bob@example.com")).status_code == 201
    # a rolled back redemption gives the customer a use back
    rollback = await api.post(
        "/api/webhook/redemption/rollback",
        json={"code": one, "order_reference": "o-1", "reason": "refunded"},
        headers=tenant.headers,
    )
    assert rollback.status_code == 200
    assert rollback.json()["redemption"]["customer_id"] == str(alice)
    assert (await _redeem(api, tenant, three, "o-6", str(alice))).status_code == 201


async def test_without_a_customer_the_campaign_decides(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    lenient = await make_campaign(database, tenant, uses_per_voucher=10, uses_per_customer=1)
    strict = await make_campaign(
        database, tenant, name="Strict", uses_per_voucher=10, uses_per_customer=1, require_customer=True
    )
    [open_code] = await make_codes(database, tenant, lenient)
    [strict_code] = await make_codes(database, tenant, strict)
    # the limit cannot apply to anonymous redemptions; this campaign accepts them
    for order in ("a-1", "a-2"):
        assert (await _redeem(api, tenant, open_code, order, None)).status_code == 201
    refused = await _redeem(api, tenant, strict_code, "s-1", None)
    assert refused.status_code == 422
    assert refused.json()["error_code"] == "customer_required"
    assert refused.json()["field"] == "customer"
    assert "name the customer" in refused.json()["error"]
    assert (await _redeem(api, tenant, strict_code, "s-1", "carol@example.com")).status_code == 201
    assert await _live_redemptions(database) == 3


async def test_a_bad_customer_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    campaign = await make_campaign(database, tenant, uses_per_voucher=10, uses_per_customer=1)
    [code] = await make_codes(database, tenant, campaign)
    bad = await _redeem(api, tenant, code, "o-1", "not an email")
    assert (bad.status_code, bad.json()["error_code"], bad.json()["field"]) == (
        422,
        "invalid_input",
        "customer",
    )
    # a customer id of another client is not found
    other = await _redeem(api, other_tenant, "NOPE", "x", "someone@example.com")
    assert other.status_code == 404
    async with unit_of_work(database, write=False) as session:
        theirs = (
            await session.scalars(select(Customer.id).where(Customer.client_id == other_tenant.client_id))
        ).all()
    assert theirs == []  # an unknown code made no customer
    unknown = await _redeem(api, tenant, code, "o-1", "0190f1d2-0000-7000-8000-000000000000")
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "customer_not_found")
    assert await _live_redemptions(database) == 0


async def test_campaign_settings_are_checked(api: httpx.AsyncClient, tenant: Tenant) -> None:
    base = {"name": "Limited", "discount_type": "percentage", "discount_value": 10}
    made = await api.post("/api/campaigns", json={**base, "uses_per_customer": 3}, headers=tenant.headers)
    assert made.status_code == 201
    assert (made.json()["uses_per_customer"], made.json()["require_customer"]) == (3, False)
    changed = await api.patch(
        f"/api/campaigns/{made.json()['id']}", json={"require_customer": True}, headers=tenant.headers
    )
    assert (changed.json()["uses_per_customer"], changed.json()["require_customer"]) == (3, True)
    refused = await api.post(
        "/api/campaigns", json={**base, "require_customer": True}, headers=tenant.headers
    )
    assert (refused.status_code, refused.json()["field"]) == (422, "require_customer")
    lifted = await api.patch(
        f"/api/campaigns/{made.json()['id']}", json={"uses_per_customer": None}, headers=tenant.headers
    )
    assert (lifted.status_code, lifted.json()["field"]) == (422, "require_customer")


@pytest.fixture
async def wide_api(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(embedded_worker=False), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test", timeout=60) as client:
        yield client


@pytest.mark.concurrency
@pytest.mark.parametrize("known", [True, False], ids=["by-customer-id", "by-new-email"])
async def test_200_concurrent_redemptions_by_one_customer_with_a_limit_of_2(
    wide_api: httpx.AsyncClient, database: Database, tenant: Tenant, known: bool
) -> None:
    # given ten codes with uses to spare, so only the customer's limit can refuse
    campaign = await make_campaign(database, tenant, uses_per_voucher=100, uses_per_customer=2)
    codes = await make_codes(database, tenant, campaign, 10)
    customer = "dana@example.com"
    if known:  # a customer we know, named by id (by email, the first redemptions make her)
        made = await wide_api.post("/api/customers", json={"email": customer}, headers=tenant.headers)
        assert made.status_code == 201, made.text
        customer = made.json()["id"]
    # when 200 redemptions by her arrive at once, over every code
    responses = await asyncio.gather(
        *(_redeem(wide_api, tenant, codes[i % 10], f"race-{i}", customer) for i in range(200))
    )
    # then exactly two went through, and the rest were refused by her limit
    assert collections.Counter(r.status_code for r in responses) == {201: 2, 409: 198}
    assert {r.json()["error_code"] for r in responses if r.status_code == 409} == {"customer_limit_reached"}
    assert await _live_redemptions(database) == 2
    async with unit_of_work(database, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 1
