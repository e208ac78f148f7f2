"""Recipient upload against seed 000: the documented request and response, checks, idempotency."""

from __future__ import annotations

import base64
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign
from voucherd.campaigns.rules import DiscountType
from voucherd.config import get_settings
from voucherd.core import qr
from voucherd.db import Database, unit_of_work
from voucherd.models import Customer, Event, Publication, Recipient, Voucher, VoucherOwner
from voucherd.recipients.service import MAX_RECIPIENTS

GOLDEN = Path(__file__).parents[1] / "golden" / "vouchertrack"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")
CODE = re.compile(r"^JAN26-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$")


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


@pytest.fixture
def public_url(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VOUCHERD_PUBLIC_URL", "https://v.easydm.co")
    get_settings.cache_clear()
    return "https://v.easydm.co"


async def table_counts(database: Database) -> dict[str, int]:
    async with unit_of_work(database, write=False) as session:
        result = {}
        for model in (Recipient, Customer, Voucher, VoucherOwner, Publication):
            result[model.__tablename__] = int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
        result["voucher.created"] = int(
            await session.scalar(
                select(func.count()).select_from(Event).where(Event.type == "voucher.created")
            )
            or 0
        )
    return result


def url(campaign_id: uuid.UUID) -> str:
    return f"/api/integrations/campaigns/{campaign_id}/recipients"


class TestGolden:
    async def test_documented_request_gets_the_documented_response(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, public_url: str
    ) -> None:
        # given the campaign and the seed's exact request, sent with ?api_key= as documented
        campaign = await make_campaign(database, tenant, discount_type=DiscountType.PERCENTAGE)
        request = golden("recipients_upload_request.json")
        # when
        response = await api.post(f"{url(campaign.id)}?api_key={tenant.api_key}", json=request)
        # then the documented shape, field by field
        assert response.status_code == 201
        body = response.json()
        documented = golden("recipients_upload_response.json")
        assert list(body)[:3] == list(documented)
        assert body["success"] is True
        assert body["total_created"] == 2
        assert len(body["recipients"]) == 2
        for item, sent in zip(body["recipients"], request["recipients"], strict=True):
            assert list(item)[:7] == list(documented["recipients"][0])
            assert UUID.match(item["recipient_id"])
            assert UUID.match(item["voucher_id"])
            assert CODE.match(item["voucher_code"])
            assert item["redemption_url"] == f"{public_url}/redeem/{item['voucher_code']}"
            assert item["qr_code_url"].startswith("data:image/png;base64,")
            assert item["qr_code_url"] == qr.data_uri(item["redemption_url"])
            assert base64.b64decode(item["qr_code_url"].split(",", 1)[1]).startswith(b"\x89PNG")
            assert item["email"] == sent["email"]
            assert item["external_id"] == sent.get("external_id")
            assert item["tracking_pixel_url"] == f"{public_url}/t/o/{item['recipient_id']}.gif"
            assert item["click_tracking_url"] == f"{public_url}/t/c/{item['recipient_id']}"
        assert body["recipients"][0]["voucher_code"] != body["recipients"][1]["voucher_code"]

    async def test_the_request_discount_applies_to_the_codes_it_creates(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, public_url: str
    ) -> None:
        # given a 20% campaign and an upload saying "fixed 10"
        campaign = await make_campaign(database, tenant, discount_type=DiscountType.PERCENTAGE)
        body = (
            await api.post(
                url(campaign.id), json=golden("recipients_upload_request.json"), headers=tenant.headers
            )
        ).json()
        code = body["recipients"][0]["voucher_code"]
        # when the code is validated at a checkout
        validation = (await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)).json()
        # then it is the upload's offer, not the campaign's
        assert validation["discount_type"] == "fixed"
        assert validation["discount_value"] == 10.00
        assert validation["discount_description"] == "£10 off your order"
        redeemed = await api.post(
            "/api/webhook/redemption",
            json={"code": code, "transaction_amount": 45.99, "order_reference": "A-1"},
            headers=tenant.headers,
        )
        assert redeemed.json()["discount_applied"] == 10.00
        details = (await api.get(f"/api/vouchers/{code}", headers=tenant.headers)).json()
        assert (details["discount_type"], details["discount_value"]) == ("fixed", 10.00)

    async def test_without_request_discount_the_campaign_offer_applies(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(
            database, tenant, discount_type=DiscountType.PERCENTAGE, discount_value=20
        )
        body = (
            await api.post(
                url(campaign.id), json={"recipients": [{"email": "a@example.com"}]}, headers=tenant.headers
            )
        ).json()
        code = body["recipients"][0]["voucher_code"]
        validation = (await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)).json()
        assert validation["discount_type"] == "percentage"
        assert validation["discount_value"] == 20


