"""Gift card balances on our own API: a card's balance and ledger, holds, refunds, regeneration
and expiry, over HTTP, with ``balance = Σ ledger`` checked after each."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.vouchercart.test_giftcards import (
    MEAL,
    MONEY,
    V1,
    Shop,
    add_product,
    ledger_matches,
    open_shop,
    order,
)
from tests.conftest import make_tenant
from voucherd.accounts import staff
from voucherd.api.app import create_app
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.giftcards import lifecycle
from voucherd.models import Event, GiftCard, GiftHold, GiftLedgerEntry, GiftProduct

API = "/api"


@pytest.fixture
async def wide_api(patient_database: Database) -> AsyncIterator[tuple[Database, httpx.AsyncClient]]:
    """The app over the test database with its whole pool, for truly concurrent transactions (as
    tests/redemptions/test_concurrency.py); 200 at once on SQLite need the patient pool (C6 once
    got a 500 "database is locked" past the default 5 s on the shared machine)."""
    database = patient_database
    transport = httpx.ASGITransport(app=create_app(embedded_worker=False), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test", timeout=60) as client:
        yield database, client


@pytest.fixture
async def till(database: Database) -> Shop:
    return await open_shop(database, await make_tenant(database, "Gift Shop"), "gift-shop")


async def bought(
    api: httpx.AsyncClient, shop: Shop, amount: int = 2000, product: dict[str, Any] | None = None
) -> tuple[int, str]:
    """A stored value of ``amount`` pence: (its order's number, its code)."""
    product = product or await add_product(api, shop, MONEY)
    placed = await order(
        api,
        shop,
        {
            "voucherId": product["voucherId"],
            "monetaryAmount": amount,
            "payments": [{"amount": amount, "currency": "GBP"}],
        },
    )
    return int(placed["orderId"]), str(placed["codes"][0])


async def card(api: httpx.AsyncClient, shop: Shop, code: str) -> dict[str, Any]:
    response = await api.get(f"{API}/giftcards/{code}", headers=shop.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def hold(api: httpx.AsyncClient, shop: Shop, code: str, body: dict[str, Any], status: int = 201) -> Any:
    response = await api.post(f"{API}/giftcards/{code}/holds", json=body, headers=shop.headers)
    assert response.status_code == status, response.text
    return response.json()


async def test_a_card_shows_its_balance_ledger_and_holds(
    api: httpx.AsyncClient, till: Shop, database: Database
) -> None:
    number, code = await bought(api, till)
    spent = await api.post(
        f"{V1}/redeem", json={"domain": till.domain, "code": code, "reductor": 150}, headers=till.headers
    )
    assert spent.status_code == 200, spent.text
    held = await hold(api, till, code, {"amount": "2.50"})
    shown = await card(api, till, code)
    assert (shown["balance"], shown["stock"], shown["currency"], shown["status"]) == (
        16,
        20,
        "GBP",
        "in_progress",
    )
    assert shown["order"] == number
    assert isinstance(shown["product"], int)
    assert shown["redeemable_on"] == [till.domain]
    assert [(row["kind"], row["amount"], row["balance_after"]) for row in shown["ledger"]] == [
        ("issue", 20, 20),
        ("redeem", -1.5, 18.5),
        ("hold", -2.5, 16),
    ]
    assert shown["ledger"][2]["hold_id"] == held["id"]
    assert [h["id"] for h in shown["holds"]] == [held["id"]]
    assert await ledger_matches(database, code) == 1600


async def test_a_hold_captures_part_and_gives_the_rest_back(
    api: httpx.AsyncClient, till: Shop, database: Database
) -> None:
    _, code = await bought(api, till)
    held = await hold(api, till, code, {"amount": 5})
    assert (held["amount"], held["status"], held["captured"]) == (5, "held", 0)
    assert (await card(api, till, code))["balance"] == 15
    capture = f"{API}/giftcards/{code}/holds/{held['id']}/capture"
    done = await api.post(capture, json={"amount": "3.25"}, headers=till.headers)
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["captured"]) == ("captured", 3.25)
    assert (await card(api, till, code))["balance"] == 16.75
    # the same capture again answers the same; another amount, or a void, is 409
    assert (await api.post(capture, json={"amount": "3.25"}, headers=till.headers)).status_code == 200
    assert (await api.post(capture, headers=till.headers)).status_code == 200
    again = await api.post(capture, json={"amount": 1}, headers=till.headers)
    assert (again.status_code, again.json()["error_code"]) == (409, "hold_closed")
    voided = await api.post(f"{API}/giftcards/{code}/holds/{held['id']}/void", headers=till.headers)
    assert voided.status_code == 409
    assert await ledger_matches(database, code) == 1675
    # a whole capture, and a void that gives it all back (twice answers the same)
    whole = await hold(api, till, code, {"amount": 1})
    assert (
        await api.post(f"{API}/giftcards/{code}/holds/{whole['id']}/capture", headers=till.headers)
    ).json()["captured"] == 1
    other = await hold(api, till, code, {"amount": "0.75"})
    for _ in range(2):
        response = await api.post(f"{API}/giftcards/{code}/holds/{other['id']}/void", headers=till.headers)
        assert (response.status_code, response.json()["status"]) == (200, "voided")
    assert await ledger_matches(database, code) == 1575
    kinds = [row["kind"] for row in (await card(api, till, code))["ledger"]]
    assert kinds == ["issue", "hold", "release", "hold", "hold", "release"]


async def test_bad_holds_change_nothing(api: httpx.AsyncClient, till: Shop, database: Database) -> None:
    _, code = await bought(api, till)
    for body, status in (
        ({"amount": "20.01"}, 409),
        ({"amount": 0}, 422),
        ({"amount": "1.234"}, 422),
        ({"amount": -1}, 422),
        ({"amount": 1, "expires_in": 0}, 422),
        ({"amount": 1, "expires_in": 8 * 24 * 3600}, 422),
        ({}, 422),
    ):
        await hold(api, till, code, body, status)
    held = await hold(api, till, code, {"amount": 2})
    over = await api.post(
        f"{API}/giftcards/{code}/holds/{held['id']}/capture", json={"amount": 3}, headers=till.headers
    )
    assert over.status_code == 422
    assert await ledger_matches(database, code) == 1800


async def test_an_expired_hold_gives_its_amount_back_by_itself(
    api: httpx.AsyncClient, till: Shop, database: Database
) -> None:
    _, code = await bought(api, till)
    lazy = await hold(api, till, code, {"amount": 4, "expires_in": 60})
    default = await hold(api, till, code, {"amount": 1})
    later = clock.now() + timedelta(seconds=120)
    with clock.frozen(later):
        shown = await card(api, till, code)  # a read settles it
        assert shown["balance"] == 19
        assert [h["id"] for h in shown["holds"]] == [default["id"]]
        late = await api.post(f"{API}/giftcards/{code}/holds/{lazy['id']}/capture", headers=till.headers)
        assert (late.status_code, late.json()["error_code"]) == (409, "hold_closed")
        assert "expired" in late.json()["error"]
    assert await ledger_matches(database, code) == 1900
    # the worker's sweep settles one no one looks at
    swept = await hold(api, till, code, {"amount": 2, "expires_in": 30})
    with clock.frozen(clock.now() + timedelta(hours=1)):
        assert await lifecycle.sweep(database) == 1
        assert await lifecycle.sweep(database) == 0
    assert await ledger_matches(database, code) == 2000
    async with unit_of_work(database, write=False) as session:
        states = {row.id: row.status for row in await session.execute(select(GiftHold.id, GiftHold.status))}
    assert {str(k): v for k, v in states.items()} == {
        lazy["id"]: "expired",
        default["id"]: "expired",
        swept["id"]: "expired",
    }


async def test_an_expired_card_loses_its_balance_in_the_ledger(
    api: httpx.AsyncClient, till: Shop, database: Database
) -> None:
    product = await add_product(
        api, till, {**MONEY, "expiry": {"type": "period", "interval": "days", "period": 1}}
    )
    _, code = await bought(api, till, 1000, product)
    _, other = await bought(api, till, 1000, product)
    await hold(api, till, code, {"amount": 3, "expires_in": 7 * 24 * 3600})
    with clock.frozen(clock.now() + timedelta(days=2)):
        assert await lifecycle.sweep(database) == 2
        shown = await card(api, till, code)
        assert (shown["status"], shown["balance"], shown["holds"]) == ("expired", 0, [])
        assert [row["kind"] for row in shown["ledger"]] == ["issue", "hold", "release", "expiry"]
        status = await api.get(f"{V1}/status", params={"code": other}, headers=till.headers)
        assert status.json()["status"] == "expired"
        refused = await api.post(
            f"{V1}/redeem", json={"domain": till.domain, "code": code, "reductor": 1}, headers=till.headers
        )
        assert (refused.status_code, refused.json()["code"]) == (409, "voucher_expired")
    assert await ledger_matches(database, code) == 0
    assert await ledger_matches(database, other) == 0


async def test_a_refund_closes_every_code_of_the_order(
    api: httpx.AsyncClient, till: Shop, database: Database
) -> None:
    product = await add_product(api, till, MEAL)
    option = product["options"][1]  # five lunches
    placed = await order(
        api,
        till,
        {
            "voucherId": product["voucherId"],
            "optionId": option["optionId"],
            "quantity": 2,
            "payments": [{"amount": 900, "currency": "GBP"}],
        },
    )
    first, second = placed["codes"]
    await api.post(
        f"{V1}/redeem", json={"domain": till.domain, "code": first, "reductor": 2}, headers=till.headers
    )
    held = await hold(api, till, second, {"amount": 1})
    url = f"{API}/orders/{placed['orderId']}/refund"
    refunded = await api.post(url, headers=till.headers)
    assert refunded.status_code == 200, refunded.text
    body = refunded.json()
    assert (body["order"], body["refund"], body["currency"]) == (placed["orderId"], 9, "GBP")
    assert [(c["code"], c["status"], c["balance"]) for c in body["codes"]] == [
        (first, "refunded", 0),
        (second, "refunded", 0),
    ]
    assert (await api.post(url, headers=till.headers)).json() == body  # twice: the same answer
    for code in (first, second):
        status = await api.get(f"{V1}/status", params={"code": code}, headers=till.headers)
        assert status.json()["status"] == "refunded"
        refused = await api.post(
            f"{V1}/redeem", json={"domain": till.domain, "code": code}, headers=till.headers
        )
        assert (refused.status_code, refused.json()["code"]) == (409, "voucher_refunded")
        assert await ledger_matches(database, code) == 0
    shown = await card(api, till, second)
    assert [row["kind"] for row in shown["ledger"]] == ["issue", "hold", "release", "refund"]
    late = await api.post(f"{API}/giftcards/{second}/holds/{held['id']}/capture", headers=till.headers)
    assert late.status_code == 409
    async with unit_of_work(database, write=False) as session:
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "giftcard.refunded")
        )
    assert events == 2


