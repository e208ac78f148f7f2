"""The coupon service on both databases: a coupon is a campaign, a discount one of its codes with
its own end of validity, which every reader of a code's validity uses."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from voucherd.accounts import staff
from voucherd.accounts.service import Principal, Role
from voucherd.core import clock
from voucherd.core.errors import PermissionDenied
from voucherd.coupons import service as coupons
from voucherd.coupons.errors import CouponNotFound, DiscountNotFound
from voucherd.coupons.schemas import CouponInput, ExpiryInput, PurchaseInput, RecipientInput
from voucherd.db import Database, unit_of_work
from voucherd.models import Campaign, Coupon, Discount, Event, Voucher
from voucherd.vouchers import service as vouchers

SEASON_SALE = CouponInput(
    domain=0,
    title="Season sale 25%",
    type="percent",
    amount=2500,
    terms="Not with other offers.",
    expiry=ExpiryInput(type="period", interval="days", period=5),
)


async def _page(database: Database, tenant: Tenant) -> int:
    async with unit_of_work(database) as session:
        return (await staff.create_sales_page(session, tenant.client_id, "the-shop")).number


async def test_a_coupon_is_a_campaign_and_a_discount_one_of_its_codes(
    database: Database, tenant: Tenant
) -> None:
    domain = await _page(database, tenant)
    async with unit_of_work(database) as session:
        view = await coupons.create_coupon(
            session, tenant.principal, CouponInput(**{**SEASON_SALE.__dict__, "domain": domain})
        )
    campaign = view.campaign
    assert (campaign.name, campaign.discount_type, campaign.discount_value) == (
        "Season sale 25%",
        "percentage",
        2500,
    )
    assert (campaign.terms, campaign.uses_per_voucher, campaign.currency) == (
        "Not with other offers.",
        1,
        "GBP",
    )
    assert (campaign.valid_from, campaign.valid_until) == (None, None)  # each code has its own end
    with clock.frozen(datetime(2026, 3, 1, 15, tzinfo=UTC)):
        async with unit_of_work(database) as session:
            bought = await coupons.purchase(
                session,
                tenant.principal,
                view.coupon.number,
                PurchaseInput(recipients=[RecipientInput(email="Ann@Example.com ")]),
            )
    assert bought.recipients == [{"email": "Ann@example.com", "label": None}]
    assert bought.valid_until == datetime(2026, 3, 6, 23, 59, 59, 999999, tzinfo=UTC)  # for its mail
    async with unit_of_work(database, write=False) as session:
        voucher = await session.scalar(select(Voucher))
        discount = await session.scalar(select(Discount))
        assert voucher is not None
        assert discount is not None
        assert (voucher.code, voucher.campaign_id, discount.voucher_id) == (
            bought.code,
            campaign.id,
            voucher.id,
        )
        assert voucher.valid_until == datetime(2026, 3, 6, 23, 59, 59, 999999, tzinfo=UTC)
        details = await vouchers.get_voucher(session, tenant.principal, bought.code)
    assert details.valid_until == voucher.valid_until
    with clock.frozen(datetime(2026, 3, 7, tzinfo=UTC)):
        async with unit_of_work(database, write=False) as session:
            assert (
                await vouchers.get_voucher(session, tenant.principal, bought.code)
            ).state.value == "expired"


async def test_the_public_page_shows_the_codes_own_end(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    domain = await _page(database, tenant)
    async with unit_of_work(database) as session:
        view = await coupons.create_coupon(
            session, tenant.principal, CouponInput(**{**SEASON_SALE.__dict__, "domain": domain})
        )
    with clock.frozen(datetime(2026, 3, 1, 15, tzinfo=UTC)):
        async with unit_of_work(database) as session:
            code = (
                await coupons.purchase(session, tenant.principal, view.coupon.number, PurchaseInput())
            ).code
        page = await api.get(f"/redeem/{code}")
    assert page.status_code == 200
    assert "Valid until 6 March 2026, 23:59" in page.text
    with clock.frozen(datetime(2026, 3, 7, tzinfo=UTC)):
        assert 'id="state">Expired<' in (await api.get(f"/redeem/{code}")).text


async def test_refused_work_changes_nothing(database: Database, tenant: Tenant) -> None:
    domain = await _page(database, tenant)
    async with unit_of_work(database) as session:
        view = await coupons.create_coupon(
            session, tenant.principal, CouponInput(**{**SEASON_SALE.__dict__, "domain": domain})
        )
    counter = await _counter(database, tenant)
    with pytest.raises(PermissionDenied):
        async with unit_of_work(database) as session:
            await coupons.purchase(session, counter, view.coupon.number, PurchaseInput())
    async with unit_of_work(database, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Voucher)) == 0
        assert await session.scalar(select(func.count()).select_from(Event)) == 0
        assert await session.scalar(select(func.count()).select_from(Coupon)) == 1
        assert await session.scalar(select(func.count()).select_from(Campaign)) == 1


async def _counter(database: Database, tenant: Tenant) -> Principal:
    async with unit_of_work(database) as session:
        await staff.create_staff(
            session,
            tenant.client_id,
            staff.StaffInput("till@example.com", "a long password", "Till", Role.STAFF, ["the-shop"]),
        )
    async with unit_of_work(database) as session:
        login = await staff.log_in(
            session, email="till@example.com", password="a long password", subdomain="the-shop"
        )
        return await staff.principal_for_access_token(session, login.access_token)


class TestUpdateAndDelete:
    async def test_an_edit_changes_the_offer_of_codes_bought_and_a_period_keeps_their_end(
        self, database: Database, tenant: Tenant
    ) -> None:
        # given a 25% coupon whose code was bought on 1 March (5 days: until 6 March)
        domain = await _page(database, tenant)
        async with unit_of_work(database) as session:
            view = await coupons.create_coupon(
                session, tenant.principal, CouponInput(**{**SEASON_SALE.__dict__, "domain": domain})
            )
        with clock.frozen(datetime(2026, 3, 1, 15, tzinfo=UTC)):
            async with unit_of_work(database) as session:
                bought = await coupons.purchase(
                    session, tenant.principal, view.coupon.number, PurchaseInput()
                )
        # when it becomes £5 off for 10 days
        async with unit_of_work(database) as session:
            edited = await coupons.update_coupon(
                session,
                tenant.principal,
                view.coupon.number,
                CouponInput(
                    domain=domain,
                    title="Five off",
                    type="fixed",
                    amount=500,
                    expiry=ExpiryInput(type="period", interval="days", period=10),
                ),
            )
        # then the code bought before has the new offer and keeps its own end
        assert (edited.campaign.name, edited.campaign.discount_type, edited.campaign.discount_value) == (
            "Five off",
            "fixed",
            500,
        )
        assert (edited.coupon.expiry_period, edited.campaign.terms) == (10, None)
        async with unit_of_work(database, write=False) as session:
            status = await coupons.discount_status(session, tenant.principal, bought.code)
        assert status.coupon.campaign.discount_value == 500
        assert status.valid_until == datetime(2026, 3, 6, 23, 59, 59, 999999, tzinfo=UTC)

    async def test_a_deleted_coupon_and_its_codes_are_gone_and_a_counter_login_may_do_neither(
        self, database: Database, tenant: Tenant
    ) -> None:
        domain = await _page(database, tenant)
        async with unit_of_work(database) as session:
            view = await coupons.create_coupon(
                session, tenant.principal, CouponInput(**{**SEASON_SALE.__dict__, "domain": domain})
            )
            bought = await coupons.purchase(session, tenant.principal, view.coupon.number, PurchaseInput())
        counter = await _counter(database, tenant)
        with pytest.raises(PermissionDenied):
            async with unit_of_work(database) as session:
                await coupons.delete_coupon(session, counter, view.coupon.number)
        with pytest.raises(PermissionDenied):
            async with unit_of_work(database) as session:
                await coupons.update_coupon(session, counter, view.coupon.number, SEASON_SALE)
        async with unit_of_work(database) as session:
            await coupons.delete_coupon(session, tenant.principal, view.coupon.number)
        async with unit_of_work(database, write=False) as session:
            assert await coupons.list_coupons(session, tenant.principal, domain=None) == []
            with pytest.raises(CouponNotFound):
                await coupons.get_coupon(session, tenant.principal, view.coupon.number)
            with pytest.raises(DiscountNotFound):
                await coupons.discount_status(session, tenant.principal, bought.code)