class TestIdempotency:
    async def test_a_retried_upload_returns_the_same_codes_and_creates_nothing(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # given one upload
        campaign = await make_campaign(database, tenant)
        request = golden("recipients_upload_request.json")
        first = (await api.post(url(campaign.id), json=request, headers=tenant.headers)).json()
        before = await table_counts(database)
        # when the same request is sent again
        response = await api.post(url(campaign.id), json=request, headers=tenant.headers)
        # then the same recipients and codes, nothing new
        assert response.status_code == 200
        second = response.json()
        assert second["total_created"] == 0
        for a, b in zip(first["recipients"], second["recipients"], strict=True):
            assert (a["recipient_id"], a["voucher_code"]) == (b["recipient_id"], b["voucher_code"])
            assert b["created"] is False
        assert await table_counts(database) == before
        assert before["recipients"] == before["vouchers"] == before["voucher.created"] == 2

    async def test_same_external_id_or_email_is_the_same_recipient(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        await api.post(
            url(campaign.id),
            json={
                "recipients": [{"email": "a@example.com", "external_id": "X1"}, {"email": "b@example.com"}]
            },
            headers=tenant.headers,
        )
        # external id matches (new email), and an email matches case-insensitively; one is new
        response = await api.post(
            url(campaign.id),
            json={
                "recipients": [
                    {"email": "changed@example.com", "external_id": "X1"},
                    {"email": "B@EXAMPLE.COM"},
                    {"email": "c@example.com"},
                    {"email": "c@example.com"},
                ]
            },
            headers=tenant.headers,
        )
        body = response.json()
        assert body["total_created"] == 1
        assert [r["created"] for r in body["recipients"]] == [False, False, True, True]
        assert body["recipients"][2]["voucher_code"] == body["recipients"][3]["voucher_code"]
        counts = await table_counts(database)
        assert counts["recipients"] == 3
        assert counts["voucher.created"] == 3

    async def test_the_same_person_in_two_campaigns_gets_two_codes_and_stays_one_customer(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        first = await make_campaign(database, tenant, name="One")
        second = await make_campaign(database, tenant, name="Two")
        person = {"recipients": [{"email": "a@example.com", "external_id": "X1"}]}
        a = (await api.post(url(first.id), json=person, headers=tenant.headers)).json()
        b = (await api.post(url(second.id), json=person, headers=tenant.headers)).json()
        assert a["recipients"][0]["voucher_code"] != b["recipients"][0]["voucher_code"]
        counts = await table_counts(database)
        assert (counts["customers"], counts["recipients"]) == (1, 2)


class TestChecks:
    async def test_every_bad_row_is_reported_and_nothing_is_created(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        response = await api.post(
            url(campaign.id),
            json={
                "recipients": [
                    {"email": "good@example.com"},
                    {"email": "not-an-email"},
                    {"forename": "Nobody"},
                    {"mobile": "12"},
                    {"email": "x@example.com", "postcode": "P" * 21},
                ]
            },
            headers=tenant.headers,
        )
        assert response.status_code == 422
        body = response.json()
        assert body["error_code"] == "invalid_recipients"
        assert [(e["index"], e["field"]) for e in body["errors"]] == [
            (1, "email"),
            (2, "email"),
            (3, "mobile"),
            (4, "postcode"),
        ]
        assert body["errors"][1]["reason"] == "needs an email or a mobile"
        assert "nothing was created" in body["error"]
        assert (await table_counts(database))["recipients"] == 0
        assert (await table_counts(database))["vouchers"] == 0

    async def test_more_than_ten_thousand_is_refused(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        rows = [{"email": f"p{i}@example.com"} for i in range(MAX_RECIPIENTS + 1)]
        response = await api.post(url(campaign.id), json={"recipients": rows}, headers=tenant.headers)
        assert response.status_code == 422
        assert response.json()["error_code"] == "too_many_recipients"
        assert "At most 10,000 recipients per request; this one has 10,001" in response.json()["error"]
        assert (await table_counts(database))["vouchers"] == 0

    async def test_mobiles_are_normalized_and_kept_as_given(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        response = await api.post(
            url(campaign.id),
            json={"recipients": [{"mobile": "07700 900000"}, {"mobile": "+44 7700 900000"}]},
            headers=tenant.headers,
        )
        # the same number written two ways is one recipient
        assert response.json()["total_created"] == 1
        async with unit_of_work(database, write=False) as session:
            customer = await session.scalar(select(Customer))
        assert customer is not None
        assert (customer.mobile, customer.mobile_e164) == ("07700 900000", "+447700900000")

    async def test_another_clients_campaign_is_not_found(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        response = await api.post(
            url(campaign.id), json={"recipients": [{"email": "a@example.com"}]}, headers=other_tenant.headers
        )
        assert response.status_code == 404
        assert (await table_counts(database))["vouchers"] == 0

    async def test_without_a_key_401(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        response = await api.post(url(campaign.id), json={"recipients": [{"email": "a@example.com"}]})
        assert response.status_code == 401


class TestRecords:
    async def test_upload_records_customers_owners_publications_and_events(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        body = (
            await api.post(
                url(campaign.id), json=golden("recipients_upload_request.json"), headers=tenant.headers
            )
        ).json()
        async with unit_of_work(database, write=False) as session:
            publications = list((await session.scalars(select(Publication))).all())
            events = list((await session.scalars(select(Event).where(Event.type == "voucher.created"))).all())
            john = await session.scalar(select(Customer).where(Customer.external_id == "CRM-12345"))
        assert {p.channel for p in publications} == {"recipient_upload"}
        assert len(publications) == 2
        assert john is not None
        assert (john.name, john.email, john.postcode) == ("John Doe", "john@example.com", "SW1A 1AA")
        assert {e.data["voucher_code"] for e in events} == {r["voucher_code"] for r in body["recipients"]}
        assert events[0].data["campaign_name"] == "Summer Sale"


@pytest.mark.concurrency
async def test_concurrent_identical_uploads_issue_each_code_once(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    """A client that retries before the first answer arrives: the same 20 recipients sent 5 times
    at once. Exactly one upload creates them; the others get their codes (200) or a 409 to retry,
    and no recipient ever has a second code."""
    import asyncio

    campaign = await make_campaign(database, tenant)
    request = {"recipients": [{"email": f"p{i}@example.com", "external_id": f"E{i}"} for i in range(20)]}
    responses = await asyncio.gather(
        *(api.post(url(campaign.id), json=request, headers=tenant.headers) for _ in range(5))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1
    assert set(statuses) <= {200, 201, 409}
    assert {r.json()["error_code"] for r in responses if r.status_code == 409} <= {"concurrent_upload"}
    counts = await table_counts(database)
    assert (counts["recipients"], counts["vouchers"], counts["voucher.created"], counts["customers"]) == (
        20,
        20,
        20,
        20,
    )
    # and a retry now returns the one set of codes
    retry = (await api.post(url(campaign.id), json=request, headers=tenant.headers)).json()
    first = next(r for r in responses if r.status_code == 201).json()
    assert [r["voucher_code"] for r in retry["recipients"]] == [
        r["voucher_code"] for r in first["recipients"]
    ]
