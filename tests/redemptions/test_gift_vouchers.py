"""A campaign of gift codes at the VoucherTrack checkout (``discount_type: "gift"``): each code
holds a balance (a gift card of the voucher, opened at its first movement); each order takes what
it can, once per order reference, and a rollback gives it back."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from tests.conftest import Tenant
from voucherd.db import Database, unit_of_work
from voucherd.models import GiftCard, GiftLedgerEntry


async def _gift_code(api: httpx.AsyncClient, tenant: Tenant) -> str:
    made = await api.post(
        "/api/campaigns",
        json={"name": "Gift cards", "discount_type": "gift", "discount_value": 50, "uses_per_voucher": 1000},
        headers=tenant.headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["discount_description"] == "A £50 gift voucher"
    codes = await api.post(
        f"/api/campaigns/{made.json()['id']}/vouchers", json={"count": 1}, headers=tenant.headers
    )
    assert codes.status_code in (200, 201), codes.text
    code: str = codes.json()["codes"][0]
    return code


async def _pay(
    api: httpx.AsyncClient, tenant: Tenant, code: str, amount: float, order: str
) -> httpx.Response:
    return await api.post(
        "/api/webhook/redemption",
        json={"code": code, "transaction_amount": amount, "order_reference": order},
        headers=tenant.headers,
    )


async def test_orders_spend_a_gift_code_and_a_rollback_gives_it_back(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    code = await _gift_code(api, tenant)
    shown = (await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)).json()
    assert (shown["valid"], shown["discount_type"], shown["discount_value"]) == (True, "fixed", 50)
    first = await _pay(api, tenant, code, 30, "o-1")
    assert first.json()["discount_applied"] == 30
    assert (await _pay(api, tenant, code, 30, "o-1")).json()["discount_applied"] == 30  # a retry
    second = await _pay(api, tenant, code, 45, "o-2")
    assert second.json()["discount_applied"] == 20
    spent = await _pay(api, tenant, code, 10, "o-3")
    assert spent.status_code == 409
    assert (await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)).json()["valid"] is False
    back = await api.post(
        "/api/webhook/redemption/rollback",
        json={"code": code, "order_reference": "o-1", "reason": "refund"},
        headers=tenant.headers,
    )
    assert back.status_code == 200, back.text
    shown = (await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)).json()
    assert (shown["valid"], shown["discount_value"]) == (True, 30)
    async with unit_of_work(database, write=False) as session:
        card = await session.scalar(select(GiftCard).where(GiftCard.code == code))
        assert card is not None
        total = await session.scalar(
            select(func.sum(GiftLedgerEntry.amount)).where(GiftLedgerEntry.giftcard_id == card.id)
        )
        assert (card.balance, total, card.stock) == (3000, 3000, 5000)


async def test_concurrent_orders_never_spend_more_than_the_balance(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    code = await _gift_code(api, tenant)
    answers = await asyncio.gather(*(_pay(api, tenant, code, 15, f"race-{n}") for n in range(8)))
    taken = sorted(
        answer.json().get("discount_applied", 0) for answer in answers if answer.status_code == 201
    )
    assert sum(taken) == 50
    assert taken == [5, 15, 15, 15]
