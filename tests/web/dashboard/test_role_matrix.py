"""The role matrix (RELIABILITY S14, issue 14): every route of the dashboard and the staff screen,
read from the applications' own route tables, for a visitor without a login and a login of each
role (STAFF, MANAGER, OWNER). A visitor is sent to the login form, a role below the route's least
role gets the 403 page, the others reach the handler; every POST without its CSRF token is
refused, and one write of each module is read back unchanged. A route added without its line in
``LEAST`` fails here. SQLite only: the guards do not depend on the database."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import add_codes, make_campaign
from tests.web.test_staff import PASSWORD, Member, csrf_of, log_in, member
from voucherd.accounts import service as accounts
from voucherd.accounts.sales_pages import find_page
from voucherd.accounts.service import Role
from voucherd.api.app import Host, create_app
from voucherd.config import get_settings
from voucherd.coupons import service as coupons
from voucherd.coupons.schemas import CouponInput
from voucherd.db import Database, unit_of_work
from voucherd.giftcards import catalog, shop
from voucherd.models import ApiKey, Campaign, Coupon, GiftOption, GiftOrder, Recipient, Redemption, Staff
from voucherd.vouchers import service as vouchers
from voucherd.web.dashboard.app import MOUNT as DASHBOARD
from voucherd.web.staff.app import MOUNT as STAFF_SCREEN
from voucherd.webhooks import service as webhooks
from voucherd.webhooks.schemas import EndpointInput

ANYONE = None  # a page for visitors too: the login form, the stylesheets
STAFF, MANAGER, OWNER = Role.STAFF, Role.MANAGER, Role.OWNER
ROLES = (STAFF, MANAGER, OWNER)  # lowest first: a route refuses a prefix of them

# Every route: its least role. The staff screen needs ``redeem`` (every role); the dashboard's
# login pages need a login; its pages ``Manager`` (manage) and settings ``Owner`` (administer).
LEAST: dict[str, Role | None] = {
    "GET /staff/static/common.css": ANYONE,
    "GET /staff/login": ANYONE,
    "POST /staff/login": ANYONE,
    "POST /staff/logout": STAFF,
    "GET /staff/password": STAFF,
    "POST /staff/password": STAFF,
    "GET /staff/static/{name}": ANYONE,
    "GET /staff/static/vendor/jsqr/jsQR.js": ANYONE,
    "GET /staff/": STAFF,
    "GET /staff/check": STAFF,
    "POST /staff/redeem": STAFF,
    "POST /staff/undo": STAFF,
    "GET /dashboard/static/common.css": ANYONE,
    "GET /dashboard/login": ANYONE,
    "POST /dashboard/login": ANYONE,
    "POST /dashboard/logout": STAFF,
    "GET /dashboard/password": STAFF,
    "POST /dashboard/password": STAFF,
    "GET /dashboard/static/{name:path}": ANYONE,
    "GET /dashboard/": MANAGER,
    "GET /dashboard/campaigns": MANAGER,
    "GET /dashboard/campaigns/new": MANAGER,
    "POST /dashboard/campaigns/new": MANAGER,
    "GET /dashboard/campaigns/new/pattern": MANAGER,
    "GET /dashboard/campaigns/{campaign_id}/edit": MANAGER,
    "POST /dashboard/campaigns/{campaign_id}/edit": MANAGER,
    "POST /dashboard/campaigns/{campaign_id}/pause": MANAGER,
    "POST /dashboard/campaigns/{campaign_id}/resume": MANAGER,
    "GET /dashboard/campaigns/{campaign_id}/generate": MANAGER,
    "POST /dashboard/campaigns/{campaign_id}/generate": MANAGER,
    "GET /dashboard/tasks": MANAGER,
    "GET /dashboard/tasks/{job_id}.json": MANAGER,
    "GET /dashboard/tasks/{job_id}": MANAGER,
    "GET /dashboard/campaigns/{campaign_id:uuid}": MANAGER,
    "GET /dashboard/campaigns/{campaign_id:uuid}/recipients/upload": MANAGER,
    "POST /dashboard/campaigns/{campaign_id:uuid}/recipients/upload": MANAGER,
    "POST /dashboard/campaigns/{campaign_id:uuid}/recipients/export": MANAGER,
    "GET /dashboard/gifts": MANAGER,
    "GET /dashboard/gifts/orders": MANAGER,
    "GET /dashboard/gifts/new": MANAGER,
    "POST /dashboard/gifts/new": MANAGER,
    "GET /dashboard/gifts/{number}": MANAGER,
    "POST /dashboard/gifts/{number}": MANAGER,
    "POST /dashboard/gifts/{number}/access": MANAGER,
    "GET /dashboard/gifts/{number}/sell": MANAGER,
    "POST /dashboard/gifts/{number}/sell": MANAGER,
    "GET /dashboard/gifts/orders/{number}": MANAGER,
    "POST /dashboard/gifts/orders/{number}/paid": MANAGER,
    "POST /dashboard/gifts/orders/{number}/refund": MANAGER,
    "POST /dashboard/gifts/orders/{number}/regenerate": MANAGER,
    "POST /dashboard/gifts/orders/{number}/top-up": MANAGER,
    "GET /dashboard/coupons": MANAGER,
    "GET /dashboard/coupons/new": MANAGER,
    "POST /dashboard/coupons/new": MANAGER,
    "GET /dashboard/coupons/{number}": MANAGER,
    "POST /dashboard/coupons/{number}": MANAGER,
    "POST /dashboard/coupons/{number}/delete": MANAGER,
    "GET /dashboard/settings": OWNER,
    "GET /dashboard/settings/keys": OWNER,
    "POST /dashboard/settings/keys": OWNER,
    "POST /dashboard/settings/keys/{key_id}/revoke": OWNER,
    "GET /dashboard/settings/keys/{key_id}/origins": OWNER,
    "POST /dashboard/settings/keys/{key_id}/origins": OWNER,
    "GET /dashboard/settings/webhooks": OWNER,
    "GET /dashboard/settings/webhooks/new": OWNER,
    "POST /dashboard/settings/webhooks": OWNER,
    "GET /dashboard/settings/webhooks/{endpoint_id}": OWNER,
    "POST /dashboard/settings/webhooks/{endpoint_id}": OWNER,
    "POST /dashboard/settings/webhooks/{endpoint_id}/delete": OWNER,
    "POST /dashboard/settings/webhooks/{endpoint_id}/rotate": OWNER,
    "POST /dashboard/settings/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver": OWNER,
    "GET /dashboard/settings/staff": OWNER,
    "POST /dashboard/settings/staff": OWNER,
    "GET /dashboard/settings/staff/{number}": OWNER,
    "POST /dashboard/settings/staff/{number}": OWNER,
    "POST /dashboard/settings/staff/{number}/remove": OWNER,
    "GET /dashboard/settings/pages": OWNER,
    "POST /dashboard/settings/pages": OWNER,
    "GET /dashboard/settings/pages/{number}": OWNER,
    "POST /dashboard/settings/pages/{number}": OWNER,
    "GET /dashboard/settings/business": OWNER,
    "POST /dashboard/settings/business": OWNER,
    "GET /dashboard/settings/branding": OWNER,
    "POST /dashboard/settings/branding/accent": OWNER,
    "POST /dashboard/settings/branding/logo": OWNER,
    "POST /dashboard/settings/branding/logo/remove": OWNER,
}
# What a login that may use a route gets there (made-up ids and empty forms: 404, 409, 422…).
REACHED = {200, 303, 400, 401, 404, 409, 422}
PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")
ATTEMPT = f"counter-{uuid.uuid4().hex}"
CODE = "MATRIX-K7Q2"
NEW_PASSWORD = "a-new-password-77"


def routes(app: FastAPI) -> list[str]:
    """``METHOD /mount/path`` of every route of the staff screen and the dashboard."""
    found = []
    for mount, sub_app in cast(Host, app).dialects:
        if mount not in {STAFF_SCREEN, DASHBOARD}:
            continue
        for context in iter_route_contexts(list(sub_app.routes)):
            assert context.path, f"{mount}: a route without a path: {context.original_route}"
            assert context.methods, f"{mount}{context.path}: a route without methods"
            found += [f"{method} {mount}{context.path}" for method in sorted(context.methods)]
    return found


def url_of(route: str, ids: dict[str, object]) -> str:
    """The route's path with each parameter filled from ``ids``, keyed by the path before it."""
    pattern = route.split(" ", 1)[1]

    def value(match: re.Match[str]) -> str:
        before = pattern[: match.start()]
        assert before in ids, f"{route}: no value for {{{match.group(1)}}}; add {before!r} to the ids"
        return str(ids[before])

    return PARAMETER.sub(value, pattern)


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "voucherd.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


