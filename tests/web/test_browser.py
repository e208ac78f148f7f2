"""The public pages in headless Chromium (Debian's, driven by Playwright), on a phone-sized
screen, against a real ``voucherd serve`` process over the test database."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign
from voucherd.accounts import staff
from voucherd.db import Database, unit_of_work
from voucherd.giftcards import catalog, orders
from voucherd.models import Campaign, Event

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("VOUCHERD_CHROMIUM", "/usr/bin/chromium")
VOUCHERD = [str(Path(sys.executable).parent / "voucherd")]
PHONE = {"width": 390, "height": 844}
XSS = ['<script>alert("x")</script>', '<img src=x onerror=alert("x")>', '"><svg onload=alert("x")>']


def _chromium() -> str:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing; `make setup` installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is missing (make setup installs it)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "VOUCHERD_DATABASE_URL": db_url,
        "VOUCHERD_PUBLIC_URL": base,
        "VOUCHERD_EMBEDDED_WORKER": "false",
    }
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen([*VOUCHERD, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "voucherd serve did not start"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    executable = _chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


async def test_claim_on_a_phone_then_a_friend_claims_through_the_share_link(
    server: str, browser: object, database: Database, tenant: Tenant
) -> None:
    # given a campaign with a landing page whose texts try to inject scripts (RELIABILITY S11)
    campaign = await make_campaign(
        database, tenant, name=f"Summer {XSS[0]}", discount_description=f"10% {XSS[1]}"
    )
    async with unit_of_work(database) as session:
        row = await session.get(Campaign, campaign.id)
        assert row is not None
        row.landing_slug = "summer"
        row.terms = " ".join(XSS)
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    # when a visitor claims the offer on their phone
    await page.goto(f"{server}/c/summer")
    await page.fill("#name", "Ada Lovelace")
    await page.fill("#email", "ada@example.com")
    await page.check("#consent")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{server}/redeem/**")

    # then they see their voucher: large code, a QR code that loaded, its state, nothing overflowing
    code = (await page.text_content("#code") or "").strip()
    assert page.url == f"{server}/redeem/{code}"
    assert await page.text_content("#state") == "Valid"
    assert await page.eval_on_selector("img.qr", "img => img.complete && img.naturalWidth > 100")
    font_size = await page.eval_on_selector("#code", "el => parseFloat(getComputedStyle(el).fontSize)")
    assert font_size >= 25
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert XSS[0] in (await page.text_content("#terms") or "")  # shown as text, not run
    share = await page.input_value("#share")

    # and a friend who opens the share link claims their own code
    friend = await (await browser.new_context(viewport=PHONE, is_mobile=True)).new_page()  # type: ignore[attr-defined]
    friend.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await friend.goto(share)
    await friend.fill("#name", "Grace Hopper")
    await friend.fill("#email", "grace@example.com")
    await friend.check("#consent")
    await friend.click("button[type=submit]")
    await friend.wait_for_url(f"{server}/redeem/**")
    friend_code = (await friend.text_content("#code") or "").strip()
    assert friend_code not in ("", code)

    # a second claim with the same email is refused without showing the code
    await friend.goto(f"{server}/c/summer")
    await friend.fill("#name", "Grace Again")
    await friend.fill("#email", "grace@example.com")
    await friend.check("#consent")
    await friend.click("button[type=submit]")
    assert "already claimed" in (await friend.text_content("#error") or "")
    assert friend_code not in await friend.content()

    assert dialogs == []  # no injected script ran anywhere
    async with unit_of_work(database, write=False) as session:
        kinds = sorted(
            (
                await session.scalars(
                    select(Event.type).where(Event.type.in_(["lead.captured", "referral.converted"]))
                )
            ).all()
        )
    assert kinds == ["lead.captured", "lead.captured", "referral.converted"]


async def test_unknown_code_page_in_the_browser(server: str, browser: object) -> None:
    page = await (await browser.new_context(viewport=PHONE)).new_page()  # type: ignore[attr-defined]
    response = await page.goto(f"{server}/redeem/NOPE-123456")
    assert response is not None
    assert response.status == 404
    assert await page.text_content("h1") == "Voucher not found"


async def test_gift_card_page_on_a_phone(
    server: str, browser: object, database: Database, tenant: Tenant
) -> None:
    # a gift card whose product texts try to inject scripts (RELIABILITY S11)
    async with unit_of_work(database) as session:
        shop = await staff.create_sales_page(session, tenant.client_id, "gift-shop")
        product = await catalog.create_product(
            session,
            tenant.principal,
            catalog.ProductInput(
                sales_page=shop.number, type="monetary", title=f"Gift card {XSS[1]}", terms=" ".join(XSS)
            ),
        )
        placed = await orders.place_order(
            session,
            tenant.principal,
            orders.OrderInput(
                product=product.product.number,
                monetary_amount=2500,
                payments=[orders.Payment(amount=2500, currency="GBP")],
            ),
        )
        code = placed.cards[0].code
    dialogs: list[str] = []
    page = await (await browser.new_context(viewport=PHONE, is_mobile=True)).new_page()  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    response = await page.goto(f"{server}/redeem/{code}")
    assert response is not None
    assert response.status == 200
    assert (await page.text_content("#code") or "").strip() == code
    assert await page.text_content("#state") == "Valid"
    assert await page.text_content("#remaining") == "£25.00 left"
    assert await page.eval_on_selector("img.qr", "img => img.complete && img.naturalWidth > 100")
    # the whole code on one line, nothing overflowing the phone's width
    lines = await page.eval_on_selector(
        "#code",
        "el => Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight))",
    )
    assert lines == 1
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert XSS[0] in (await page.text_content("#terms") or "")
    assert dialogs == []
