"""RELIABILITY S11 in headless Chromium (Debian's) against a real ``voucherd serve``: the 50
payloads of ``tests/fixtures/xss.py`` in every text a client can set (seeded through the
services), and every page that shows those texts opened in one logged-in browser page. On each
page no dialog opens, no element or attribute the payloads would make exists, and a payload is
shown as text; each kind of page (dashboard, staff, shop, public) sends a Content-Security-Policy
whose scripts may not be inline."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Tenant, make_tenant
from tests.fixtures.factories import add_delivery, make_codes
from tests.fixtures.xss import INJECTED, PAYLOADS
from tests.web.dashboard.conftest import browser_log_in
from tests.web.test_browser import browser, server  # noqa: F401 (fixtures)
from tests.web.test_staff import PASSWORD
from voucherd.accounts import branding, staff
from voucherd.accounts import service as accounts
from voucherd.accounts.service import Role
from voucherd.campaigns import service as campaigns
from voucherd.campaigns.rules import DiscountType
from voucherd.campaigns.schemas import CampaignInput
from voucherd.core.money import Amount
from voucherd.coupons import service as coupons
from voucherd.coupons.schemas import CouponInput
from voucherd.customers.schemas import CustomerInput
from voucherd.db import Database, unit_of_work
from voucherd.giftcards import catalog, orders
from voucherd.publications import service as publications
from voucherd.publications.schemas import CustomerRef, PublishInput
from voucherd.vouchers import service as vouchers
from voucherd.webhooks import service as webhooks
from voucherd.webhooks.schemas import EndpointInput

pytestmark = pytest.mark.browser

# Every payload, for the fields that hold 5,000 characters or more (terms, descriptions).
ALL = " ".join(PAYLOADS)
# An address email-validator takes (no < or > can be in one) that would break out of a quoted
# attribute and focus itself if a page put it between single quotes unescaped.
EMAIL = "x'autofocus/onfocus=alert`1`/'@example.com"
SHOP = "xss-shop"
DESKTOP = {"width": 1280, "height": 800}


def fitting(limit: int, start: int, prefix: str = "") -> str:
    """``prefix``, then the payloads from number ``start`` on (round the list), joined by spaces,
    as many as fit in ``limit`` characters; one longer than the room left is passed over."""
    text = prefix
    for index in range(start, start + len(PAYLOADS)):
        payload = PAYLOADS[index % len(PAYLOADS)]
        joined = f"{text} {payload}" if text else payload
        if len(joined) <= limit:
            text = joined
    return text


@dataclass
class Seeded:
    tenant: Tenant
    owner: str
    campaign: uuid.UUID
    code: str
    product: int
    order: int
    gift_code: str
    coupon: int
    key: uuid.UUID
    publishable: uuid.UUID
    job: uuid.UUID
    endpoint: uuid.UUID
    member: int


async def seed(database: Database) -> Seeded:
    """Every text a client can set, each carrying payloads, through the services."""
    business = fitting(200, 0, "Café")  # on every page: the bar, the brand band, the shop
    tenant = await make_tenant(database, business)
    principal = tenant.principal
    async with unit_of_work(database) as session:
        await branding.set_accent(session, principal, "#7a1f5c")  # the brand band shows the name
        page = await staff.create_sales_page(session, tenant.client_id, SHOP)
        owner = "olive@example.com"
        await staff.create_staff(
            session,
            tenant.client_id,
            staff.StaffInput(owner, PASSWORD, fitting(200, 5, "Olive"), Role.OWNER, [SHOP]),
        )
        invited = await staff.create_staff(
            session,
            tenant.client_id,
            staff.StaffInput(EMAIL, PASSWORD, fitting(200, 10, "Sam"), Role.STAFF, [SHOP]),
        )
        campaign = await campaigns.create_campaign(
            session,
            principal,
            CampaignInput(
                name=fitting(200, 15, "Summer"),
                discount_type=DiscountType.PERCENTAGE,
                discount_value=Amount.major(20),
                discount_description=fitting(500, 20, "20% off"),
                landing_slug="xss",
                terms=ALL,
            ),
        )
    [code] = await make_codes(database, tenant, campaign, 1)
    async with unit_of_work(database) as session:  # more than are made at once: a background task
        generation = await vouchers.generate_vouchers(session, principal, campaign.id, count=1001)
    assert generation.job is not None
    async with unit_of_work(database) as session:
        await publications.publish(
            session,
            principal,
            PublishInput(
                customer=CustomerRef(data=CustomerInput(email=EMAIL, name=fitting(200, 25, "Ann"))),
                code=code,
                channel=fitting(100, 30),
            ),
        )
        product = await catalog.create_product(
            session,
            principal,
            catalog.ProductInput(
                sales_page=SHOP,
                type="fixed",
                title=fitting(200, 35, "Dinner"),
                description=ALL,
                terms=ALL,
                options=[
                    catalog.OptionInput(sell_price=4500, description=fitting(500, start))
                    for start in range(0, 50, 10)
                ],
                delivery=[catalog.DeliveryInput(type="electronic", title=fitting(200, 40, "By email"))],
                # a web address (the service refuses javascript: ones) carrying a payload
                image=f"https://pictures.example/{PAYLOADS[47]}",
            ),
        )
        placed = await orders.place_order(
            session,
            principal,
            orders.OrderInput(
                product=product.product.number,
                option=product.options[0].number,
                payments=[
                    orders.Payment(
                        amount=4500,
                        currency="GBP",
                        title=fitting(200, 45, "Cash"),
                        metadata={"reference": fitting(200, 2)},
                    )
                ],
                buyer_name=fitting(200, 7, "Bob"),
                buyer_email=EMAIL,
                recipient_name=fitting(200, 12, "Cy"),
                recipient_email="cy@example.com",
                recipient_message=fitting(2000, 17),
            ),
        )
        coupon = await coupons.create_coupon(
            session,
            principal,
            CouponInput(
                domain=page.number,
                title=fitting(200, 22, "Ten off"),
                type="percent",
                amount=10,
                terms=ALL,
                description=ALL,
            ),
        )
        key = await accounts.create_key(session, principal, name=fitting(200, 27, "Till"))
        publishable = await accounts.create_key(
            session,
            principal,
            name=fitting(200, 32, "Web shop"),
            publishable=True,
            allowed_origins=["https://shop.example"],
        )
        endpoint = await webhooks.create_endpoint(
            session,
            principal,
            EndpointInput(
                name=fitting(200, 37, "Till"),
                url="https://hooks.example.com/in?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
                events=["*"],
            ),
        )
        # A delivery with an attempt whose error carries payloads (as a receiver's answer might).
        await add_delivery(
            session,
            tenant.client_id,
            endpoint.endpoint.id,
            response_code=500,
            error=fitting(500, 42, "The receiver answered"),
        )
    return Seeded(
        tenant=tenant,
        owner=owner,
        campaign=campaign.id,
        code=code,
        product=product.product.number,
        order=placed.order.number,
        gift_code=placed.cards[0].code,
        coupon=coupon.coupon.number,
        key=key.api_key.id,
        publishable=publishable.api_key.id,
        job=generation.job.id,
        endpoint=endpoint.endpoint.id,
        member=invited.number,
    )


def recipients_file() -> dict[str, Any]:
    """A CSV whose every line is refused (its emails are payloads), with payloads in every cell,
    a column name and the file's name."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["email", "forename", PAYLOADS[30]])
    for start in range(0, 50, 5):
        writer.writerow([fitting(100, start), fitting(100, start + 1), fitting(200, start + 2)])
    return {"name": f"{PAYLOADS[47]}.csv", "mimeType": "text/csv", "buffer": text.getvalue().encode()}


