"""RELIABILITY M8 on Voucherify: amounts (minor units) over 10**12, or JSON numbers over 2**53,
are refused on every operation that takes one, and change nothing; on both databases. This
dialect answers every invalid payload as Voucherify does, 400 ``invalid_payload`` (errors.py), where
the entry's other dialects answer 422."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.api.voucherify.conftest import Served
from voucherd.db.engine import create_database
from voucherd.models import GiftCard, GiftLedgerEntry, Redemption, Voucher

OVER = [10**12 + 1, 2**53 + 1, 1e16]  # over the bound; over 2**53; the same as a JSON float


async def _counts(url: str) -> list[int]:
    database = create_database(url, pool=False)
    try:
        async with database.engine.connect() as connection:
            return [
                int((await connection.execute(select(func.count()).select_from(model))).scalar_one())
                for model in (Voucher, GiftCard, GiftLedgerEntry, Redemption)
            ]
    finally:
        await database.dispose()


def test_every_amount_over_the_bound_is_refused(served: Served) -> None:
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        made = http.post("/v1/vouchers/GIFT-1", json={"type": "GIFT_VOUCHER", "gift": {"amount": 2000}})
        assert made.status_code == 200, made.text
        made = http.post(
            "/v1/vouchers/TEN-1",
            json={"type": "DISCOUNT_VOUCHER", "discount": {"type": "PERCENT", "percent_off": 10}},
        )
        assert made.status_code == 200, made.text
        before = asyncio.run(_counts(served.db_url))
        for value in OVER:
            calls: dict[str, tuple[str, dict[str, Any]]] = {
                "amount_off": (
                    "/v1/vouchers/BIG-1",
                    {"type": "DISCOUNT_VOUCHER", "discount": {"type": "AMOUNT", "amount_off": value}},
                ),
                "gift.amount": ("/v1/vouchers/BIG-2", {"type": "GIFT_VOUCHER", "gift": {"amount": value}}),
                "gift.amount, random code": (
                    "/v1/vouchers",
                    {"type": "GIFT_VOUCHER", "gift": {"amount": value}},
                ),
            }
            for path in ("/v1/validations", "/v1/redemptions"):
                calls[f"{path} order.amount"] = (
                    path,
                    {"redeemables": [{"object": "voucher", "id": "TEN-1"}], "order": {"amount": value}},
                )
                calls[f"{path} items"] = (
                    path,
                    {
                        "redeemables": [{"object": "voucher", "id": "TEN-1"}],
                        "order": {"items": [{"price": value, "quantity": 1}]},
                    },
                )
                calls[f"{path} gift.credits"] = (
                    path,
                    {
                        "redeemables": [{"object": "voucher", "id": "GIFT-1", "gift": {"credits": value}}],
                        "order": {"amount": 1000},
                    },
                )
            for why, (path, body) in calls.items():
                answer = http.post(path, json=body)
                assert answer.status_code == 400, (why, value, answer.text)
                assert answer.json()["key"] == "invalid_payload", (why, value, answer.text)
        assert asyncio.run(_counts(served.db_url)) == before
