"""RELIABILITY M8 on VoucherCart: amounts (minor units) over 10**12, or JSON numbers over 2**53,
are 422s on every operation that takes one, and change nothing; on both databases."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.api.vouchercart.test_coupons import CREATE_JSON, PURCHASE_JSON
from tests.api.vouchercart.test_giftcards import MONEY, V1, add_product, money_code
from tests.fixtures.shops import Shop
from voucherd.db import Database, unit_of_work
from voucherd.models import Coupon, GiftCard, GiftLedgerEntry, GiftOrder, GiftProduct

OVER = [10**12 + 1, 2**53 + 1, 1e16]  # over the bound; over 2**53; the same as a JSON float


async def counts(database: Database) -> list[int]:
    async with unit_of_work(database, write=False) as session:
        return [
            int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (GiftProduct, GiftOrder, GiftCard, GiftLedgerEntry, Coupon)
        ]


async def test_every_amount_over_the_bound_is_422(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    product = await add_product(api, shop, MONEY)
    code = await money_code(api, shop)
    coupon = await api.post(
        f"{V1}/coupons", json={**CREATE_JSON, "domainId": shop.domain}, headers=shop.headers
    )
    assert coupon.status_code == 201, coupon.text
    coupon_id = coupon.json()["couponId"]
    before = await counts(database)
    for value in OVER:
        payments = [{"amount": value, "currency": "GBP"}]
        calls: dict[str, tuple[str, dict[str, Any]]] = {
            "maxAmount": ("/vouchers", {**MONEY, "domainId": shop.domain, "maxAmount": value}),
            "sellPrice": (
                "/vouchers",
                {
                    "domainId": shop.domain,
                    "type": "fixed",
                    "title": "Big",
                    "currency": "GBP",
                    "options": [{"sellPrice": value, "description": "Big"}],
                },
            ),
            "monetaryAmount": (
                "/order",
                {
                    "domainId": shop.domain,
                    "voucherId": product["voucherId"],
                    "monetaryAmount": value,
                    "payments": [{"amount": 2000, "currency": "GBP"}],
                },
            ),
            "payments": (
                "/order",
                {
                    "domainId": shop.domain,
                    "voucherId": product["voucherId"],
                    "monetaryAmount": 2000,
                    "payments": payments,
                },
            ),
            "reductor": ("/redeem", {"code": code, "domain": shop.domain, "reductor": value}),
            "top-up": ("/top-up", {"code": code, "domain": shop.domain, "amount": value}),
            "fixed coupon": (
                "/coupons",
                {**CREATE_JSON, "domainId": shop.domain, "type": "fixed", "amount": value},
            ),
            "coupon payments": (f"/coupon/{coupon_id}/purchase", {**PURCHASE_JSON, "payments": payments}),
        }
        for why, (path, body) in calls.items():
            response = await api.post(f"{V1}{path}", json=body, headers=shop.headers)
            assert response.status_code == 422, (why, value, response.text)
            # the message says the highest amount taken (it said "must be more than 0")
            assert re.search(
                r"at most \d{4,}|between .* \d{4,} in minor|to \d{4,}", response.json()["error"]
            ), (
                why,
                response.text,
            )
    assert await counts(database) == before
