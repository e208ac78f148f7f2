"""The dashboard's door (both databases): its own login form, the first page for a manager or
owner, the 403 page for a counter login, CSRF on its forms, and the security headers."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign
from tests.web.dashboard.conftest import post
from tests.web.test_staff import PASSWORD, csrf_of, member
from voucherd.accounts.service import Role
from voucherd.db import Database


async def test_a_visitor_is_sent_to_the_dashboards_login_and_comes_back(
    database: Database, tenant: Tenant, api: httpx.AsyncClient
) -> None:
    who = await member(database, tenant, "olive@example.com", role=Role.OWNER)
    await make_campaign(database, tenant, name="Spring <b>sale</b>")
    away = await api.get("/dashboard/?page=2")
    assert away.status_code == 303
    assert away.headers["location"] == "/dashboard/login?next=/dashboard/%3Fpage%3D2"
    form = await api.get("/dashboard/login", params={"next": "/dashboard/"})
    assert form.status_code == 200
    assert 'action="/dashboard/login"' in form.text
    assert "unsafe-inline" not in form.headers["content-security-policy"]
    wrong = await api.post(
        "/dashboard/login",
        data={
            "csrf_token": csrf_of(form.text),
            "email": who.email,
            "password": "not it",
            "next": "/dashboard/",
        },
    )
    assert wrong.status_code == 401
    assert 'role="alert"' in wrong.text
    done = await api.post(
        "/dashboard/login",
        data={
            "csrf_token": csrf_of(form.text),
            "email": who.email,
            "password": PASSWORD,
            "next": "https://evil.example/",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/dashboard/"
    home = await api.get("/dashboard/")
    assert home.status_code == 200
    assert "Spring &lt;b&gt;sale&lt;/b&gt;" in home.text
    assert "<b>sale" not in home.text
    assert 'action="/dashboard/logout"' in home.text
    out = await post(api, "/dashboard/logout")
    assert out.status_code == 303
    assert out.headers["location"] == "/dashboard/login"
    assert (await api.get("/dashboard/")).status_code == 303


async def test_a_counter_login_gets_the_403_page_and_a_manager_the_dashboard(
    clerk: httpx.AsyncClient, manager: httpx.AsyncClient
) -> None:
    refused = await clerk.get("/dashboard/")
    assert refused.status_code == 403
    assert "A staff login may not use the dashboard" in refused.text
    assert (await manager.get("/dashboard/")).status_code == 200


async def test_a_form_without_its_token_changes_nothing(owner: httpx.AsyncClient) -> None:
    refused = await owner.post("/dashboard/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert "This form has expired" in refused.text
    assert (await owner.get("/dashboard/")).status_code == 200


async def test_static_files_stay_inside_their_folder(api: httpx.AsyncClient) -> None:
    assert (await api.get("/dashboard/static/dashboard.css")).status_code == 200
    assert (await api.get("/dashboard/static/common.css")).status_code == 200
    assert (await api.get("/dashboard/static/..%2F..%2Fapp.py")).status_code == 404
    assert (await api.get("/dashboard/nowhere")).status_code in {303, 404}


async def test_each_login_sees_links_only_to_the_pages_it_may_open(
    owner: httpx.AsyncClient, manager: httpx.AsyncClient, clerk: httpx.AsyncClient
) -> None:
    # an owner: every section, and the dashboard from the counter
    page = (await owner.get("/dashboard/")).text
    assert 'href="/dashboard/settings"' in page
    assert 'href="/dashboard/"' in (await owner.get("/staff/")).text
    # a manager: every section but settings
    page = (await manager.get("/dashboard/campaigns")).text
    assert 'href="/dashboard/coupons"' in page
    assert 'href="/dashboard/settings"' not in page
    assert 'href="/dashboard/"' in (await manager.get("/staff/")).text
    # a counter login: no dashboard link at the counter, and no sections on the 403 page
    assert 'href="/dashboard/"' not in (await clerk.get("/staff/")).text
    refused = await clerk.get("/dashboard/")
    assert refused.status_code == 403
    assert 'href="/dashboard/campaigns"' not in refused.text
