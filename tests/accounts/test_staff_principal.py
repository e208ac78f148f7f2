"""A staff login's principal carries what an API key's does: its client, timezone and the
Voucherify API version the client pinned (both databases)."""

from __future__ import annotations

from tests.conftest import Tenant
from voucherd.accounts import api_versions, staff
from voucherd.accounts import service as accounts
from voucherd.accounts.service import Role
from voucherd.db import Database, unit_of_work


async def test_a_staff_login_uses_the_clients_pinned_api_version(database: Database, tenant: Tenant) -> None:
    async with unit_of_work(database) as session:
        await staff.create_sales_page(session, tenant.client_id, "the-shop")
        await staff.create_staff(
            session,
            tenant.client_id,
            staff.StaffInput("till@example.com", "a long password", "Till", Role.MANAGER, ["the-shop"]),
        )
        await accounts.set_api_version(session, tenant.client_id, api_versions.PINNED)
    async with unit_of_work(database) as session:
        login = await staff.log_in(
            session, email="till@example.com", password="a long password", subdomain="the-shop"
        )
        principal = await staff.principal_for_access_token(session, login.access_token)
    assert principal.api_version == api_versions.PINNED
    assert (principal.client_id, principal.role) == (tenant.client_id, Role.MANAGER)
