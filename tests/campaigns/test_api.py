"""Campaign management over the API."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant
from voucherd.db import Database


async def create(api: httpx.AsyncClient, tenant: Tenant, **body: object) -> httpx.Response:
    return await api.post("/api/campaigns", json={"name": "Summer Sale", **body}, headers=tenant.headers)


class TestCreate:
    @pytest.mark.parametrize(
        ("body", "description", "value"),
        [
            ({"discount_type": "percentage", "discount_value": 20}, "20% off your order", 20),
            ({"discount_type": "percentage", "discount_value": 12.5}, "12.5% off your order", 12.5),
            ({"discount_type": "fixed", "discount_value": 10}, "£10 off your order", 10),
            ({"discount_type": "fixed", "discount_value": "7.50"}, "£7.50 off your order", 7.5),
            (
                {"discount_type": "free_item", "discount_description": "Free coffee"},
                "Free coffee",
                0,
            ),
        ],
    )
    async def test_description_is_generated_when_absent(
        self, api: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], description: str, value: float
    ) -> None:
        response = await create(api, tenant, **body)
        assert response.status_code == 201
        assert response.json()["discount_description"] == description
        assert response.json()["discount_value"] == value
        assert response.json()["uses_per_voucher"] == 1
        assert response.json()["currency"] == "GBP"
        assert response.json()["status"] == "active"

    async def test_date_only_validity_uses_the_clients_timezone(
        self, api: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await create(
            api,
            tenant,
            discount_type="percentage",
            discount_value=20,
            valid_from="2026-07-01",
            valid_until="2026-07-31",
        )
        # London is UTC+1 in summer
        assert response.json()["valid_from"] == "2026-06-30T23:00:00Z"
        assert response.json()["valid_until"] == "2026-07-31T22:59:59Z"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"discount_type": "percentage"}, "discount_value"),
            ({"discount_type": "percentage", "discount_value": 101}, "discount_value"),
            ({"discount_type": "percentage", "discount_value": 0}, "discount_value"),
            ({"discount_type": "fixed", "discount_value": "1.234"}, "discount_value"),
            ({"discount_type": "free_item"}, "discount_description"),
            ({"discount_type": "bogus", "discount_value": 1}, "discount_type"),
            ({"discount_type": "fixed", "discount_value": 1, "currency": "12"}, "currency"),
            (
                {
                    "discount_type": "fixed",
                    "discount_value": 1,
                    "valid_from": "2026-08-01",
                    "valid_until": "2026-07-01",
                },
                "valid_until",
            ),
            ({"discount_type": "fixed", "discount_value": 1, "uses_per_voucher": 0}, "uses_per_voucher"),
            ({"discount_type": "fixed", "discount_value": 1, "code_pattern": "FIXED"}, "code_pattern"),
            (
                {"discount_type": "fixed", "discount_value": 1, "valid_until": "2026-07-01T10:00:00"},
                "valid_until",
            ),
        ],
    )
    async def test_bad_input_is_422_and_creates_nothing(
        self, api: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], field: str
    ) -> None:
        response = await create(api, tenant, **body)
        assert response.status_code == 422
        assert response.json()["field"] == field
        assert (await api.get("/api/campaigns", headers=tenant.headers)).json()["total"] == 0

    async def test_unknown_fields_are_ignored(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await create(api, tenant, discount_type="fixed", discount_value=5, colour="blue", used=99)
        assert response.status_code == 201
        assert "colour" not in response.json()


class TestReadUpdateDelete:
    async def test_list_get_patch_delete(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        ids = [
            (await create(api, tenant, name=f"C{i}", discount_type="fixed", discount_value=5)).json()["id"]
            for i in range(3)
        ]
        listing = (await api.get("/api/campaigns", params={"limit": 2}, headers=tenant.headers)).json()
        assert (listing["total"], len(listing["data"]), listing["has_more"]) == (3, 2, True)
        page_two = (
            await api.get("/api/campaigns", params={"limit": 2, "page": 2}, headers=tenant.headers)
        ).json()
        assert (len(page_two["data"]), page_two["has_more"]) == (1, False)
        patched = await api.patch(
            f"/api/campaigns/{ids[0]}",
            json={"discount_value": 15, "status": "paused"},
            headers=tenant.headers,
        )
        assert patched.status_code == 200
        assert patched.json()["discount_description"] == "£15 off your order"
        assert patched.json()["status"] == "paused"
        assert (await api.delete(f"/api/campaigns/{ids[0]}", headers=tenant.headers)).status_code == 204
        assert (await api.get(f"/api/campaigns/{ids[0]}", headers=tenant.headers)).status_code == 404
        assert (await api.get("/api/campaigns", headers=tenant.headers)).json()["total"] == 2

    async def test_custom_description_survives_a_value_change(
        self, api: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        campaign = (
            await create(
                api, tenant, discount_type="fixed", discount_value=5, discount_description="Fiver off"
            )
        ).json()
        patched = await api.patch(
            f"/api/campaigns/{campaign['id']}", json={"discount_value": 6}, headers=tenant.headers
        )
        assert patched.json()["discount_description"] == "Fiver off"

    @pytest.mark.parametrize("limit", [0, 101])
    async def test_limit_out_of_range_is_422(
        self, api: httpx.AsyncClient, tenant: Tenant, limit: int
    ) -> None:
        """RELIABILITY S8 (page size 100): limit 101 is a 422."""
        response = await api.get("/api/campaigns", params={"limit": limit}, headers=tenant.headers)
        assert response.status_code == 422
        assert response.json()["field"] == "limit"

    async def test_another_clients_campaign_is_404_everywhere(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        campaign_id = (await create(api, tenant, discount_type="fixed", discount_value=5)).json()["id"]
        calls = [
            api.get(f"/api/campaigns/{campaign_id}", headers=other_tenant.headers),
            api.patch(f"/api/campaigns/{campaign_id}", json={"name": "x"}, headers=other_tenant.headers),
            api.delete(f"/api/campaigns/{campaign_id}", headers=other_tenant.headers),
            api.get(f"/api/campaigns/{campaign_id}/vouchers", headers=other_tenant.headers),
            api.post(
                f"/api/campaigns/{campaign_id}/vouchers", json={"count": 1}, headers=other_tenant.headers
            ),
        ]
        for call in calls:
            assert (await call).status_code == 404
        assert (await api.get("/api/campaigns", headers=other_tenant.headers)).json()["total"] == 0
