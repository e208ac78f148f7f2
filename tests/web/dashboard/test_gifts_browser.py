"""The gift voucher pages in Chromium at phone and desktop sizes: the catalog, a new product, an
order taken at the counter and its page with the code, the orders list; axe on each, and the
refund's confirm step. (The coupon pages have their own, test_coupons_browser.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Tenant
from tests.web.dashboard.conftest import SIZES, browser_log_in, checked
from tests.web.test_staff import member
from voucherd.accounts.service import Role
from voucherd.db import Database, unit_of_work
from voucherd.models import GiftCard, GiftOrder

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", SIZES)
async def test_a_manager_creates_a_voucher_sells_it_at_the_counter_and_sees_its_code(
    server: str, browser: Any, database: Database, tenant: Tenant, size: str
) -> None:
    who = await member(database, tenant, "max@example.com", role=Role.MANAGER, page="the-shop")
    phone = size == "phone"
    context = await browser.new_context(viewport=SIZES[size], is_mobile=phone, has_touch=phone)
    page = await context.new_page()
    await browser_log_in(page, server, who.email)

    # the catalog, empty, then the form of a new gift voucher
    await page.click("nav.sections >> text=Gift vouchers")
    await page.wait_for_url(f"{server}/dashboard/gifts")
    assert await page.locator("h1").inner_text() == "Gift vouchers"
    await checked(page, f"gifts-catalog-empty-{size}")
    await page.click("text=New gift voucher")
    await page.fill("#title", "Dinner for two")
    await page.select_option("#type", "fixed")
    await page.fill("#terms", "Not on Saturdays.")
    await page.fill("#option_0_description", "Three courses")
    await page.fill("#option_0_price", "-45")
    await page.click("button[type=submit] >> text=Create gift voucher")
    # a negative price is refused beside its field
    assert "must not be negative" in await page.locator("#option_0_price-error").inner_text()
    await checked(page, f"gifts-product-refused-{size}")
    await page.fill("#option_0_price", "45")
    await page.click("button[type=submit] >> text=Create gift voucher")
    await page.wait_for_selector("#flash")
    assert await page.locator("#flash").inner_text() == "The gift voucher was created."
    await checked(page, f"gifts-product-{size}")

    # an order taken at the counter
    await page.click("text=Sell it at the counter")
    await page.fill("#buyer_name", "Bob Buyer")
    await page.select_option("#method", "Card at the counter")
    await page.fill("#reference", "TILL-42")
    await checked(page, f"gifts-sell-{size}")
    await page.click("button[type=submit] >> text=Record the payment")
    await page.wait_for_selector("#flash")
    async with unit_of_work(database, write=False) as session:
        order = (await session.scalars(select(GiftOrder))).one()
        card = (await session.scalars(select(GiftCard))).one()
    assert order.payments[0]["metadata"]["reference"] == "TILL-42"
    assert await page.locator("h1").inner_text() == f"Order {order.reference}"
    assert card.code in await page.locator("table").inner_text()
    await checked(page, f"gifts-order-{size}")

    # the refund asks first: dismissed, nothing happens; accepted, the order is refunded
    page.once("dialog", lambda dialog: dialog.dismiss())
    await page.click("text=Refund this order")
    assert await page.locator("text=Refund this order").count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("text=Refund this order")
    await page.wait_for_selector("text=The order is refunded")
    await checked(page, f"gifts-order-refunded-{size}")

    await page.click("nav.subnav >> text=Orders")
    await page.wait_for_url(f"{server}/dashboard/gifts/orders")
    assert order.reference in await page.locator("table").inner_text()
    await checked(page, f"gifts-orders-{size}")
    await page.goto(f"{server}/dashboard/gifts")
    await checked(page, f"gifts-catalog-{size}")

    await context.close()
