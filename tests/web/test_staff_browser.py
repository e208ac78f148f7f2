"""The staff screen in headless Chromium (Debian's, driven by Playwright) against a real
``voucherd serve``, on a 390x844 phone and a 1280x800 desktop: login, check, double-tap redeem,
undo, refusals, a QR code scanned through Chromium's fake camera. Every page is checked by
axe-core (vendored, tests/web/vendor) for serious or critical WCAG violations, and saved as a
screenshot under build/screenshots/ (git-ignored) for a person to look at."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import add_codes, make_campaign
from tests.web import test_browser
from voucherd.accounts import staff
from voucherd.accounts.service import Role
from voucherd.core import qr
from voucherd.db import Database, unit_of_work
from voucherd.giftcards import catalog, orders
from voucherd.models import Redemption

pytestmark = pytest.mark.browser

server = test_browser.server
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
PASSWORD = "counter-password-1"
CODE = "SUMMER20-X7K3M2"
# axe's WCAG 2.0-2.2 A and AA rules; serious and critical findings fail the test.
AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag", values:
    ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
}"""


async def _launch(*arguments: str) -> AsyncIterator[Any]:
    executable = test_browser._chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(arguments)
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async for launched in _launch():
        yield launched


async def checked(page: Any, name: str) -> None:
    """axe-core finds no serious or critical violation; the page is saved for a person to see."""
    await page.evaluate(AXE)
    violations = await page.evaluate(AXE_RUN)
    assert violations == [], f"{name}: {violations}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"staff-{name}.png"), full_page=True)


async def counter_member(database: Database, tenant: Tenant) -> str:
    campaign = await make_campaign(database, tenant, discount_value=20)
    await add_codes(database, tenant, campaign, [CODE])
    async with unit_of_work(database) as session:
        await staff.create_sales_page(session, tenant.client_id, "the-counter")
    return await another_member(database, tenant)


async def another_member(database: Database, tenant: Tenant, role: Role = Role.STAFF) -> str:
    email = f"sam-{uuid.uuid4().hex[:6]}@example.com"
    async with unit_of_work(database) as session:
        await staff.create_staff(
            session,
            tenant.client_id,
            staff.StaffInput(
                email=email, password=PASSWORD, full_name="Sam Counter", role=role, pages=["the-counter"]
            ),
        )
    return email


async def redemptions(database: Database) -> int:
    async with unit_of_work(database, write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(Redemption)) or 0)