async def test_a_lost_code_is_regenerated(api: httpx.AsyncClient, till: Shop, database: Database) -> None:
    _, code = await bought(api, till)
    await api.post(
        f"{V1}/redeem", json={"domain": till.domain, "code": code, "reductor": 500}, headers=till.headers
    )
    response = await api.post(f"{API}/giftcards/{code}/regenerate", headers=till.headers)
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["code"] != code
    assert new["replaces"] == code
    assert (new["balance"], new["status"]) == (15, "in_progress")
    assert [(row["kind"], row["amount"]) for row in new["ledger"]] == [("issue", 15)]
    old = await card(api, till, code)
    assert (old["status"], old["balance"], old["replaced_by"]) == ("regenerated", 0, new["code"])
    assert [row["kind"] for row in old["ledger"]] == ["issue", "redeem", "regenerate"]
    status = await api.get(f"{V1}/status", params={"code": code}, headers=till.headers)
    assert status.json()["status"] == "regenerated"
    refused = await api.post(f"{V1}/redeem", json={"domain": till.domain, "code": code}, headers=till.headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "voucher_regenerated")
    again = await api.post(f"{API}/giftcards/{code}/regenerate", headers=till.headers)
    assert again.status_code == 409
    spent = await api.post(
        f"{V1}/redeem",
        json={"domain": till.domain, "code": new["code"], "reductor": 1500},
        headers=till.headers,
    )
    assert spent.status_code == 200
    assert await ledger_matches(database, code) == 0
    assert await ledger_matches(database, new["code"]) == 0
    async with unit_of_work(database, write=False) as session:
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "giftcard.regenerated")
        )
    assert events == 1


