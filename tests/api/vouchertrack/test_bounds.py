"""Numbers too large for a database or for rendering are 422s naming the field, on both databases
(they were 500s)."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select

from tests.api.vouchercart.test_giftcards import money_code
from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from tests.fixtures.shops import open_shop
from voucherd.db import Database, unit_of_work
from voucherd.models import Campaign, GiftHold, Redemption

HUGE = 10**18


async def test_every_list_refuses_a_huge_page(api: httpx.AsyncClient, tenant: Tenant) -> None:
    document = (await api.get("/api/openapi.json")).json()
    lists = [
        path
        for path, operations in document["paths"].items()
        if any(p["name"] == "page" for p in operations.get("get", {}).get("parameters", []))
    ]
    assert len(lists) >= 6
    for path in lists:
        url = "/api" + path.replace("{campaign_id}", str(uuid.uuid4())).replace(
            "{webhook_id}", str(uuid.uuid4())
        ).replace("{code}", "SOMECODE")
        response = await api.get(url, params={"page": HUGE}, headers=tenant.headers)
        assert response.status_code == 422, path
        assert response.json()["field"] == "page", path


async def test_metadata_integers_beyond_64_bits_are_refused(api: httpx.AsyncClient, tenant: Tenant) -> None:
    for value in (2**64, -(2**63) - 1):
        response = await api.post(
            "/api/customers",
            json={"email": "ann@example.com", "metadata": {"points": [value]}},
            headers=tenant.headers,
        )
        assert response.status_code == 422
        assert response.json()["field"] == "metadata.points[0]"
    listed = await api.get("/api/customers", headers=tenant.headers)
    assert listed.json()["total"] == 0
    kept = await api.post(
        "/api/customers",
        json={"email": "ann@example.com", "metadata": {"points": 2**64 - 1}},
        headers=tenant.headers,
    )
    assert kept.status_code == 201
    assert (await api.get(f"/api/customers/{kept.json()['id']}", headers=tenant.headers)).json()[
        "metadata"
    ] == {"points": 2**64 - 1}


async def test_publication_metadata_is_bounded_too(api: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await api.post(
        "/api/publications",
        json={"voucher": "ANYCODE", "customer": {"email": "a@example.com"}, "metadata": {"n": 2**64}},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "metadata.n"


# RELIABILITY M8: amounts over 10**12 minor units, or JSON numbers over 2**53, are 422s. The
# dialect speaks decimals of the currency (GBP here): 10**12 + 1 pence is 10000000000.01.
OVER_MINOR = "10000000000.01"
OVER_JSON = 2**53 + 1  # an integer a JavaScript caller could not even have sent exactly


async def test_amounts_beyond_the_bounds_are_refused_and_change_nothing(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    """RELIABILITY M8 on /api: a redemption's total, a fixed discount, a minimum spend and a gift
    card hold, each over 10**12 minor units or over 2**53 as a JSON number."""
    campaign = await make_campaign(database, tenant)
    [code] = await make_codes(database, tenant, campaign)
    till = await open_shop(database, tenant, "bounds-shop")
    gift = await money_code(api, till)
    for value in (OVER_MINOR, OVER_JSON, float(OVER_JSON)):
        refusals = {
            "redemption": await api.post(
                "/api/webhook/redemption",
                json={"code": code, "transaction_amount": value},
                headers=tenant.headers,
            ),
            "fixed discount": await api.post(
                "/api/campaigns",
                json={"name": "Big", "discount_type": "fixed", "discount_value": value},
                headers=tenant.headers,
            ),
            "minimum spend": await api.post(
                "/api/campaigns",
                json={
                    "name": "Big",
                    "discount_type": "percentage",
                    "discount_value": 10,
                    "minimum_spend": value,
                },
                headers=tenant.headers,
            ),
            "hold": await api.post(
                f"/api/giftcards/{gift}/holds", json={"amount": value}, headers=till.headers
            ),
        }
        for why, response in refusals.items():
            assert response.status_code == 422, (why, value, response.text)
            assert response.json()["error"].endswith("is too large."), (why, value, response.text)
    async with unit_of_work(database, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Redemption)) == 0
        assert await session.scalar(select(func.count()).select_from(GiftHold)) == 0
        assert await session.scalar(select(func.count()).select_from(Campaign)) == 1
