"""A gift card at the VoucherTrack checkout (one core, RELIABILITY M4): validate answers a fixed
discount worth the balance; each redemption under its own order_reference takes min(balance,
transaction amount); a retry takes nothing more; the same card seen through VoucherCart shows
every debit."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.vouchercart.test_giftcards import V1, meal_code, money_code
from tests.conftest import make_tenant
from tests.fixtures.factories import add_codes, make_campaign
from tests.fixtures.shops import Shop, open_shop
from voucherd.campaigns.rules import DiscountType
from voucherd.db import Database, unit_of_work
from voucherd.giftcards import codes
from voucherd.models import GiftLedgerEntry

VALIDATE = "/api/webhook/validate"
REDEEM = "/api/webhook/redemption"


@pytest.fixture
async def shop(database: Database) -> Shop:
    return await open_shop(database, await make_tenant(database, "Gift Shop"), "gift-shop")


async def pay(api: httpx.AsyncClient, shop: Shop, code: str, amount: str, reference: str) -> httpx.Response:
    return await api.post(
        REDEEM,
        json={"code": code, "transaction_amount": amount, "order_reference": reference},
        headers=shop.tenant.headers,
    )


async def balance(api: httpx.AsyncClient, shop: Shop, code: str) -> int:
    body = (await api.get(f"{V1}/status", params={"code": code}, headers=shop.headers)).json()
    return int(body["stock"]) - int(body["current"])


async def test_a_gift_card_pays_part_of_each_order_until_it_is_spent(
    api: httpx.AsyncClient, shop: Shop
) -> None:
    code = await money_code(api, shop, 5000)
    valid = (await api.get(f"{VALIDATE}/{code}", headers=shop.tenant.headers)).json()
    assert valid["valid"] is True
    assert (valid["discount_type"], Decimal(str(valid["discount_value"]))) == ("fixed", Decimal(50))
    assert valid["campaign_name"] == "Gift card"
    first = await pay(api, shop, code, "30.00", "order-1")
    assert first.status_code == 201, first.text
    assert Decimal(str(first.json()["discount_applied"])) == Decimal(30)  # the order's total becomes 0
    assert await balance(api, shop, code) == 2000
    second = await pay(api, shop, code, "30.00", "order-2")
    assert Decimal(str(second.json()["discount_applied"])) == Decimal(20)
    assert await balance(api, shop, code) == 0
    spent = await pay(api, shop, code, "30.00", "order-3")
    assert spent.status_code == 409
    assert spent.json()["error"] == "Voucher has already been redeemed"
    again = (await api.get(f"{VALIDATE}/{code}", headers=shop.tenant.headers)).json()
    assert again == {"valid": False, "code": code, "error": "Voucher has already been redeemed"}


async def test_a_retried_order_takes_nothing_more(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    code = await money_code(api, shop, 5000)
    first = await pay(api, shop, code, "12.50", "order-1")
    retry = await pay(api, shop, code, "12.50", "order-1")
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers.get("Idempotent-Replayed") == "true"
    other = await pay(api, shop, code, "13.00", "order-1")
    assert other.status_code == 409
    assert await balance(api, shop, code) == 3750


@pytest.mark.concurrency
async def test_concurrent_retries_of_one_order_take_once(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    code = await money_code(api, shop, 5000)
    answers = await asyncio.gather(*(pay(api, shop, code, "10.00", "order-1") for _ in range(12)))
    assert {answer.status_code for answer in answers} == {201}, [a.text for a in answers]
    assert {Decimal(str(answer.json()["discount_applied"])) for answer in answers} == {Decimal(10)}
    async with unit_of_work(database, write=False) as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(GiftLedgerEntry)
            .where(GiftLedgerEntry.order_reference == "order-1")
        )
    assert rows == 1
    assert await balance(api, shop, code) == 4000


async def test_a_voucher_for_a_thing_validates_as_a_free_item_and_takes_a_use(
    api: httpx.AsyncClient, shop: Shop
) -> None:
    _, code = await meal_code(api, shop, option=1)  # five lunches
    valid = (await api.get(f"{VALIDATE}/{code}", headers=shop.tenant.headers)).json()
    assert (valid["discount_type"], valid["remaining_uses"]) == ("free_item", 5)
    used = await pay(api, shop, code, "8.00", "lunch-1")
    assert used.status_code == 201
    assert Decimal(str(used.json()["discount_applied"])) == 0
    assert await balance(api, shop, code) == 4


async def test_another_clients_gift_card_is_not_found(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    code = await money_code(api, shop)
    stranger = await make_tenant(database, "Stranger")
    valid = await api.get(f"{VALIDATE}/{code}", headers=stranger.headers)
    assert valid.status_code == 404
    assert valid.json()["error"] == "Voucher not found"
    paid = await api.post(
        REDEEM,
        json={"code": code, "transaction_amount": "5.00", "order_reference": "x"},
        headers=stranger.headers,
    )
    assert paid.status_code == 404


async def test_a_campaign_code_shaped_like_a_gift_card_still_redeems(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    campaign = await make_campaign(database, shop.tenant, discount_type=DiscountType.FIXED, discount_value=5)
    code = codes.new_code()
    await add_codes(database, shop.tenant, campaign, [code])
    valid = (await api.get(f"{VALIDATE}/{code}", headers=shop.tenant.headers)).json()
    assert (valid["valid"], valid["campaign_name"]) == (True, "Summer Sale")
    assert (await pay(api, shop, code, "20.00", "order-1")).status_code == 201


async def test_the_checkout_and_voucher_cart_see_one_balance(api: httpx.AsyncClient, shop: Shop) -> None:
    code = await money_code(api, shop, 5000)
    await api.post(
        f"{V1}/redeem", json={"code": code, "domain": shop.domain, "reductor": 1000}, headers=shop.headers
    )
    valid = (await api.get(f"{VALIDATE}/{code}", headers=shop.tenant.headers)).json()
    assert Decimal(str(valid["discount_value"])) == Decimal(40)
    await pay(api, shop, code, "15.00", "order-1")
    status = (await api.get(f"{V1}/status", params={"code": code}, headers=shop.headers)).json()
    assert (status["current"], status["stock"]) == (2500, 5000)
    assert [item["amount"] for item in status["redeemHistory"]] == [1000, 1500]