async def test_another_clients_cards_orders_and_holds_are_404(
    api: httpx.AsyncClient, till: Shop, database: Database
) -> None:
    number, code = await bought(api, till)
    held = await hold(api, till, code, {"amount": 1})
    stranger = await open_shop(database, await make_tenant(database, "Stranger"), "stranger")
    _, theirs = await bought(api, stranger)
    for method, path in (
        ("GET", f"/giftcards/{code}"),
        ("POST", f"/giftcards/{code}/holds"),
        ("GET", f"/giftcards/{code}/holds/{held['id']}"),
        ("POST", f"/giftcards/{code}/holds/{held['id']}/capture"),
        ("POST", f"/giftcards/{code}/holds/{held['id']}/void"),
        ("POST", f"/giftcards/{code}/regenerate"),
        ("POST", f"/orders/{number}/refund"),
        # their own card, our hold
        ("GET", f"/giftcards/{theirs}/holds/{held['id']}"),
        ("POST", f"/giftcards/{theirs}/holds/{held['id']}/capture"),
        ("POST", f"/giftcards/{theirs}/holds/{held['id']}/void"),
    ):
        response = await api.request(method, f"{API}{path}", json={"amount": 1}, headers=stranger.headers)
        assert response.status_code == 404, (method, path, response.text)
    assert await ledger_matches(database, code) == 1900
    for method, path in (
        ("GET", f"/giftcards/{code}"),
        ("POST", f"/giftcards/{code}/holds"),
        ("POST", f"/giftcards/{code}/holds/{held['id']}/capture"),
        ("POST", f"/giftcards/{code}/holds/{held['id']}/void"),
        ("POST", f"/giftcards/{code}/regenerate"),
        ("POST", f"/orders/{number}/refund"),
    ):
        assert (await api.request(method, f"{API}{path}", content="{broken")).status_code == 401, path


