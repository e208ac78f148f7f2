"""Customers and publications (seed 002's concepts): publish a code, publish from a pool, history."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from voucherd.db import Database, unit_of_work
from voucherd.models import Event, Publication, Voucher, VoucherOwner


async def count(database: Database, model: type, *where: object) -> int:
    async with unit_of_work(database, write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


async def new_customer(api: httpx.AsyncClient, tenant: Tenant, **fields: object) -> dict[str, object]:
    response = await api.post(
        "/api/customers", json=fields or {"email": "erlich@example.com"}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


class TestCustomers:
    async def test_create_get_list_update_delete(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        created = await new_customer(
            api,
            tenant,
            email="Erlich@Example.com",
            forename="Erlich",
            surname="Bachman",
            mobile="07700900000",
            postcode="SW1A 1AA",
            external_id="CRM-1",
            metadata={"tier": "gold"},
        )
        assert created["name"] == "Erlich Bachman"
        assert created["email"] == "Erlich@example.com"
        assert created["mobile_e164"] == "+447700900000"
        got = (await api.get(f"/api/customers/{created['id']}", headers=tenant.headers)).json()
        assert got == created
        listed = (await api.get("/api/customers?email=erlich@example.com", headers=tenant.headers)).json()
        assert [c["id"] for c in listed["data"]] == [created["id"]]
        patched = await api.patch(
            f"/api/customers/{created['id']}",
            json={"postcode": "EC1A 1BB", "metadata": None},
            headers=tenant.headers,
        )
        assert patched.status_code == 200
        assert (patched.json()["postcode"], patched.json()["metadata"], patched.json()["email"]) == (
            "EC1A 1BB",
            None,
            "Erlich@example.com",
        )
        assert (
            await api.delete(f"/api/customers/{created['id']}", headers=tenant.headers)
        ).status_code == 204
        assert (await api.get(f"/api/customers/{created['id']}", headers=tenant.headers)).status_code == 404

    async def test_bad_email_and_duplicate_external_id_are_4xx(
        self, api: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        bad = await api.post("/api/customers", json={"email": "nope"}, headers=tenant.headers)
        assert bad.status_code == 422
        assert bad.json()["field"] == "email"
        await new_customer(api, tenant, external_id="CRM-1")
        again = await api.post("/api/customers", json={"external_id": "CRM-1"}, headers=tenant.headers)
        assert again.status_code == 409
        assert again.json()["error_code"] == "external_id_taken"

    async def test_another_clients_customer_is_not_found(
        self, api: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        created = await new_customer(api, tenant)
        for method in ("GET", "PATCH", "DELETE"):
            response = await api.request(
                method, f"/api/customers/{created['id']}", json={}, headers=other_tenant.headers
            )
            assert response.status_code == 404, method
        assert (await api.get("/api/customers", headers=other_tenant.headers)).json()["total"] == 0


class TestPublishCode:
    async def test_publish_a_specific_code_to_a_customer(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        [code] = await make_codes(database, tenant, campaign)
        customer = await new_customer(api, tenant)
        response = await api.post(
            "/api/publications",
            json={"voucher": code, "customer": customer["id"], "channel": "newsletter_October"},
            headers=tenant.headers,
        )
        assert response.status_code == 201
        body = response.json()
        assert (body["object"], body["customer_id"], body["channel"], body["vouchers"]) == (
            "publication",
            customer["id"],
            "newsletter_October",
            [code],
        )
        history = (await api.get(f"/api/vouchers/{code}/publications", headers=tenant.headers)).json()
        assert [(e["customer_id"], e["channel"]) for e in history["data"]] == [
            (customer["id"], "newsletter_October")
        ]
        assert await count(database, Event, Event.type == "voucher.published") == 1

    async def test_a_code_is_never_published_to_a_second_customer(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        [code] = await make_codes(database, tenant, campaign)
        first = await new_customer(api, tenant, email="a@example.com")
        second = await new_customer(api, tenant, email="b@example.com")
        ok = await api.post(
            "/api/publications", json={"voucher": code, "customer": first["id"]}, headers=tenant.headers
        )
        assert ok.status_code == 201
        # the same owner again (another channel) only adds history
        again = await api.post(
            "/api/publications",
            json={"voucher": code, "customer": first["id"], "channel": "sms"},
            headers=tenant.headers,
        )
        assert again.status_code == 201
        refused = await api.post(
            "/api/publications", json={"voucher": code, "customer": second["id"]}, headers=tenant.headers
        )
        assert refused.status_code == 409
        assert refused.json()["error_code"] == "voucher_already_published"
        assert await count(database, VoucherOwner) == 1
        assert await count(database, Publication) == 2

    async def test_unknown_or_other_clients_code_is_404(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        [code] = await make_codes(database, tenant, campaign)
        for key, voucher in ((tenant, "NOPE-123"), (other_tenant, code)):
            response = await api.post(
                "/api/publications",
                json={"voucher": voucher, "customer": {"email": "x@example.com"}},
                headers=key.headers,
            )
            assert response.status_code == 404
        assert await count(database, Publication) == 0


class TestPublishFromPool:
    async def test_seed_example_creates_the_customer_inline(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant, name="100k-test")
        codes = await make_codes(database, tenant, campaign, 3)
        response = await api.post(
            "/api/publications",
            json={
                "campaign": {"name": "100k-test", "count": 2},
                "customer": {"email": "erlich@example.com", "name": "Erlich Bachman"},
                "metadata": {"test": True, "provider": "Shop Admin"},
            },
            headers=tenant.headers,
        )
        assert response.status_code == 201
        body = response.json()
        assert body["channel"] == "API"
        assert body["metadata"] == {"test": True, "provider": "Shop Admin"}
        assert len(body["vouchers"]) == 2
        assert set(body["vouchers"]) <= set(codes)
        assert body["customer"]["name"] == "Erlich Bachman"
        # the next publish takes the one code left, then the pool is empty: a clear 409
        third = await api.post(
            "/api/publications",
            json={"campaign": {"id": str(campaign.id)}, "customer": {"email": "erlich@example.com"}},
            headers=tenant.headers,
        )
        assert third.json()["vouchers"] == [c for c in codes if c not in body["vouchers"]]
        assert third.json()["customer_id"] == body["customer_id"]  # found again by email
        empty = await api.post(
            "/api/publications",
            json={"campaign": {"id": str(campaign.id)}, "customer": {"email": "z@example.com"}},
            headers=tenant.headers,
        )
        assert empty.status_code == 409
        assert empty.json()["error_code"] == "campaign_pool_exhausted"
        assert await count(database, VoucherOwner) == 3
        history = (await api.get(f"/api/campaigns/{campaign.id}/publications", headers=tenant.headers)).json()
        assert history["total"] == 3

    async def test_asking_for_more_than_the_pool_publishes_nothing(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        await make_codes(database, tenant, campaign, 2)
        response = await api.post(
            "/api/publications",
            json={"campaign": {"id": str(campaign.id), "count": 3}, "customer": {"email": "a@example.com"}},
            headers=tenant.headers,
        )
        assert response.status_code == 409
        assert "2 unpublished code(s) left and 3 were asked for" in response.json()["error"]
        assert await count(database, VoucherOwner) == 0

    async def test_an_auto_update_campaign_makes_new_codes(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        created = await api.post(
            "/api/campaigns",
            json={"name": "Auto", "discount_type": "percentage", "discount_value": 10, "auto_update": True},
            headers=tenant.headers,
        )
        campaign_id = created.json()["id"]
        assert created.json()["auto_update"] is True
        response = await api.post(
            "/api/publications",
            json={"campaign": {"id": campaign_id, "count": 2}, "customer": {"email": "a@example.com"}},
            headers=tenant.headers,
        )
        assert response.status_code == 201
        assert len(response.json()["vouchers"]) == 2
        assert await count(database, Voucher) == 2
        assert await count(database, Event, Event.type == "voucher.created") == 2
        assert await count(database, Event, Event.type == "voucher.published") == 2

    async def test_redeemed_codes_are_not_published(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        [used, fresh] = await make_codes(database, tenant, campaign, 2)
        await api.post(
            "/api/webhook/redemption", json={"code": used, "transaction_amount": 10}, headers=tenant.headers
        )
        response = await api.post(
            "/api/publications",
            json={"campaign": {"id": str(campaign.id)}, "customer": {"email": "a@example.com"}},
            headers=tenant.headers,
        )
        assert response.json()["vouchers"] == [fresh]
