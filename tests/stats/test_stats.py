"""Campaign figures: each one built from known data and checked to the exact number."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from voucherd.core.money import Amount
from voucherd.db import Database, unit_of_work
from voucherd.redemptions import service as redemptions
from voucherd.redemptions.repository import SessionStore
from voucherd.redemptions.schemas import Channel, RedeemInput


async def stats(api: httpx.AsyncClient, tenant: Tenant, campaign_id: object) -> dict[str, object]:
    response = await api.get(f"/api/campaigns/{campaign_id}/stats", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
async def busy_campaign(api: httpx.AsyncClient, database: Database, tenant: Tenant) -> object:
    """10 codes issued: 6 in the pool, 4 uploaded to recipients; 2 of the pool published by API.
    Opens: 3 by the pixel endpoint + 1 implied by a click; clicks 2; bounces 1. Redemptions: 45.99
    online, 20.00 in store, 10.00 online from the pool, and 50.00 rolled back (20% off each)."""
    campaign = await make_campaign(database, tenant, discount_value=20)
    await make_codes(database, tenant, campaign, 6)
    uploaded = (
        await api.post(
            f"/api/integrations/campaigns/{campaign.id}/recipients",
            json={"recipients": [{"email": f"r{i}@example.com"} for i in range(4)]},
            headers=tenant.headers,
        )
    ).json()["recipients"]
    published = (
        await api.post(
            "/api/publications",
            json={
                "campaign": {"id": str(campaign.id), "count": 2},
                "customer": {"email": "pool@example.com"},
            },
            headers=tenant.headers,
        )
    ).json()["vouchers"]

    async def track(kind: str, index: int) -> None:
        response = await api.post(
            f"/api/integrations/tracking/email-{kind}?recipient_id={uploaded[index]['recipient_id']}",
            headers=tenant.headers,
        )
        assert response.status_code == 200

    for index in (0, 1, 2):
        await track("opened", index)
    for index in (0, 3):
        await track("clicked", index)
    await track("bounced", 1)

    async def redeem(code: str, amount: str, channel: Channel, reference: str) -> None:
        async with unit_of_work(database) as session:
            await redemptions.redeem(
                SessionStore(session),
                tenant.principal,
                RedeemInput(
                    code=code, amount=Amount.major(amount), order_reference=reference, channel=channel
                ),
            )

    await redeem(uploaded[0]["voucher_code"], "45.99", Channel.ONLINE, "A")
    await redeem(uploaded[1]["voucher_code"], "20.00", Channel.IN_STORE, "B")
    await redeem(published[0], "10.00", Channel.ONLINE, "C")
    await redeem(uploaded[2]["voucher_code"], "50.00", Channel.ONLINE, "D")
    rollback = await api.post(
        "/api/webhook/redemption/rollback",
        json={"code": uploaded[2]["voucher_code"], "order_reference": "D", "reason": "refunded"},
        headers=tenant.headers,
    )
    assert rollback.status_code == 200
    return campaign.id


class TestFigures:
    async def test_issued_and_published(
        self, api: httpx.AsyncClient, tenant: Tenant, busy_campaign: object
    ) -> None:
        figures = await stats(api, tenant, busy_campaign)
        assert (figures["issued"], figures["published"], figures["recipients"]) == (10, 6, 4)

    async def test_opened_clicked_bounced(
        self, api: httpx.AsyncClient, tenant: Tenant, busy_campaign: object
    ) -> None:
        figures = await stats(api, tenant, busy_campaign)
        assert (figures["opened"], figures["clicked"], figures["bounced"]) == (4, 2, 1)

    async def test_redeemed_online_and_in_store_without_rollbacks(
        self, api: httpx.AsyncClient, tenant: Tenant, busy_campaign: object
    ) -> None:
        figures = await stats(api, tenant, busy_campaign)
        assert figures["redeemed"] == {"total": 3, "online": 2, "in_store": 1, "codes": 3}

    async def test_rate_revenue_and_discount(
        self, api: httpx.AsyncClient, tenant: Tenant, busy_campaign: object
    ) -> None:
        response = await api.get(f"/api/campaigns/{busy_campaign}/stats", headers=tenant.headers)
        figures = response.json()
        assert figures["redemption_rate"] == 0.5  # 3 redeemed codes / 6 published
        assert b'"redemption_rate":0.5000' in response.content
        assert figures["revenue"] == 75.99  # 45.99 + 20.00 + 10.00 (the refunded 50.00 left out)
        assert b'"revenue":75.99' in response.content
        assert Decimal(str(figures["discount_given"])) == Decimal("15.20")  # 9.20 + 4.00 + 2.00
        assert figures["currency"] == "GBP"

    async def test_leads_and_referrals_start_at_zero(
        self, api: httpx.AsyncClient, tenant: Tenant, busy_campaign: object
    ) -> None:
        figures = await stats(api, tenant, busy_campaign)
        assert (figures["leads"], figures["referrals"]) == (0, 0)


async def test_an_empty_campaign_is_all_zero(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    campaign = await make_campaign(database, tenant)
    figures = await stats(api, tenant, campaign.id)
    assert figures["issued"] == figures["published"] == figures["opened"] == 0
    assert figures["redemption_rate"] == 0
    assert figures["revenue"] == 0


async def test_rate_is_over_issued_codes_when_none_were_published(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    campaign = await make_campaign(database, tenant)
    codes = await make_codes(database, tenant, campaign, 4)
    await api.post(
        "/api/webhook/redemption", json={"code": codes[0], "transaction_amount": 10}, headers=tenant.headers
    )
    figures = await stats(api, tenant, campaign.id)
    assert figures["redemption_rate"] == 0.25


async def test_another_clients_campaign_is_404(
    api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    campaign = await make_campaign(database, tenant)
    response = await api.get(f"/api/campaigns/{campaign.id}/stats", headers=other_tenant.headers)
    assert response.status_code == 404