async def log_in(page: Any, server: str, email: str, password: str = PASSWORD) -> None:
    await page.goto(f"{server}/staff/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("button[type=submit]")


@pytest.mark.parametrize("size", SIZES)
async def test_login_check_redeem_with_a_double_tap_undo_and_refusals(
    server: str, browser: Any, database: Database, tenant: Tenant, size: str
) -> None:
    email = await counter_member(database, tenant)
    phone = size == "phone"
    context = await browser.new_context(viewport=SIZES[size], is_mobile=phone, has_touch=phone)
    page = await context.new_page()

    # a wrong password is refused in plain words
    await log_in(page, server, email, "not-the-password")
    assert await page.text_content("#error") == "The email, password or sales page is not right."
    await checked(page, f"login-refused-{size}")

    # the right one opens the counter
    await log_in(page, server, email)
    await page.wait_for_url(f"{server}/staff/")
    assert "Nothing redeemed here today yet." in (await page.text_content("#today-empty") or "")
    await checked(page, f"counter-{size}")

    # a code typed in lower case checks at once
    await page.fill("#code", CODE.lower())
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#result")
    assert (await page.text_content("#state") or "").strip() == "✓ Can be used"
    assert await page.text_content("#offer") == "20% off your order"
    await checked(page, f"check-valid-{size}")

    # a double tap on Redeem redeems once
    await page.fill("#amount", "45.99")
    await page.dblclick("#redeem")
    await page.wait_for_selector("#confirmation")
    assert await page.text_content("#discount") == "£9.20"
    assert await page.text_content("#to-pay") == "£36.79"
    assert await redemptions(database) == 1
    await checked(page, f"redeemed-{size}")

    # checked again, the code says why it cannot be used
    await page.fill("#code", CODE)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#reason")
    assert await page.text_content("#reason") == "Voucher has already been redeemed"
    await checked(page, f"check-refused-{size}")

    # undo from the counter's day gives the use back
    await page.goto(f"{server}/staff/")
    await page.click(f"button[aria-label='Undo {CODE}']")
    await page.wait_for_selector("#undone")
    assert "can be used again" in (await page.text_content("#undone") or "")
    await checked(page, f"undone-{size}")

    # an unknown code
    await page.fill("#code", "NOPE-2222")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#reason")
    assert await page.text_content("#reason") == "Voucher not found"

    # a form posted with a forged token gets the 403 page and changes nothing
    await page.goto(f"{server}/staff/check?code={CODE}")
    await page.eval_on_selector("#redeem-form input[name=csrf_token]", "input => input.value = 'forged'")
    await page.click("#redeem")
    await page.wait_for_selector("#message")
    assert "Nothing was changed" in (await page.text_content("#message") or "")
    await checked(page, f"csrf-refused-{size}")
    async with unit_of_work(database, write=False) as session:
        live = await session.scalar(
            select(func.count()).select_from(Redemption).where(Redemption.rolled_back_at.is_(None))
        )
    assert live == 0
    await context.close()


def _y4m(text: str, path: Path, *, width: int = 640, height: int = 480, frames: int = 10) -> None:
    """A short raw video (YUV4MPEG2, 4:2:0) of the QR code of ``text`` on white, for Chromium's
    fake camera."""
    dark = qr.matrix(text)
    scale = min(width, height) // (dark.shape[0] + 8)
    image = np.full((height, width), 255, dtype=np.uint8)
    modules = np.kron(dark, np.ones((scale, scale), dtype=bool))
    top, left = (height - modules.shape[0]) // 2, (width - modules.shape[1]) // 2
    image[top : top + modules.shape[0], left : left + modules.shape[1]][modules] = 0
    chroma = np.full((height // 2) * (width // 2) * 2, 128, dtype=np.uint8).tobytes()
    frame = b"FRAME\n" + image.tobytes() + chroma
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)


async def test_a_scanned_redemption_url_is_checked(
    server: str, database: Database, tenant: Tenant, tmp_path: Path
) -> None:
    email = await counter_member(database, tenant)
    video = tmp_path / "qr.y4m"
    _y4m(f"{server}/redeem/{CODE}", video)
    async for launched in _launch(
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ):
        context = await launched.new_context(viewport=SIZES["phone"], is_mobile=True, has_touch=True)
        await context.grant_permissions(["camera"], origin=server)
        page = await context.new_page()
        await log_in(page, server, email)
        await page.wait_for_url(f"{server}/staff/")
        await page.click("#scan")
        await page.wait_for_selector("#result", timeout=15_000)
        assert await page.text_content("#checked-code") == CODE
        assert (await page.text_content("#state") or "").strip() == "✓ Can be used"
        await checked(page, "scanned-phone")
        await context.close()


@pytest.mark.parametrize("size", SIZES)
async def test_a_gift_card_pays_in_part_an_expired_code_is_refused_and_another_members_undo_is_403(
    server: str, browser: Any, database: Database, tenant: Tenant, size: str
) -> None:
    email = await counter_member(database, tenant)
    expired = await make_campaign(database, tenant, name="Spring Sale", valid_until=date(2020, 4, 30))
    await add_codes(database, tenant, expired, ["SPRING-AAAA"])
    async with unit_of_work(database) as session:
        shop = await staff.create_sales_page(session, tenant.client_id, "gift-shop")
        product = await catalog.create_product(
            session,
            tenant.principal,
            catalog.ProductInput(sales_page=shop.number, type="monetary", title="Gift card"),
        )
        placed = await orders.place_order(
            session,
            tenant.principal,
            orders.OrderInput(
                product=product.product.number,
                monetary_amount=5000,
                payments=[orders.Payment(amount=5000, currency="GBP")],
            ),
        )
    gift = placed.cards[0].code
    phone = size == "phone"
    context = await browser.new_context(viewport=SIZES[size], is_mobile=phone, has_touch=phone)
    page = await context.new_page()
    await log_in(page, server, email)
    await page.wait_for_url(f"{server}/staff/")

    # an expired code says so
    await page.fill("#code", "spring-aaaa")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#reason")
    assert await page.text_content("#reason") == "Voucher has expired"

    # a gift card: £12.50 of its £50.00, the balance after shown
    await page.fill("#code", gift)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#balance")
    assert await page.text_content("#balance") == "£50.00"
    await checked(page, f"gift-check-{size}")
    await page.fill("#amount", "12.50")
    await page.click("#redeem")
    await page.wait_for_selector("#confirmation")
    assert await page.text_content("#taken") == "£12.50"
    assert await page.text_content("#balance-after") == "£37.50"
    await checked(page, f"gift-redeemed-{size}")

    # a discount redeemed by this member cannot be undone by a manager at the same counter
    await page.goto(f"{server}/staff/check?code={CODE}")
    await page.click("#redeem")
    await page.wait_for_selector("#confirmation")
    undo = await page.get_attribute("form[action='/staff/undo'] input[name=redemption]", "value")
    manager = await browser.new_context(viewport=SIZES[size], is_mobile=phone, has_touch=phone)
    other = await manager.new_page()
    await log_in(other, server, await another_member(database, tenant, Role.MANAGER))
    await other.wait_for_url(f"{server}/staff/")
    assert await other.locator("form[action='/staff/undo']").count() == 0  # no Undo offered
    # sent anyway (the form of the first member's page, with the manager's own token)
    await other.evaluate(
        """(redemption) => {
          const form = document.querySelector("form[action='/staff/logout']").cloneNode(true);
          form.action = "/staff/undo";
          const field = document.createElement("input");
          field.type = "hidden"; field.name = "redemption"; field.value = redemption;
          form.appendChild(field); document.body.appendChild(form); form.submit();
        }""",
        undo,
    )
    await other.wait_for_selector("#message")
    assert await other.text_content("h1") == "Not allowed for your login"
    await checked(other, f"role-refused-{size}")
    async with unit_of_work(database, write=False) as session:
        undone = await session.scalar(
            select(func.count()).select_from(Redemption).where(Redemption.rolled_back_at.is_not(None))
        )
    assert undone == 0
    await manager.close()
    await context.close()
