"""The gift voucher shop in headless Chromium (Debian's), on a 390 px phone and a 1280 px desktop:
a purchase by keyboard, its errors, the confirmation awaiting payment, staff marking it paid, and
the mail received. Screenshots of each page go to build/screenshots/ (not committed); axe-core
checks each page when its vendored copy (tests/web/vendor/axe-core/) is present."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Tenant
from tests.fixtures.smtp import SmtpServer, read
from tests.web.test_browser import XSS, browser, server  # noqa: F401 (fixtures)
from voucherd.accounts import staff
from voucherd.db import Database, unit_of_work
from voucherd.giftcards import catalog
from voucherd.jobs import runner
from voucherd.models import GiftOrder

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
AXE = ROOT / "tests" / "web" / "vendor" / "axe-core" / "axe.min.js"
# axe's WCAG 2.0-2.2 A and AA rules; serious and critical findings fail the test.
AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag", values:
    ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
}"""
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


async def _check(page: Any, name: str) -> None:
    """Nothing overflows the width, a screenshot is kept, and axe finds nothing serious."""
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"shop-{name}.png"), full_page=True)
    if AXE.exists():  # evaluated through the devtools protocol: the page's CSP still holds
        await page.evaluate(AXE.read_text())
        violations = await page.evaluate(AXE_RUN)
        assert violations == [], f"{name}: {violations}"


async def test_a_purchase_on_a_phone_and_a_desktop_then_paid_and_mailed(
    smtp_server: SmtpServer,
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    database: Database,
    tenant: Tenant,
) -> None:
    # given a shop whose texts try to inject scripts (RELIABILITY S11)
    async with unit_of_work(database) as session:
        await staff.create_sales_page(session, tenant.client_id, "spa-town")
        for data in (
            catalog.ProductInput(
                sales_page="spa-town",
                type="monetary",
                title="Spa Town gift card",
                description=f"Any amount. {XSS[1]}",
                terms=" ".join(XSS),
                min_amount=1000,
                max_amount=20000,
                expiry=catalog.ExpiryInput(type="period", interval="months", period=12),
            ),
            catalog.ProductInput(
                sales_page="spa-town",
                type="fixed",
                title="Massage",
                options=[
                    catalog.OptionInput(sell_price=4500, description="One hour"),
                    catalog.OptionInput(sell_price=8000, description="Two hours"),
                ],
            ),
        ):
            await catalog.create_product(session, tenant.principal, data)
    dialogs: list[str] = []
    for size, viewport in SIZES.items():
        context = await browser.new_context(viewport=viewport, is_mobile=size == "phone")
        page = await context.new_page()
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))

        # when a buyer opens the shop and the gift card
        await page.goto(f"{server}/shop/spa-town/")
        assert await page.text_content("h1") == "Gift vouchers from Demo Restaurant"
        await _check(page, f"{size}-list")
        await page.click("text=Spa Town gift card")
        await _check(page, f"{size}-voucher")

        # and sends the form with an amount too small: the errors show beside their fields
        await page.fill("#amount", "5")
        await page.click("button[type=submit]")
        assert await page.text_content("#amount-error") == "Enter an amount between £10.00 and £200.00."
        assert await page.text_content("#buyer_name-error") == "Enter your name."
        assert "amount-error" in (await page.get_attribute("#amount", "aria-describedby") or "")
        await _check(page, f"{size}-errors")

        # then fills it in by keyboard and sends it with Enter
        await page.fill("#amount", "25")
        await page.focus("#buyer_name")
        await page.keyboard.type("Bob Buyer")
        await page.keyboard.press("Tab")
        await page.keyboard.type(f"bob-{size}@example.com")
        await page.keyboard.press("Tab")
        await page.keyboard.type("Ann")
        await page.keyboard.press("Tab")
        await page.keyboard.type(f"ann-{size}@example.com")
        await page.fill("#message", "Happy birthday!")
        await page.focus("#buyer_email")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{server}/shop/spa-town/orders/**")

        # the confirmation says plainly that the order awaits payment, with its reference
        assert await page.text_content("h1") == "Your order is awaiting payment"
        reference = (await page.text_content("#reference") or "").strip()
        assert reference in (await page.text_content("#instructions") or "")
        await _check(page, f"{size}-awaiting")

        # when staff mark it paid through our API
        async with unit_of_work(database, write=False) as session:
            number = await session.scalar(select(GiftOrder.number).where(GiftOrder.reference == reference))
        async with httpx.AsyncClient(base_url=server) as api:
            paid = await api.post(
                f"/api/orders/{number}/payment", json={"method": "Cash"}, headers=tenant.headers
            )
        assert paid.status_code == 200, paid.text
        [card] = paid.json()["codes"]

        # then the page says it is paid, and Ann receives her voucher
        await page.reload()
        assert await page.text_content("#status") == "Paid"
        await _check(page, f"{size}-paid")
        assert await runner.run_until_idle(database) == 1
        message = smtp_server.inbox.messages[-1]
        assert smtp_server.inbox.envelopes[-1].rcpt_tos == [f"ann-{size}@example.com"]
        assert card["code"] in read(message).text

        # and the voucher page of the link in the mail shows the code as valid
        await page.goto(f"{server}/redeem/{card['code']}")
        assert await page.text_content("#state") == "Valid"
        await context.close()
    assert dialogs == []
