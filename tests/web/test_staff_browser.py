"""The staff screen in headless Chromium (Debian's, driven by Playwright) against a real
``voucherd serve``, on a 390x844 phone and a 1280x800 desktop: login, check, double-tap redeem,
undo, refusals, a QR code scanned through Chromium's fake camera. Every page is checked by
axe-core (vendored, tests/web/vendor) for serious or critical WCAG violations, and saved as a
screenshot under build/screenshots/ (git-ignored) for a person to look at."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import add_codes, make_campaign
from tests.web import test_browser
from voucherd.accounts import staff
from voucherd.core import qr
from voucherd.db import Database, unit_of_work
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
    email = f"sam-{uuid.uuid4().hex[:6]}@example.com"
    async with unit_of_work(database) as session:
        await staff.create_sales_page(session, tenant.client_id, "the-counter")
        await staff.create_staff(
            session,
            tenant.client_id,
            staff.StaffInput(email=email, password=PASSWORD, full_name="Sam Counter", pages=["the-counter"]),
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