def script_sources(policy: str) -> list[str]:
    """What the policy lets scripts come from: ``script-src``, or ``default-src`` without one."""
    directives = {
        name: sources for name, *sources in (part.split() for part in policy.split(";") if part.strip())
    }
    return directives.get("script-src", directives.get("default-src", ["*"]))


class Visits:
    """One browser page reused for every visit, with its dialogs counted and dismissed."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.dialogs: list[str] = []
        self.texts: list[str] = []  # each page's text and form values, for the coverage check
        page.on("dialog", self._dialog)

    async def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{self.page.url}: {dialog.message}")
        await dialog.dismiss()

    async def check(self, name: str, shown_in: str = "main") -> None:
        """The page now shown: no dialog, nothing injected, a payload visible as text."""
        page = self.page
        assert self.dialogs == [], name
        injected = await page.evaluate(INJECTED)
        assert injected == [], f"{name}: {injected}"
        visible = await page.locator(shown_in).inner_text()
        assert any(payload in visible for payload in PAYLOADS), f"{name} shows no payload: {visible[:300]}"
        self.texts.append(
            await page.evaluate(
                """() => [document.documentElement.textContent,
                  ...Array.from(document.querySelectorAll("input, textarea"), field => field.value)]
                  .join("\\n")"""
            )
        )

    async def visit(self, name: str, path: str, *, shown_in: str = "main") -> Any:
        response = await self.page.goto(f"{self.base}{path}")
        assert response is not None
        assert response.status == 200, f"{name}: {response.status}"
        await self.check(name, shown_in)
        return response


def no_inline_scripts(response: Any) -> None:
    policy = response.headers.get("content-security-policy", "")
    sources = script_sources(policy)
    assert "'unsafe-inline'" not in sources, policy
    assert "*" not in sources, policy


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_no_payload_runs_or_injects_on_any_page(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    database: Database,
) -> None:
    seeded = await seed(database)
    context = await browser.new_context(viewport=DESKTOP)
    visits = Visits(await context.new_page(), server)
    await browser_log_in(visits.page, server, seeded.owner)
    campaign, product, order = seeded.campaign, seeded.product, seeded.order

    # the dashboard
    no_inline_scripts(await visits.visit("home", "/dashboard/"))
    await visits.visit("campaigns", "/dashboard/campaigns")
    await visits.visit("code look-up", f"/dashboard/campaigns?code={seeded.code}")
    await visits.visit("campaign", f"/dashboard/campaigns/{campaign}")
    await visits.visit("campaign edit", f"/dashboard/campaigns/{campaign}/edit")
    await visits.visit("tasks", "/dashboard/tasks")
    await visits.visit("task", f"/dashboard/tasks/{seeded.job}")
    # a recipients file whose names, cells and column names carry payloads: its problems listed
    await visits.visit("upload", f"/dashboard/campaigns/{campaign}/recipients/upload")
    await visits.page.set_input_files("#file", files=[recipients_file()])
    await visits.page.click("text=Check the file")
    await visits.page.wait_for_selector("#problems-table")
    await visits.check("upload problems")
    await visits.visit("gift catalog", "/dashboard/gifts")
    await visits.visit("gift voucher", f"/dashboard/gifts/{product}")
    await visits.visit("gift sale", f"/dashboard/gifts/{product}/sell")
    await visits.visit("orders", "/dashboard/gifts/orders")
    await visits.visit("order", f"/dashboard/gifts/orders/{order}")
    await visits.visit("coupons", "/dashboard/coupons")
    await visits.visit("coupon", f"/dashboard/coupons/{seeded.coupon}")
    await visits.visit("keys", "/dashboard/settings/keys")
    await visits.visit("key origins", f"/dashboard/settings/keys/{seeded.publishable}/origins")
    await visits.visit("webhooks", "/dashboard/settings/webhooks")
    await visits.visit("webhook", f"/dashboard/settings/webhooks/{seeded.endpoint}")
    await visits.visit("staff", "/dashboard/settings/staff")
    await visits.visit("member", f"/dashboard/settings/staff/{seeded.member}")
    # sales page names are a-z, 0-9 and hyphens: the business's name in the bar is their text
    await visits.visit("sales pages", "/dashboard/settings/pages", shown_in="body")
    await visits.visit("branding", "/dashboard/settings/branding")

    # the staff screen, a code and a gift card checked
    no_inline_scripts(await visits.visit("staff check", f"/staff/check?code={seeded.code}"))
    await visits.page.click("#redeem")  # then the counter lists it with the member's name
    await visits.page.wait_for_selector("#done-code")
    await visits.check("counter")
    await visits.visit("staff gift check", f"/staff/check?code={seeded.gift_code}")

    # the shop, a voucher with its purchase form, the form sent back with its problems, the order
    no_inline_scripts(await visits.visit("shop", f"/shop/{SHOP}/"))
    await visits.visit("shop voucher", f"/shop/{SHOP}/vouchers/{product}")
    page = visits.page
    await page.fill("#buyer_name", PAYLOADS[0])
    await page.fill("#buyer_email", PAYLOADS[1])
    await page.fill("#recipient_name", PAYLOADS[48])
    await page.fill("#message", ALL[:1000])
    await page.click("button[type=submit]")
    await page.wait_for_selector("#error-summary")
    await visits.check("shop form refused")
    assert await page.input_value("#buyer_name") == PAYLOADS[0]  # kept as typed, as text
    await page.fill("#buyer_email", "bob@example.com")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{server}/shop/{SHOP}/orders/**")
    await visits.check("shop order")

    # the public pages: the voucher, the gift card and the landing page
    no_inline_scripts(await visits.visit("voucher", f"/redeem/{seeded.code}"))
    await visits.visit("gift card", f"/redeem/{seeded.gift_code}")
    await visits.visit("landing page", "/c/xss")

    # every payload was on some page, as text
    shown = "\n".join(visits.texts)
    missing = [index for index, payload in enumerate(PAYLOADS) if payload not in shown]
    assert missing == []
    assert visits.dialogs == []
    await context.close()
