"""The dashboard's coupons over HTTP (both databases): create, edit and delete through the coupon
service (a bought code follows its coupon), bad input that changes nothing, the role matrix,
CSRF, and client text shown escaped."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.web.dashboard.conftest import post
from tests.web.test_staff import csrf_of
from voucherd.accounts.sales_pages import find_page
from voucherd.coupons import service as coupons
from voucherd.coupons.schemas import CouponInput, PurchaseInput
from voucherd.db import Database, unit_of_work
from voucherd.models import Campaign, Coupon

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def _form(**changes: str) -> dict[str, str]:
    return {
        "title": "Ten percent off",
        "type": "percent",
        "amount": "10",
        "description": "",
        "terms": "",
        "expiry_type": "",
        "expiry_period": "",
        "expiry_interval": "months",
        "date_from": "",
        "date_to": "",
        **changes,
    }


def _number(location: str) -> int:
    found = re.search(r"/coupons/(\d+)\?done=", location)
    assert found is not None, location
    return int(found.group(1))


async def _coupons(database: Database) -> list[tuple[str, str, int, str | None]]:
    async with unit_of_work(database, write=False) as session:
        rows = await session.execute(
            select(Campaign.name, Campaign.discount_type, Campaign.discount_value, Coupon.expiry_type)
            .join(Coupon, Coupon.campaign_id == Campaign.id)
            .where(Campaign.deleted_at.is_(None))
            .order_by(Coupon.number)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_a_manager_creates_edits_and_deletes_a_coupon(
    manager: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    empty = await manager.get("/dashboard/coupons")
    assert empty.status_code == 200
    assert "No coupon yet" in empty.text
    assert 'aria-current="page">Coupons' in empty.text
    # when a manager creates a 7.5% coupon with client-set text
    made = await post(
        manager,
        "/dashboard/coupons/new",
        _form(title=f"Spring {SCRIPT}", amount="7.5", terms=IMG, expiry_type="period", expiry_period="3"),
    )
    # then it is a coupon of 750 basis points, shown escaped
    assert made.status_code == 303, made.text
    number = _number(made.headers["location"])
    assert await _coupons(database) == [(f"Spring {SCRIPT}", "percentage", 750, "period")]
    page = await manager.get(made.headers["location"])
    assert "The coupon was created." in page.text
    assert "Spring &lt;script&gt;" in page.text
    assert SCRIPT not in page.text
    assert "<img src=x" not in page.text
    assert 'value="7.5"' in page.text
    listed = await manager.get("/dashboard/coupons")
    assert "7.5% off" in listed.text
    assert "3 months after purchase" in listed.text
    assert SCRIPT not in listed.text
    # and a code bought from it follows its edit
    async with unit_of_work(database) as session:
        bought = await coupons.purchase(session, tenant.principal, number, PurchaseInput())

    saved = await post(
        manager,
        f"/dashboard/coupons/{number}",
        _form(title="Five pounds off", type="fixed", amount="5", expiry_type="time", date_to="2030-12-31"),
    )

    assert saved.status_code == 303, saved.text
    assert await _coupons(database) == [("Five pounds off", "fixed", 500, "time")]
    shown = await manager.get(saved.headers["location"])
    assert 'value="2030-12-31"' in shown.text
    assert "£5.00 off" in (await manager.get("/dashboard/coupons")).text
    async with unit_of_work(database, write=False) as session:
        status = await coupons.discount_status(session, tenant.principal, bought.code)
    assert status.coupon.campaign.discount_value == 500

    # when it is deleted, after a confirm step, it is gone and its codes with it
    assert 'data-confirm="Delete the coupon Five pounds off?' in shown.text
    deleted = await post(manager, f"/dashboard/coupons/{number}/delete")
    assert deleted.status_code == 303
    assert await _coupons(database) == []
    assert "The coupon was deleted" in (await manager.get(deleted.headers["location"])).text
    assert (await manager.get(f"/dashboard/coupons/{number}")).status_code == 404


async def test_bad_input_shows_its_message_beside_the_field_and_changes_nothing(
    manager: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    for changes, field in (
        ({"amount": "-5", "type": "fixed"}, "amount"),
        ({"amount": "150"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"title": " "}, "title"),
        ({"type": "bogus"}, "type"),
        ({"expiry_type": "period", "expiry_period": "x"}, "expiry_period"),
        ({"expiry_type": "time", "date_from": "2030-02-01", "date_to": "2030-01-01"}, "date_to"),
    ):
        refused = await post(manager, "/dashboard/coupons/new", _form(**changes))
        assert refused.status_code == 422, changes
        assert f'id="{field}-error"' in refused.text, (changes, refused.text)
    assert await _coupons(database) == []
    async with unit_of_work(database) as session:
        page = await find_page(session, tenant.client_id, "the-shop")
        made = await coupons.create_coupon(
            session,
            tenant.principal,
            CouponInput(domain=page.number, title="Kept", type="percent", amount=1000),
        )
    number = made.coupon.number
    refused = await post(manager, f"/dashboard/coupons/{number}", _form(title="Changed", amount="0"))
    assert refused.status_code == 422
    assert 'id="amount-error"' in refused.text
    assert await _coupons(database) == [("Kept", "percentage", 1000, None)]


async def test_a_counter_login_is_refused_and_a_form_without_its_token_changes_nothing(
    clerk: httpx.AsyncClient, owner: httpx.AsyncClient, database: Database
) -> None:
    for url in ("/dashboard/coupons", "/dashboard/coupons/new"):
        assert (await clerk.get(url)).status_code == 403
    token = csrf_of((await clerk.get("/staff/")).text)
    refused = await clerk.post("/dashboard/coupons/new", data={"csrf_token": token, **_form()})
    assert refused.status_code == 403
    forged = await owner.post("/dashboard/coupons/new", data={"csrf_token": "forged", **_form()})
    assert forged.status_code == 403
    assert await _coupons(database) == []
    assert (await post(owner, "/dashboard/coupons/new", _form())).status_code == 303
    async with unit_of_work(database, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Coupon)) == 1