class Login:
    """One browser: its client, its login (``None``: a visitor) and a CSRF token of its pages."""

    def __init__(self, client: httpx.AsyncClient, who: Member | None) -> None:
        self.client = client
        self.who = who
        self.token = ""

    @property
    def role(self) -> str:
        return "visitor" if self.who is None else self.who.email

    async def start(self) -> None:
        if self.who is not None:
            done = await log_in(self.client, self.who)
            assert done.status_code == 303, done.text
        page = await self.client.get("/staff/" if self.who else "/staff/login")
        self.token = csrf_of(page.text)

    async def send(
        self, route: str, url: str, data: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        if route.startswith("GET "):
            return await self.client.get(url)
        form = {"csrf_token": self.token} if data is None else data
        if data is None and route.endswith("/password"):
            form["new"] = "one"  # two new passwords that differ: refused before the slow hash check
        return await self.client.post(url, data=form, **kwargs)


@pytest.fixture
def app(database: Database, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    # Every login form POST counts against the limit per IP (ten a minute): the three logins, the
    # matrix's eight and the logins again after each logout all come from one address.
    monkeypatch.setenv("VOUCHERD_RATE_LIMIT_STAFF_LOGIN_PER_IP", "1000/minute")
    get_settings.cache_clear()
    return create_app(embedded_worker=False)


@pytest.fixture
async def logins(app: FastAPI, database: Database, tenant: Tenant) -> AsyncIterator[dict[Role | None, Login]]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    emails = {STAFF: "sam@example.com", MANAGER: "max@example.com", OWNER: "olive@example.com"}
    found: dict[Role | None, Login] = {}
    try:
        for role in (None, *ROLES):
            client = httpx.AsyncClient(transport=transport, base_url="http://voucherd.test")
            who = (
                None
                if role is None
                else await member(database, tenant, emails[role], role=role, page="the-shop")
            )
            found[role] = Login(client, who)
            await found[role].start()
        yield found
    finally:
        for login in found.values():
            await login.client.aclose()


async def seeded(database: Database, tenant: Tenant) -> dict[str, object]:
    """A real object behind each path parameter, so that a login that may use a page reaches its
    handler; a webhook delivery's id is made up (its handler answers 404)."""
    campaign = await make_campaign(database, tenant)
    await add_codes(database, tenant, campaign, [CODE])
    extra = await member(database, tenant, "extra@example.com", role=Role.STAFF, page="the-shop")
    async with unit_of_work(database) as session:
        job = await vouchers.enqueue_codes(session, tenant.principal, campaign, count=2)
        page = await find_page(session, tenant.client_id, "the-shop")
        product = await catalog.create_product(
            session,
            tenant.principal,
            catalog.ProductInput(
                sales_page="the-shop",
                type="fixed",
                title="Dinner for two",
                options=[catalog.OptionInput(sell_price=4500, description="Three courses", quantity=1)],
            ),
        )
        coupon = await coupons.create_coupon(
            session,
            tenant.principal,
            CouponInput(domain=page.number, title="Ten off", type="percent", amount=1000),
        )
        key = await accounts.create_api_key(session, tenant.client_id, name="matrix")
        endpoint = await webhooks.create_endpoint(
            session,
            tenant.principal,
            EndpointInput(
                name="Receiver",
                url="https://hooks.example.com/in",
                events=["*"],
                payload_format="vouchertrack",
            ),
        )
        staff_number = await session.scalar(select(Staff.number).where(Staff.email == extra.email))
    async with unit_of_work(database) as session:
        found = await shop.find_shop(session, "the-shop")
        assert found is not None
        option = await session.scalar(select(GiftOption.number))
        order = await shop.place_shop_order(
            session,
            found,
            product.product.number,
            shop.ShopOrder(option=option, buyer_name="Bob Buyer", buyer_email="bob@example.com"),
        )
    return {
        "/dashboard/campaigns/": campaign.id,
        "/dashboard/tasks/": job.id,
        "/dashboard/gifts/": product.product.number,
        "/dashboard/gifts/orders/": order.number,
        "/dashboard/coupons/": coupon.coupon.number,
        "/dashboard/settings/keys/": key.api_key.id,
        "/dashboard/settings/webhooks/": endpoint.endpoint.id,
        "/dashboard/settings/webhooks/{endpoint_id}/deliveries/": uuid.uuid4(),
        "/dashboard/settings/staff/": staff_number,
        "/dashboard/settings/pages/": page.number,
        "/dashboard/static/": "dashboard.css",
        "/staff/static/": "staff.css",
    }


async def state(database: Database) -> dict[str, object]:
    """What the forms sent without their token would have changed, one write of each module."""
    async with unit_of_work(database, write=False) as session:
        return {
            "campaigns": await session.scalar(select(Campaign.status).where(Campaign.name == "Summer Sale")),
            "recipients": await session.scalar(select(func.count()).select_from(Recipient)),
            "gift orders": await session.scalar(select(GiftOrder.status)),
            "coupons": await session.scalar(
                select(func.count()).select_from(Coupon).join(Campaign).where(Campaign.deleted_at.is_(None))
            ),
            "keys": await session.scalar(select(ApiKey.revoked_at).where(ApiKey.name == "matrix")),
            "passwords": await session.scalar(
                select(Staff.password_hash).where(Staff.email == "olive@example.com")
            ),
            "redemptions": await session.scalar(select(func.count()).select_from(Redemption)),
        }


# The representative writes: a whole, good form each (sent without its token).
GOOD_FORMS: dict[str, dict[str, Any]] = {
    "POST /dashboard/campaigns/{campaign_id}/pause": {"data": {}},
    "POST /dashboard/campaigns/{campaign_id:uuid}/recipients/upload": {
        "data": {"step": "import"},
        "files": {"file": ("list.csv", b"email\nann@example.com\n", "text/csv")},
    },
    "POST /dashboard/gifts/orders/{number}/paid": {"data": {"method": "Cash", "reference": "TILL-1"}},
    "POST /dashboard/coupons/{number}/delete": {"data": {}},
    "POST /dashboard/settings/keys/{key_id}/revoke": {"data": {}},
    "POST /dashboard/password": {"data": {"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}},
    "POST /staff/redeem": {"data": {"code": CODE, "attempt": ATTEMPT, "amount": "50"}},
}


async def test_every_route_of_the_dashboard_and_the_staff_screen_admits_exactly_its_roles(
    app: FastAPI, database: Database, tenant: Tenant, logins: dict[Role | None, Login]
) -> None:
    found = routes(app)
    assert len(found) == len(set(found))
    missing = [route for route in found if route not in LEAST]
    assert not missing, f"routes without their least role in LEAST: {missing}"
    assert not set(LEAST) - set(found), f"LEAST names routes that are gone: {set(LEAST) - set(found)}"
    ids = await seeded(database, tenant)
    owner = logins[OWNER]
    problems: list[str] = []

    # Without its CSRF token every POST is refused, even an owner's, and changes nothing.
    before = await state(database)
    for route in (route for route in found if route.startswith("POST ")):
        sent = GOOD_FORMS.get(route, {"data": {}})
        refused = await owner.send(route, url_of(route, ids), **sent)
        if refused.status_code != 403 or "This form has expired" not in refused.text:
            problems.append(f"{route} without its token: {refused.status_code}")
    assert not set(GOOD_FORMS) - set(found)
    assert await state(database) == before

    # Each route for a visitor and each role; the logouts last (they end the login).
    ordered = sorted(found, key=lambda route: route.endswith("/logout"))
    for route in ordered:
        url = url_of(route, ids)
        mount = STAFF_SCREEN if url.startswith(STAFF_SCREEN + "/") else DASHBOARD
        least = LEAST[route]
        for role, login in logins.items():
            answer = await login.send(route, url)
            location = answer.headers.get("location", "")
            to_login = answer.status_code == 303 and location.startswith(f"{mount}/login?next=")
            if least is not ANYONE and role is None:
                if not (to_login and location == f"{mount}/login?next={quote(url)}"):
                    problems.append(f"{route} visitor: {answer.status_code} {location}, not the login")
            elif least is not ANYONE and role is not None and ROLES.index(role) < ROLES.index(least):
                if answer.status_code != 403 or "Not allowed for your login" not in answer.text:
                    problems.append(f"{route} {login.role}: {answer.status_code}, not the 403 page")
            elif answer.status_code not in REACHED or to_login:
                problems.append(f"{route} {login.role}: {answer.status_code} {location}, not reached")
            if route.endswith("/logout") and role is not None and route != ordered[-1]:
                await login.start()  # logged out: in again for the next mount's logout
    assert not problems, "\n".join(problems)
