"""The gift card redemption as one statement (PostgreSQL) answers and writes exactly what the
session's path does, and declines (``None``) whatever it cannot say, leaving it to that path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.vouchercart.test_giftcards import V1, meal_code, money_code
from tests.conftest import make_tenant
from tests.fixtures.shops import Shop, open_shop
from voucherd.api.vouchercart import giftcard_mappers
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.events import service as events
from voucherd.giftcards import balances, fast
from voucherd.models import Event, GiftCard, GiftLedgerEntry


@pytest.fixture
async def shop(database: Database) -> Shop:
    if not database.is_postgres:
        pytest.skip("the one-statement redemption runs on PostgreSQL only")
    return await open_shop(database, await make_tenant(database, "Fast Shop"), "fast-shop")


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """The status body without what differs between two cards (their code, ids and times)."""
    body = {key: value for key, value in body.items() if key not in ("code", "expirations", "redeemHistory")}
    order = dict(body.pop("order"))
    for key in ("purchasedAt", "redeemedDate", "reference"):
        order.pop(key)
    order["voucher"] = {key: value for key, value in order["voucher"].items() if key != "id"}
    return {**body, "order": order}


async def written(database: Database, code: str) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    async with unit_of_work(database, write=False) as session:
        card = await session.scalar(select(GiftCard).where(GiftCard.code == code))
        assert card is not None
        rows = (
            await session.execute(
                select(GiftLedgerEntry)
                .where(GiftLedgerEntry.giftcard_id == card.id)
                .order_by(GiftLedgerEntry.created_at, GiftLedgerEntry.id)
            )
        ).scalars()
        ledger = [
            (row.kind, row.amount, row.balance_after, row.sales_page_id is not None, row.actor)
            for row in rows
        ]
        found = (
            await session.execute(
                select(Event)
                .where(Event.type == events.GIFTCARD_REDEEMED)
                .order_by(Event.created_at, Event.id)
            )
        ).scalars()
        data = [dict(event.data) for event in found if event.data["code"] == code]
    for item in data:
        item.pop("code")
        item.pop("giftcard_id")
    return ledger, data


async def test_one_statement_does_what_the_session_does(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    quick, slow = await money_code(api, shop, 5000), await money_code(api, shop, 5000)
    principal = shop.tenant.principal
    for amount in (1200, None):
        async with (await database.driver()).acquire() as connection:
            view = await fast.redeem(connection, principal, quick, page=shop.domain, amount=amount)
        assert view is not None
        fast_body = giftcard_mappers.card_status(view)
        async with unit_of_work(database) as session:
            slow_body = giftcard_mappers.card_status(
                await balances.redeem(session, principal, slow, page=shop.domain, amount=amount)
            )
        assert comparable(fast_body) == comparable(slow_body)
        assert [item["amount"] for item in fast_body["redeemHistory"]] == [
            item["amount"] for item in slow_body["redeemHistory"]
        ]
    assert await written(database, quick) == await written(database, slow)
    shown = (await api.get(f"{V1}/status", params={"code": quick}, headers=shop.headers)).json()
    assert comparable(shown) == comparable(fast_body)
    assert shown["redeemHistory"] == fast_body["redeemHistory"]


async def test_what_one_statement_cannot_say_is_left_to_the_session(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    principal = shop.tenant.principal
    code = await money_code(api, shop, 1000)
    elsewhere = await open_shop(database, shop.tenant, "fast-shop-2")
    _, used_up = await meal_code(api, shop)
    async with (await database.driver()).acquire() as connection:
        assert await fast.redeem(connection, principal, used_up, page=shop.domain, amount=None) is not None
        for page, amount, typed in (
            (shop.domain, 1001, code),  # more than is left
            (shop.domain, 0, code),  # bad input
            (shop.domain, -5, code),  # bad input, which a guard alone would turn into a credit
            (elsewhere.domain, 100, code),  # not redeemable there
            (shop.domain, None, used_up),  # used up
        ):
            assert await fast.redeem(connection, principal, typed, page=page, amount=amount) is None
        stranger = (await make_tenant(database, "Stranger")).principal
        assert await fast.redeem(connection, stranger, code, page=shop.domain, amount=100) is None
    _, dinner = await meal_code(api, shop)  # valid for three months
    held = await api.post(
        f"/api/giftcards/{code}/holds", json={"amount": "1.00", "expires_in": 60}, headers=shop.tenant.headers
    )
    assert held.status_code == 201, held.text
    with clock.frozen(clock.now() + timedelta(days=200)):
        async with (await database.driver()).acquire() as connection:
            assert (
                await fast.redeem(connection, principal, dinner, page=shop.domain, amount=None) is None
            )  # expired
            assert (
                await fast.redeem(connection, principal, code, page=shop.domain, amount=100) is None
            )  # hold due
    async with unit_of_work(database, write=False) as session:
        card = await session.scalar(select(GiftCard).where(GiftCard.code == code))
        assert card is not None
        assert card.balance == 900  # the hold's amount, until it comes back
