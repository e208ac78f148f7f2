"""What the dashboard's tests share: logins of each role over the app (``owner``, ``manager``,
``clerk``: a logged-in ``httpx`` client each), ``post()`` sending a form with its CSRF token, and,
for the browser tests, ``checked()`` (axe-core and a screenshot) from the staff screen's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.web import test_browser
from tests.web.test_staff import PASSWORD, Member, csrf_of, log_in, member
from tests.web.test_staff_browser import AXE, AXE_RUN, SCREENSHOTS, SIZES, browser
from voucherd.accounts.service import Role
from voucherd.api.app import create_app
from voucherd.db import Database


async def logged_in(
    database: Database, tenant: Tenant, role: Role, email: str
) -> AsyncIterator[httpx.AsyncClient]:
    who: Member = await member(database, tenant, email, role=role, page="the-shop")
    transport = httpx.ASGITransport(app=create_app(embedded_worker=False), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test") as client:
        done = await log_in(client, who)
        assert done.status_code == 303, done.text
        yield client


@pytest.fixture
async def owner(database: Database, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    async for client in logged_in(database, tenant, Role.OWNER, "olive@example.com"):
        yield client


@pytest.fixture
async def manager(database: Database, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    async for client in logged_in(database, tenant, Role.MANAGER, "max@example.com"):
        yield client


@pytest.fixture
async def clerk(database: Database, tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    async for client in logged_in(database, tenant, Role.STAFF, "sam@example.com"):
        yield client


async def post(
    client: httpx.AsyncClient,
    url: str,
    data: dict[str, str] | None = None,
    *,
    form_page: str | None = None,
    **kwargs: object,
) -> httpx.Response:
    """POST a form as a browser would: with the CSRF token of the page it is on (``form_page``,
    by default the dashboard's first page)."""
    page = await client.get(form_page or "/dashboard/")
    return await client.post(url, data={"csrf_token": csrf_of(page.text), **(data or {})}, **kwargs)  # type: ignore[arg-type]


# The browser tests: a real ``voucherd serve`` (``server``), Debian's Chromium (``browser``), the
# two sizes every page is judged at (``SIZES``: phone, desktop).
server = test_browser.server
__all__ = ["SIZES", "browser", "server"]


async def checked(page: Any, name: str) -> None:
    """axe-core finds no serious or critical WCAG 2.2 A/AA violation; the page is saved as
    ``build/screenshots/dashboard-{name}.png`` for a person to look at."""
    await page.evaluate(AXE)
    violations = await page.evaluate(AXE_RUN)
    assert violations == [], f"{name}: {violations}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"), full_page=True)


async def browser_log_in(page: Any, server: str, email: str, password: str = PASSWORD) -> None:
    """Log in on the dashboard's own form (a member of one sales page leaves it empty)."""
    await page.goto(f"{server}/dashboard/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{server}/dashboard/")
