"""Each endpoint gets the body its receiver was written for: the fan-out renders every event once
per payload format, and VoucherTrack's body is the default."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Tenant
from tests.fixtures.factories import add_codes, make_campaign
from tests.webhooks.conftest import make_endpoint
from voucherd.core.errors import InvalidInput
from voucherd.db import Database, unit_of_work
from voucherd.models import WebhookDelivery
from voucherd.webhooks import delivery, payloads

pytestmark = pytest.mark.usefixtures("loopback_allowed")


def _other(event_type: str, created_at: datetime, data: dict[str, Any]) -> str:
    return json.dumps({"type": event_type.upper(), "code": data.get("voucher_code")})


async def test_each_endpoint_gets_its_formats_body(
    database: Database, tenant: Tenant, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a second format beside VoucherTrack's and an endpoint of each
    monkeypatch.setitem(payloads.FORMATS, "other", _other)
    campaign = await make_campaign(database, tenant, name="Summer Sale")
    await add_codes(database, tenant, campaign, ["SUMMER20-X7K3M2"])
    native, _ = await make_endpoint(database, tenant, "http://127.0.0.1:9/a", events=["voucher.redeemed"])
    other, _ = await make_endpoint(
        database, tenant, "http://127.0.0.1:9/b", events=["voucher.redeemed"], payload_format="other"
    )
    # when a code is redeemed and the event fans out
    response = await api.post(
        "/api/webhook/redemption",
        headers=tenant.headers,
        json={"code": "SUMMER20-X7K3M2", "transaction_amount": 45.99, "order_reference": "ORD-1"},
    )
    assert response.status_code == 201, response.text
    await delivery.dispatch_once(database)
    # then each delivery carries its own format's body
    async with unit_of_work(database) as session:
        bodies = {row.endpoint_id: row.body for row in await session.scalars(select(WebhookDelivery))}
    assert json.loads(bodies[other.id]) == {"type": "VOUCHER.REDEEMED", "code": "SUMMER20-X7K3M2"}
    native_body = json.loads(bodies[native.id])
    assert list(native_body) == ["event", "timestamp", "data"]
    assert native_body["data"]["voucher_code"] == "SUMMER20-X7K3M2"


async def test_an_unknown_format_is_refused(database: Database, tenant: Tenant) -> None:
    with pytest.raises(InvalidInput, match="payload format"):
        await make_endpoint(database, tenant, "http://127.0.0.1:9/a", payload_format="soap")