async def test_counter_staff_hold_and_look_up_but_do_not_refund_or_regenerate(
    api: httpx.AsyncClient, till: Shop, database: Database
) -> None:
    number, code = await bought(api, till)
    async with unit_of_work(database) as session:
        await staff.create_staff(
            session,
            till.tenant.client_id,
            staff.StaffInput(
                email="till@example.com", password="a long password", full_name="Till", pages=[till.name]
            ),
        )
    login = await api.post(
        f"{V1}/authorize", data={"subdomain": till.name}, auth=("till@example.com", "a long password")
    )
    assert login.status_code == 200, login.text
    waiter = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    assert (await api.get(f"{API}/giftcards/{code}", headers=waiter)).status_code == 200
    held = (await api.post(f"{API}/giftcards/{code}/holds", json={"amount": 2}, headers=waiter)).json()
    assert (
        await api.post(
            f"{API}/giftcards/{code}/holds/{held['id']}/capture", json={"amount": 1}, headers=waiter
        )
    ).status_code == 200
    voidable = (await api.post(f"{API}/giftcards/{code}/holds", json={"amount": 2}, headers=waiter)).json()
    assert (
        await api.post(f"{API}/giftcards/{code}/holds/{voidable['id']}/void", headers=waiter)
    ).status_code == 200
    for path in (f"/giftcards/{code}/regenerate", f"/orders/{number}/refund"):
        assert (await api.post(f"{API}{path}", headers=waiter)).status_code == 403, path
    assert await ledger_matches(database, code) == 1900


# --- races: real concurrent requests, real commits (RELIABILITY C5, C6) -----------------------


async def _ledger_rows(database: Database, code: str) -> list[tuple[str, int, int]]:
    async with unit_of_work(database, write=False) as session:
        found = await session.scalar(select(GiftCard).where(GiftCard.code == code))
        assert found is not None
        rows = await session.execute(
            select(GiftLedgerEntry.kind, GiftLedgerEntry.amount, GiftLedgerEntry.balance_after).where(
                GiftLedgerEntry.giftcard_id == found.id
            )
        )
        return [(row.kind, row.amount, row.balance_after) for row in rows]


@pytest.mark.concurrency
@pytest.mark.parametrize("way", ["redeem", "hold"])
async def test_c5_100_concurrent_debits_of_150_on_10000(
    wide_api: tuple[Database, httpx.AsyncClient], till: Shop, way: str
) -> None:
    database, client = wide_api
    _, code = await bought(client, till, 10_000)
    if way == "redeem":
        calls = [
            client.post(
                f"{V1}/redeem",
                json={"domain": till.domain, "code": code, "reductor": 150},
                headers=till.headers,
            )
            for _ in range(100)
        ]
        ok = 200
    else:
        calls = [
            client.post(f"{API}/giftcards/{code}/holds", json={"amount": "1.50"}, headers=till.headers)
            for _ in range(100)
        ]
        ok = 201
    responses = await asyncio.gather(*calls)
    assert collections.Counter(r.status_code for r in responses) == {ok: 66, 409: 34}
    assert {
        r.json()["code" if way == "redeem" else "error_code"] for r in responses if r.status_code == 409
    } == {"insufficient_balance"}
    if way == "hold":  # capture them all at once too: nothing moves twice
        held = [r.json()["id"] for r in responses if r.status_code == 201]
        captures = await asyncio.gather(
            *(
                client.post(f"{API}/giftcards/{code}/holds/{hold_id}/capture", headers=till.headers)
                for hold_id in held
            )
        )
        assert {r.status_code for r in captures} == {200}
    assert await ledger_matches(database, code) == 100
    assert all(after >= 0 for _, _, after in await _ledger_rows(database, code))


