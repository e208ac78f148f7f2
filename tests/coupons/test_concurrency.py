"""Redeeming one discount code from both dialects at once: exactly one redemption wins, over real
concurrent connections and real commits (the checkout's guarded write is the only one)."""

from __future__ import annotations

import asyncio
import collections

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from voucherd.accounts import staff
from voucherd.db import Database, unit_of_work
from voucherd.models import Event, Redemption, Voucher

pytestmark = pytest.mark.concurrency
V1 = "/vouchercart/v1"


async def test_one_code_redeemed_at_once_in_both_dialects_redeems_once(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    async with unit_of_work(database) as session:
        domain = (await staff.create_sales_page(session, tenant.client_id, "race-shop")).number
    bearer = {"Authorization": f"Bearer {tenant.api_key}"}
    coupon = await api.post(
        f"{V1}/coupons",
        json={"domainId": domain, "title": "Race", "type": "percent", "amount": 1000},
        headers=bearer,
    )
    assert coupon.status_code == 201, coupon.text
    bought = await api.post(f"{V1}/coupon/{coupon.json()['couponId']}/purchase", json={}, headers=bearer)
    code = bought.json()["discountCode"]
    cart = [api.post(f"{V1}/discount/redeem", json={"discountCode": code}, headers=bearer) for _ in range(6)]
    track = [
        api.post(
            "/api/webhook/redemption",
            json={"code": code, "transaction_amount": "20.00", "order_reference": f"race-{i}"},
            headers=tenant.headers,
        )
        for i in range(6)
    ]
    answers = await asyncio.gather(*cart, *track)
    won = collections.Counter(r.status_code for r in answers)
    assert won[200] + won[201] == 1, [r.text for r in answers]
    assert won[409] == 11, [r.text for r in answers]
    async with unit_of_work(database, write=False) as session:
        assert await session.scalar(select(Voucher.redeemed_count)) == 1
        assert await session.scalar(select(func.count()).select_from(Redemption)) == 1
        kinds = collections.Counter((await session.scalars(select(Event.type))).all())
    assert kinds["voucher.redeemed"] == 1
    assert kinds["discount.redeemed"] == won[200]  # only a VoucherCart redemption writes one
