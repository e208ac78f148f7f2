"""Demo data, created through the services (never a dump that goes stale)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from voucherd.accounts import service as accounts
from voucherd.accounts import staff
from voucherd.accounts.service import Role
from voucherd.campaigns import service as campaigns
from voucherd.campaigns.rules import DiscountType
from voucherd.campaigns.schemas import CampaignInput, CodeSettings
from voucherd.core import clock
from voucherd.core.money import Amount
from voucherd.db import get_database, unit_of_work
from voucherd.models import Client
from voucherd.vouchers import service as vouchers

DEMO_LOGIN = "owner@demo-restaurant.example"


async def seed_demo() -> dict[str, Any] | None:
    """Demo Restaurant, a "Summer Sale" campaign (20% off, minimum spend £25) and 5 codes, a sales
    page and its owner's login (password generated, shown once); ``None`` when the database
    already has a client."""
    try:
        async with unit_of_work() as session:
            if await session.scalar(select(func.count()).select_from(Client)):
                return None
            client = await accounts.create_client(session, name="Demo Restaurant")
            issued = await accounts.create_api_key(session, client.id, name="demo")
            principal = accounts.principal_of_key(client, issued.api_key)
            campaign = await campaigns.create_campaign(
                session,
                principal,
                CampaignInput(
                    name="Summer Sale",
                    discount_type=DiscountType.PERCENTAGE,
                    discount_value=Amount.major(20),
                    minimum_spend=Amount.major("25.00"),
                    valid_until=(clock.now() + timedelta(days=90)).date(),
                    codes=CodeSettings(prefix="SUMMER20", length=6),
                ),
            )
            generation = await vouchers.generate_vouchers(session, principal, campaign.id, count=5)
            page = await staff.create_sales_page(session, client.id, "demo-restaurant")
            password = secrets.token_urlsafe(12)
            owner = await staff.create_staff(
                session,
                client.id,
                staff.StaffInput(
                    email=DEMO_LOGIN,
                    password=password,
                    full_name="Demo Owner",
                    role=Role.OWNER,
                    pages=[page.name],
                ),
            )
        return {
            "client_id": str(client.id),
            "client_name": client.name,
            "api_key": issued.secret,
            "campaign_id": str(campaign.id),
            "codes": generation.codes,
            "staff_email": owner.email,
            "staff_password": password,
            "sales_page": page.name,
        }
    finally:
        await get_database().dispose()