@pytest.mark.concurrency
async def test_c6_100_top_ups_and_100_debits_interleaved_from_0(
    wide_api: tuple[Database, httpx.AsyncClient], till: Shop
) -> None:
    database, client = wide_api
    _, code = await bought(client, till, 1000)
    emptied = await client.post(
        f"{V1}/redeem", json={"domain": till.domain, "code": code}, headers=till.headers
    )
    assert emptied.status_code == 200, emptied.text
    assert await ledger_matches(database, code) == 0
    top_ups = [
        client.post(
            f"{V1}/top-up", json={"domain": till.domain, "code": code, "amount": 100}, headers=till.headers
        )
        for _ in range(100)
    ]
    debits = [
        client.post(
            f"{V1}/redeem", json={"domain": till.domain, "code": code, "reductor": 100}, headers=till.headers
        )
        for _ in range(100)
    ]
    interleaved = [call for pair in zip(top_ups, debits, strict=True) for call in pair]
    responses = await asyncio.gather(*interleaved)
    added = [r.status_code for r in responses[0::2]]
    taken = [r.status_code for r in responses[1::2]]
    assert set(added) == {200}
    assert set(taken) <= {200, 409}
    balance = await ledger_matches(database, code)
    assert balance == 100 * 100 - 100 * taken.count(200)
    rows = await _ledger_rows(database, code)
    assert all(after >= 0 for _, _, after in rows)
    assert sum(amount for _, amount, _ in rows) == balance


@pytest.mark.concurrency
async def test_a_stock_of_5_sells_5_to_20_concurrent_orders(
    wide_api: tuple[Database, httpx.AsyncClient], till: Shop
) -> None:
    database, client = wide_api
    product = await add_product(client, till, {**MEAL, "quantityIsLimited": True, "stock": 5})
    option = product["options"][0]
    body = {
        "domainId": till.domain,
        "voucherId": product["voucherId"],
        "optionId": option["optionId"],
        "payments": [{"amount": option["sellPrice"], "currency": "GBP"}],
    }
    responses = await asyncio.gather(
        *(client.post(f"{V1}/order", json=body, headers=till.headers) for _ in range(20))
    )
    assert collections.Counter(r.status_code for r in responses) == {201: 5, 409: 15}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"sold_out"}
    async with unit_of_work(database, write=False) as session:
        stock = await session.scalar(
            select(GiftProduct.stock).where(GiftProduct.number == product["voucherId"])
        )
        cards = await session.scalar(
            select(func.count()).select_from(GiftCard).where(GiftCard.client_id == till.tenant.client_id)
        )
    assert (stock, cards) == (0, 5)


async def test_numbers_too_large_are_422s(api: httpx.AsyncClient, till: Shop, database: Database) -> None:
    _, code = await bought(api, till)
    refund = await api.post(f"{API}/orders/{10**18}/refund", headers=till.headers)
    assert (refund.status_code, refund.json()["field"]) == (422, "order_number")
    for amount in ("1e30", "NaN", "Infinity", 10**18):
        await hold(api, till, code, {"amount": amount}, 422)
    assert await ledger_matches(database, code) == 2000


async def test_a_retried_hold_with_its_key_holds_once(
    api: httpx.AsyncClient, till: Shop, database: Database
) -> None:
    _, code = await bought(api, till)
    headers = {**till.headers, "Idempotency-Key": "checkout-77-hold"}
    first = await api.post(f"{API}/giftcards/{code}/holds", json={"amount": 3}, headers=headers)
    again = await api.post(f"{API}/giftcards/{code}/holds", json={"amount": 3}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert await ledger_matches(database, code) == 1700
