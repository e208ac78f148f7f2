"""RELIABILITY S14: each role against an operation of each permission, through our own API with
staff access tokens (one login for every dialect); an API key may do everything."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from voucherd.accounts import staff
from voucherd.accounts.service import Role
from voucherd.db import Database, unit_of_work


async def _logins(database: Database, tenant: Tenant) -> dict[str, str]:
    """An access token for a member of each role of the tenant's client."""
    tokens: dict[str, str] = {}
    async with unit_of_work(database) as session:
        page = await staff.create_sales_page(session, tenant.client_id, "the-shop")
        for role in (Role.OWNER, Role.MANAGER, Role.STAFF):
            await staff.create_staff(
                session,
                tenant.client_id,
                staff.StaffInput(f"{role}@example.com", "a long password", role.value, role, [page.name]),
            )
    for role in (Role.OWNER, Role.MANAGER, Role.STAFF):
        async with unit_of_work(database) as session:
            login = await staff.log_in(
                session, email=f"{role}@example.com", password="a long password", subdomain="the-shop"
            )
        tokens[role.value] = login.access_token
    return tokens


EXPECTED = {
    # (redeem: validate, look up), (manage: list campaigns, create one), (administer: webhooks)
    "owner": [200, 200, 200, 201, 200],
    "manager": [200, 200, 200, 201, 403],
    "staff": [200, 200, 403, 403, 403],
    "api_key": [200, 200, 200, 201, 200],
}


@pytest.mark.parametrize("who", list(EXPECTED))
async def test_s14_role_matrix(api: httpx.AsyncClient, database: Database, tenant: Tenant, who: str) -> None:
    campaign = await make_campaign(database, tenant, uses_per_voucher=5)
    [code] = await make_codes(database, tenant, campaign)
    tokens = await _logins(database, tenant)
    headers = tenant.headers if who == "api_key" else {"Authorization": f"Bearer {tokens[who]}"}
    answers = [
        await api.get(f"/api/webhook/validate/{code}", headers=headers),
        await api.get(f"/api/vouchers/{code}", headers=headers),
        await api.get("/api/campaigns", headers=headers),
        await api.post(
            "/api/campaigns",
            json={"name": "By staff", "discount_type": "percentage", "discount_value": 5},
            headers=headers,
        ),
        await api.get("/api/integrations/webhooks", headers=headers),
    ]
    assert [r.status_code for r in answers] == EXPECTED[who], [r.text for r in answers]
    for refused in (r for r in answers if r.status_code == 403):
        assert refused.json()["error_code"] == "permission_denied"
        assert f"A {who} login may not" in refused.json()["error"]


async def test_a_staff_token_redeems_at_the_checkout_for_its_client(
    api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    campaign = await make_campaign(database, tenant)
    [code] = await make_codes(database, tenant, campaign)
    tokens = await _logins(database, tenant)
    counter = {"Authorization": f"Bearer {tokens['staff']}"}
    redeemed = await api.post(
        "/api/webhook/redemption", json={"code": code, "transaction_amount": "30.00"}, headers=counter
    )
    assert redeemed.status_code == 201, redeemed.text
    # another client's code does not exist for this login
    theirs = await make_campaign(database, other_tenant, name="Theirs")
    [their_code] = await make_codes(database, other_tenant, theirs)
    assert (await api.get(f"/api/webhook/validate/{their_code}", headers=counter)).status_code == 404
