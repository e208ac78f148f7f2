"""The dashboard's first page in Chromium at phone and desktop sizes, by keyboard too."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign
from tests.web.dashboard.conftest import SIZES, browser_log_in, checked
from tests.web.test_staff import member
from voucherd.accounts.service import Role
from voucherd.db import Database

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", SIZES)
async def test_an_owner_logs_in_and_sees_the_dashboard(
    server: str, browser: Any, database: Database, tenant: Tenant, size: str
) -> None:
    who = await member(database, tenant, "olive@example.com", role=Role.OWNER)
    await make_campaign(database, tenant, name="Spring sale")
    page = await browser.new_page(viewport=SIZES[size])
    await page.goto(f"{server}/dashboard/")
    assert page.url.startswith(f"{server}/dashboard/login")
    await checked(page, f"login-{size}")
    await browser_log_in(page, server, who.email)
    assert await page.locator("h1").inner_text() == "Welcome, Sam Counter"
    assert await page.locator("nav.sections [aria-current=page]").inner_text() == "Overview"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await checked(page, f"home-{size}")
