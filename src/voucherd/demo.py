"""Demo data, created through the services (never a dump that goes stale)."""

from __future__ import annotations

import dataclasses
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
from voucherd.core import clock, links
from voucherd.core.money import Amount
from voucherd.db import get_database, unit_of_work
from voucherd.giftcards import catalog, orders
from voucherd.models import Client
from voucherd.vouchers import service as vouchers

DEMO_LOGIN = "owner@demo-restaurant.example"

# The demo's gift voucher catalog (VoucherCart's /vouchercart/v1/vouchers), prices in pence.
GIFT_CARD = catalog.ProductInput(
    sales_page=None,
    type=catalog.ProductType.MONETARY,
    title="Demo Restaurant gift card",
    description="Any amount from £10 to £500, spent over as many visits as you like.",
    terms="Valid for 12 months from purchase. Not exchangeable for cash.",
    min_amount=1000,
    max_amount=50_000,
    expiry=catalog.ExpiryInput(type="period", interval="months", period=12),
)
DINNER_FOR_TWO = catalog.ProductInput(
    sales_page=None,
    type=catalog.ProductType.FIXED,
    title="Dinner for two",
    description="Three courses for two with a glass of wine each.",
    terms="Book ahead; Sunday to Thursday evenings.",
    tax_rate=2000,
    options=[catalog.OptionInput(sell_price=8000, description="Dinner for two")],
    expiry=catalog.ExpiryInput(type="period", interval="months", period=6),
)
COFFEE_CARD = catalog.ProductInput(
    sales_page=None,
    type=catalog.ProductType.FIXED,
    title="Coffee card",
    description="Five coffees of any kind.",
    terms="One coffee per visit.",
    options=[catalog.OptionInput(sell_price=1500, quantity=5, description="5 coffees")],
    expiry=catalog.ExpiryInput(type="period", interval="months", period=12),
)
SAMPLE_AMOUNT = 2500  # the sample gift card: £25.00


async def seed_demo() -> dict[str, Any] | None:
    """Demo Restaurant, a "Summer Sale" campaign (20% off, minimum spend £25) and 5 codes, a sales
    page and its owner's login (password generated, shown once), a gift voucher catalog (a gift
    card of £10 to £500, "Dinner for two", a 5-use "Coffee card") and one £25 gift card sold from
    it; ``None`` when the database already has a client."""
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
            products = {}
            for product in (GIFT_CARD, DINNER_FOR_TWO, COFFEE_CARD):
                data = dataclasses.replace(product, sales_page=page.number, currency=principal.currency)
                products[product.title] = (await catalog.create_product(session, principal, data)).product
            placed = await orders.place_order(
                session,
                principal,
                orders.OrderInput(
                    product=products[GIFT_CARD.title].number,
                    sales_page=page.number,
                    monetary_amount=SAMPLE_AMOUNT,
                    payments=[
                        orders.Payment(amount=SAMPLE_AMOUNT, currency=principal.currency, title="Demo")
                    ],
                    buyer_name="Demo Buyer",
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
            "shop_url": links.shop_url(page.name),
            "domain": page.number,
            "gift_vouchers": {title: product.number for title, product in products.items()},
            "gift_card_code": placed.cards[0].code,
        }
    finally:
        await get_database().dispose()
