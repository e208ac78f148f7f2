"""The settings pages in Chromium at phone and desktop sizes: the index, API keys (a new key shown
once, with its Copy button), a webhook with its delivery log, staff (an invitation's first
password), the business and the branding; each checked by axe-core and saved as a screenshot."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant
from tests.fixtures.factories import add_codes, add_delivery, make_campaign
from tests.web.dashboard.conftest import SIZES, browser_log_in, checked
from tests.web.dashboard.test_settings import png
from tests.web.test_staff import member
from tests.webhooks.conftest import make_endpoint
from voucherd.accounts.service import Role
from voucherd.config import get_settings
from voucherd.db import Database, unit_of_work

pytestmark = pytest.mark.browser
SETTINGS = "/dashboard/settings"


async def owner_page(browser: Any, server: str, database: Database, tenant: Tenant, size: str) -> Any:
    who = await member(database, tenant, "olive@example.com", role=Role.OWNER)
    page = await browser.new_page(viewport=SIZES[size])
    await browser_log_in(page, server, who.email)
    return page


async def no_sideways_scroll(page: Any) -> None:
    """The page fits the window's width (a wide table scrolls inside its own region)."""
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("size", SIZES)
async def test_the_index_and_a_new_key_shown_once(
    server: str, browser: Any, database: Database, tenant: Tenant, size: str
) -> None:
    page = await owner_page(browser, server, database, tenant, size)
    await page.goto(f"{server}{SETTINGS}")
    assert await page.locator("nav.sections [aria-current=page]").inner_text() == "Settings"
    await checked(page, f"settings-{size}")
    await no_sideways_scroll(page)
    await page.click("text=API keys")
    await page.wait_for_url(f"{server}{SETTINGS}/keys")
    await page.fill("#name", "Online shop")
    await page.click("text=Create the key")
    await page.wait_for_selector("#secret")
    secret = await page.input_value("#secret")
    assert secret.startswith("vd_live_")
    assert await page.locator("button.copy").is_visible()  # the script shows it
    await checked(page, f"settings-key-created-{size}")
    await no_sideways_scroll(page)
    await page.click("text=Back to the keys")
    await page.wait_for_url(f"{server}{SETTINGS}/keys")
    assert secret not in await page.content()
    assert await page.locator("td.key-name", has_text="Online shop").count() == 1
    await checked(page, f"settings-keys-{size}")
    await no_sideways_scroll(page)


@pytest.mark.parametrize("size", SIZES)
async def test_a_webhook_with_its_delivery_log(
    server: str,
    browser: Any,
    database: Database,
    tenant: Tenant,
    size: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOUCHERD_WEBHOOK_ALLOWED_CIDRS", '["127.0.0.0/8"]')
    get_settings.cache_clear()
    endpoint, _ = await make_endpoint(database, tenant, "http://127.0.0.1:9/hooks/voucherd", name="Till")
    async with unit_of_work(database) as session:
        for number, (succeeded, code, error) in enumerate(
            [
                (False, 500, "The receiver answered 500"),
                (False, None, "Connection refused"),
                (True, 200, None),
            ]
        ):
            await add_delivery(
                session,
                tenant.client_id,
                endpoint.id,
                succeeded=succeeded,
                response_code=code,
                error=error,
                attempt=number + 1,
            )
    page = await owner_page(browser, server, database, tenant, size)
    await page.goto(f"{server}{SETTINGS}/webhooks")
    await checked(page, f"settings-webhooks-{size}")
    await page.click("text=Till")
    await page.wait_for_url(f"{server}{SETTINGS}/webhooks/{endpoint.id}")
    assert await page.locator("table.log tbody tr").count() == 3
    await checked(page, f"settings-webhook-{size}")
    await no_sideways_scroll(page)
    await page.locator("table.log button").first.click()
    await page.wait_for_selector("#flash")
    assert "queued" in await page.locator("#flash").inner_text()


@pytest.mark.parametrize("size", SIZES)
async def test_staff_invitation_business_and_branding(
    server: str, browser: Any, database: Database, tenant: Tenant, size: str
) -> None:
    campaign = await make_campaign(database, tenant)
    await add_codes(database, tenant, campaign, ["SUMMER20-X7K3M2"])
    who = await member(database, tenant, "olive@example.com", role=Role.OWNER)
    who_page = who.page
    page = await browser.new_page(viewport=SIZES[size])
    await browser_log_in(page, server, who.email)
    await page.goto(f"{server}{SETTINGS}/staff")
    await checked(page, f"settings-staff-{size}")
    await no_sideways_scroll(page)
    await page.fill("#full_name", "Mia Lane")
    await page.fill("#email", "mia@example.com")
    await page.select_option("#role", "manager")
    await page.click("button:text('Invite')")
    await page.wait_for_selector("#secret")
    assert len(await page.input_value("#secret")) == 19
    await checked(page, f"settings-staff-invited-{size}")
    await page.goto(f"{server}{SETTINGS}/business")
    await checked(page, f"settings-business-{size}")
    await page.goto(f"{server}{SETTINGS}/branding")
    await page.fill("#accent", "#7a1f5c")
    await page.click("text=Save the colour")
    await page.wait_for_selector("#flash")
    assert await page.locator(".brand-sample").is_visible()
    logo = {"name": "logo.png", "mimeType": "image/png", "buffer": png()}
    await page.set_input_files("#logo", files=[logo])
    await page.click("text=Upload the logo")
    await page.wait_for_selector("img.logo-preview")
    await checked(page, f"settings-branding-{size}")
    await no_sideways_scroll(page)
    # the public voucher page and the shop wear the brand (and still pass axe)
    await page.goto(f"{server}/redeem/SUMMER20-X7K3M2")
    band = page.locator("header.brand-band")
    assert await band.is_visible()
    assert await band.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(122, 31, 92)"
    assert await page.locator("img.brand-logo").evaluate("e => e.naturalWidth") == 40
    await checked(page, f"brand-voucher-{size}")
    await page.goto(f"{server}/shop/{who_page}/")
    header = page.locator(".shop-header")
    assert await header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(122, 31, 92)"
    await checked(page, f"brand-shop-{size}")
