"""The coupon pages in Chromium at phone and desktop sizes: a manager lists the coupons, creates
one with the keyboard (a bad amount is refused beside its field first), edits it (a bad period
likewise) and finds it in the list; axe on each page, saved as ``dashboard-coupons-*.png``.
One server and one browser for both sizes, over SQLite (the pages do not depend on the
database)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Tenant
from tests.web.dashboard.conftest import SIZES, browser_log_in, checked
from tests.web.test_staff import member
from voucherd.accounts.service import Role
from voucherd.db import Database, unit_of_work
from voucherd.models import Campaign, Coupon

pytestmark = pytest.mark.browser


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "voucherd.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def _coupon(database: Database, title: str) -> tuple[int, int, str | None, int | None]:
    async with unit_of_work(database, write=False) as session:
        row = (
            await session.execute(
                select(Coupon.number, Campaign.discount_value, Coupon.expiry_type, Coupon.expiry_period)
                .join(Campaign, Campaign.id == Coupon.campaign_id)
                .where(Campaign.name == title)
            )
        ).one()
        return row.number, row.discount_value, row.expiry_type, row.expiry_period


async def fits(page: Any, name: str, phone: bool) -> None:
    """``checked()``, and on a phone nothing wider than the screen (no sideways scrolling)."""
    if phone:
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES["phone"]["width"], f"{name}: {width} px wide"
    await checked(page, name)


async def test_a_manager_lists_creates_and_edits_coupons_with_the_keyboard(
    server: str, browser: Any, database: Database, tenant: Tenant
) -> None:
    who = await member(database, tenant, "max@example.com", role=Role.MANAGER, page="the-shop")
    for size in SIZES:
        phone = size == "phone"
        context = await browser.new_context(viewport=SIZES[size], is_mobile=phone, has_touch=phone)
        page = await context.new_page()
        await browser_log_in(page, server, who.email)

        # the list, from the dashboard's navigation (empty the first time)
        await page.click("nav.sections >> text=Coupons")
        await page.wait_for_url(f"{server}/dashboard/coupons")
        assert await page.locator("h1").inner_text() == "Coupons"
        if phone:
            assert "No coupon yet" in await page.locator("main").inner_text()
        else:
            assert "Brunch for two (phone)" in await page.locator("table").inner_text()
        await fits(page, f"coupons-list-start-{size}", phone)

        # a new coupon, by keyboard only: the link, the fields, Enter to submit
        await page.focus("p.actions >> text=New coupon")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{server}/dashboard/coupons/new")
        await fits(page, f"coupons-new-{size}", phone)
        title = f"Brunch for two ({size})"
        await page.focus("#title")
        await page.keyboard.type(title)
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == "type"
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == "amount"
        await page.keyboard.type("150")
        await page.keyboard.press("Enter")
        # a percentage over 100 is refused beside its field, the field marked and described by it
        error = page.locator("#amount-error")
        await error.wait_for()
        assert "at most 100" in await error.inner_text()
        assert await page.get_attribute("#amount", "aria-invalid") == "true"
        assert await page.get_attribute("#amount", "aria-describedby") == "amount-error"
        assert await page.input_value("#title") == title  # what was typed stays
        if not phone:  # side by side, the kind and the amount line up despite the amount's hint
            kind = await page.locator("#type").bounding_box()
            amount_box = await page.locator("#amount").bounding_box()
            assert kind["y"] == amount_box["y"], (kind, amount_box)
        await fits(page, f"coupons-refused-{size}", phone)
        await page.fill("#amount", "7.5")
        await page.focus("#amount")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#flash")
        assert await page.locator("#flash").inner_text() == "The coupon was created."
        number, amount, expiry, period = await _coupon(database, title)
        assert (amount, expiry, period) == (750, None, None)
        assert page.url == f"{server}/dashboard/coupons/{number}?done=created"
        await fits(page, f"coupons-coupon-{size}", phone)

        # edited: codes that stop working three months after each purchase (a bad period first);
        # only the chosen kind's fields show
        assert not await page.is_visible("#expiry_period")
        assert not await page.is_visible("#date_from")
        await page.select_option("#expiry_type", "period")
        assert await page.is_visible("#expiry_period")
        assert not await page.is_visible("#date_from")
        await page.fill("#expiry_period", "three")
        await page.click("button[type=submit] >> text=Save changes")
        error = page.locator("#expiry_period-error")
        await error.wait_for()
        assert "whole number" in await error.inner_text()
        assert await page.get_attribute("#expiry_period", "aria-invalid") == "true"
        assert (await _coupon(database, title))[2:] == (None, None)
        await fits(page, f"coupons-edit-refused-{size}", phone)
        await page.select_option("#expiry_type", "time")  # the errored group stays in sight
        assert await page.is_visible("#expiry_period")
        assert await page.is_visible("#date_from")
        await page.select_option("#expiry_type", "period")
        await page.fill("#expiry_period", "3")
        await page.select_option("#expiry_interval", "months")
        await page.click("button[type=submit] >> text=Save changes")
        await page.wait_for_selector("#flash")
        assert await page.locator("#flash").inner_text() == "Your changes were saved."
        assert (await _coupon(database, title))[1:] == (750, "period", 3)

        # the list shows it in words
        await page.click("text=← All coupons")
        await page.wait_for_url(f"{server}/dashboard/coupons")
        row = page.locator("tr", has_text=title)
        assert await row.locator("td").all_inner_texts() == [title, "7.5% off", "3 months after purchase"]
        await fits(page, f"coupons-list-{size}", phone)
        await context.close()
