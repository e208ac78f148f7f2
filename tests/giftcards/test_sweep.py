"""The worker's gift card sweep: its loop settles due cards by itself and stops when told."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from tests.api.vouchercart.test_giftcards import MONEY, add_product, ledger_matches, open_shop, order
from tests.conftest import make_tenant
from voucherd.core import clock
from voucherd.db import Database
from voucherd.giftcards import lifecycle


async def test_the_sweep_loop_gives_expired_holds_back(api: httpx.AsyncClient, database: Database) -> None:
    shop = await open_shop(database, await make_tenant(database, "Sweep Shop"), "sweep-shop")
    product = await add_product(api, shop, MONEY)
    placed = await order(
        api,
        shop,
        {
            "voucherId": product["voucherId"],
            "monetaryAmount": 1000,
            "payments": [{"amount": 1000, "currency": "GBP"}],
        },
    )
    code = placed["codes"][0]
    held = await api.post(
        f"/api/giftcards/{code}/holds", json={"amount": 4, "expires_in": 1}, headers=shop.headers
    )
    assert held.status_code == 201, held.text
    assert await ledger_matches(database, code) == 600
    stop = asyncio.Event()
    with clock.frozen(clock.now() + timedelta(seconds=5)):
        loop = asyncio.create_task(lifecycle.run(database, stop, every=0.05))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if await ledger_matches(database, code) == 1000:
                break
        stop.set()
        await asyncio.wait_for(loop, timeout=5)
    assert await ledger_matches(database, code) == 1000
