"""Numbers too large for a database or for rendering are 422s naming the field, on both databases
(they were 500s)."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import Tenant

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
