"""Deliveries end to end: a real receiver on 127.0.0.1, both databases."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from tests.conftest import Tenant
from tests.fixtures.factories import add_codes, make_campaign
from tests.fixtures.receiver import running_receiver
from tests.webhooks.conftest import make_endpoint
from voucherd.db import Database, unit_of_work
from voucherd.models import WebhookAttempt, WebhookDelivery
from voucherd.webhooks import delivery, rules

pytestmark = pytest.mark.usefixtures("loopback_allowed")


async def redeem(api: httpx.AsyncClient, tenant: Tenant, code: str, order: str = "ORD-12345") -> None:
    response = await api.post(
        "/api/webhook/redemption",
        headers=tenant.headers,
        json={"code": code, "transaction_amount": 45.99, "order_reference": order},
    )
    assert response.status_code == 201, response.text


class TestVoucherRedeemed:
    async def test_documented_body_and_both_signatures(
        self, database: Database, tenant: Tenant, api: httpx.AsyncClient, http: httpx.AsyncClient
    ) -> None:
        # given an endpoint for voucher.redeemed and a redeemed code
        campaign = await make_campaign(database, tenant, name="Summer Sale")
        await add_codes(database, tenant, campaign, ["SUMMER20-X7K3M2"])
        with running_receiver() as receiver:
            endpoint, secret = await make_endpoint(
                database, tenant, receiver.url, events=["voucher.redeemed"]
            )
            await redeem(api, tenant, "SUMMER20-X7K3M2")
            # when the worker runs
            sent = await delivery.process_once(database, http)
        # then one signed POST with the documented body arrived
        assert sent == 1
        assert len(receiver.requests) == 1
        request = receiver.requests[0]
        body = json.loads(request.body)
        assert list(body) == ["event", "timestamp", "data"]
        assert body["event"] == "voucher.redeemed"
        assert body["timestamp"].endswith("Z")
        data = body["data"]
        assert data["voucher_code"] == "SUMMER20-X7K3M2"
        assert data["campaign_name"] == "Summer Sale"
        assert data["transaction_amount"] == 45.99
        assert data["discount_applied"] == 9.2
        assert b'"discount_applied":9.20' in request.body
        assert data["currency"] == "GBP"
        assert data["order_reference"] == "ORD-12345"
        assert request.headers["x-vouchertrack-event"] == "voucher.redeemed"
        assert rules.verify_vouchertrack(secret, request.body, request.headers["x-vouchertrack-signature"])
        Webhook(secret).verify(request.body, request.headers)  # raises when it does not verify
        async with unit_of_work(database) as session:
            stored = (await session.scalars(select(WebhookDelivery))).one()
            attempts = (await session.scalars(select(WebhookAttempt))).all()
        assert request.headers["webhook-id"] == str(stored.event_id)
        assert stored.status == "succeeded"
        assert [(a.attempt, a.succeeded, a.response_code) for a in attempts] == [(1, True, 200)]
        assert endpoint.id == stored.endpoint_id

    async def test_unsubscribed_event_is_not_delivered(
        self, database: Database, tenant: Tenant, api: httpx.AsyncClient, http: httpx.AsyncClient
    ) -> None:
        campaign = await make_campaign(database, tenant)
        await add_codes(database, tenant, campaign, ["SUMMER20-X7K3M2"])
        with running_receiver() as receiver:
            await make_endpoint(database, tenant, receiver.url, events=["lead.captured"])
            await redeem(api, tenant, "SUMMER20-X7K3M2")
            assert await delivery.process_once(database, http) == 0
        assert receiver.requests == []
        async with unit_of_work(database) as session:
            assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0

    async def test_other_tenants_events_never_reach_an_endpoint(
        self,
        database: Database,
        tenant: Tenant,
        other_tenant: Tenant,
        api: httpx.AsyncClient,
        http: httpx.AsyncClient,
    ) -> None:
        campaign = await make_campaign(database, other_tenant)
        await add_codes(database, other_tenant, campaign, ["OTHER-CODE1"])
        with running_receiver() as receiver:
            await make_endpoint(database, tenant, receiver.url)
            await redeem(api, other_tenant, "OTHER-CODE1")
            assert await delivery.process_once(database, http) == 0
        assert receiver.requests == []
