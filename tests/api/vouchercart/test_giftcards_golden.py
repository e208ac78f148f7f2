"""Seed 003's gift voucher examples as golden bodies (tests/golden/vouchercart), replayed over HTTP
with form bodies (as its curl sends them) and JSON. Our answers may hold more fields than the
seed shows (responses may grow): each golden body is compared with ours restricted to its keys,
after our ids, codes and times are checked for their form and replaced by the seed's."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.api.vouchercart.test_giftcards import FORM, SPA_DAY, V1, add_product, order
from tests.fixtures.shops import Shop
from voucherd.giftcards import codes
from voucherd.giftcards.rules import add_months

GOLDEN = Path(__file__).parents[2] / "golden" / "vouchercart"
MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0000")
REFERENCE = re.compile(r"[A-Z]{6}-[0-9A-Z]+-\d+")
# The seed's "Fixed voucher: Meal for two" of its status example: sold at 1.00 (tax 25% inside),
# worth 1.30 as printed on it, mailed with a message on a delivery date.
MEAL_FOR_TWO = {
    "type": "fixed",
    "title": "Fixed voucher: Meal for two",
    "description": "Fixed desc",
    "currency": "GBP",
    "taxRate": 2500,
    "hidePriceDisabled": True,
    "options": [{"sellPrice": 100, "realValue": 130}],
    "expiry": {"type": "period", "interval": "months", "period": 3},
}


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def restricted(ours: Any, theirs: Any) -> Any:
    """``ours`` with only the keys ``theirs`` has, all the way down."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        return {key: restricted(ours[key], theirs[key]) for key in theirs if key in ours}
    if isinstance(theirs, list) and isinstance(ours, list) and theirs:
        return [restricted(item, theirs[0]) for item in ours]
    return ours


def moment(value: str) -> datetime:
    assert MOMENT.fullmatch(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


def status_as_seed(body: dict[str, Any], seed: dict[str, Any]) -> dict[str, Any]:
    """Our status body with the seed's code, ids and times in place of ours."""
    body = json.loads(json.dumps(body))
    assert codes.canonical(body["code"]) == body["code"]
    body["code"] = seed["code"]
    (expiry,) = body["expirations"]
    assert add_months(moment(expiry["from"]), 3) == moment(expiry["to"])
    body["expirations"] = seed["expirations"]
    placed = body["order"]
    moment(placed["purchasedAt"])
    placed["purchasedAt"] = seed["order"]["purchasedAt"]
    assert REFERENCE.fullmatch(placed["reference"]), placed["reference"]
    placed["reference"] = seed["order"]["reference"]
    assert isinstance(placed["voucher"]["id"], int)
    placed["voucher"]["id"] = seed["order"]["voucher"]["id"]
    assert all(isinstance(number, int) for number in body["redeemableOn"])
    body["redeemableOn"] = seed["redeemableOn"]
    if placed["redeemedDate"] is not None:
        moment(placed["redeemedDate"])
        placed["redeemedDate"] = seed["order"]["redeemedDate"]
    for ours, theirs in zip(body["redeemHistory"], seed["redeemHistory"], strict=True):
        moment(ours["redeemAt"])
        ours["redeemAt"] = theirs["redeemAt"]
    return dict(restricted(body, seed))


async def bought(api: httpx.AsyncClient, shop: Shop) -> str:
    product = await add_product(api, shop, MEAL_FOR_TWO)
    placed = await order(
        api,
        shop,
        {
            "voucherId": product["voucherId"],
            "optionId": product["options"][0]["optionId"],
            "payments": [{"amount": 100, "currency": "GBP", "title": "EPOS CreditCard"}],
            "buyer": {"name": "Buyer Name", "email": "buyer@example.com"},
            "recipient": {
                "name": "Buyer Name",
                "email": "buyer@example.com",
                "message": "Happy birthday\nMy dear friend!",
            },
            "deliveryDate": datetime.now(ZoneInfo("Europe/London")).strftime("%Y-%m-%d %H:%M"),
        },
    )
    return str(placed["codes"][0])


async def test_get_gift_voucher_answers_the_seeds_example(api: httpx.AsyncClient, shop: Shop) -> None:
    seed = golden("voucher_get_response.json")
    created = await add_product(api, shop, SPA_DAY)
    shown = (await api.get(f"{V1}/voucher/{created['voucherId']}", headers=shop.headers)).json()
    for key, value in (("voucherId", 22676), ("categories", 77423), ("options", 99195), ("delivery", 52214)):
        if key == "voucherId":
            shown[key] = value
            continue
        (item,) = shown[key]
        id_key = {"categories": "categoryId", "options": "optionId", "delivery": "methodId"}[key]
        assert isinstance(item[id_key], int)
        item[id_key] = value
    assert restricted(shown, seed) == seed


@pytest.mark.parametrize("as_form", [True, False], ids=["form", "json"])
async def test_the_seeds_status_and_redeem_examples(
    api: httpx.AsyncClient, shop: Shop, as_form: bool
) -> None:
    code = await bought(api, shop)
    status = await api.get(f"{V1}/status?code={code}", headers=shop.headers)
    assert status.status_code == 200, status.text
    seed_status = golden("status_fixed_single_use_response.json")
    assert status_as_seed(status.json(), seed_status) == seed_status
    if as_form:  # the seed's curl: -d code="AAAA-BBBB-CCCC-DDDD" -d domain=1
        redeemed = await api.post(
            f"{V1}/redeem", content=f"code={code}&domain={shop.domain}", headers={**FORM, **shop.headers}
        )
    else:
        redeemed = await api.post(
            f"{V1}/redeem", json={"code": code, "domain": shop.domain}, headers=shop.headers
        )
    assert redeemed.status_code == 200, redeemed.text
    seed_redeem = golden("redeem_fixed_single_use_response.json")
    assert status_as_seed(redeemed.json(), seed_redeem) == seed_redeem


async def test_the_seeds_order_answer(api: httpx.AsyncClient, shop: Shop) -> None:
    product = await add_product(api, shop, MEAL_FOR_TWO)
    form = (
        f"domain={shop.domain}&voucherId={product['voucherId']}&optionId={product['options'][0]['optionId']}"
        "&payments[0][amount]=100&payments[0][currency]=GBP&payments[0][title]=EPOS CreditCard"
        "&payments[0][metadata][reference]=c2a3cc45-6580-4717-9de6-a0a785dc1b41"
    )
    answer = await api.post(f"{V1}/order", content=form, headers={**FORM, **shop.headers})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert isinstance(body["orderId"], int)
    assert restricted({**body, "orderId": 763521}, golden("order_response.json")) == golden(
        "order_response.json"
    )


def with_seed_code(body: dict[str, Any]) -> dict[str, Any]:
    assert codes.canonical(body["code"]) == body["code"]
    return {**body, "code": "AAAA-BBBB-CCCC-DDDD"}


@pytest.mark.parametrize("as_form", [True, False], ids=["form", "json"])
async def test_the_seeds_partial_status_redeem_and_top_up_examples(
    api: httpx.AsyncClient, shop: Shop, as_form: bool
) -> None:
    """The samples the seed abbreviates (``...``): their fields as shown."""

    async def post(path: str, fields: dict[str, Any]) -> dict[str, Any]:
        if as_form:
            form = "&".join(f"{key}={value}" for key, value in fields.items())
            response = await api.post(f"{V1}{path}", content=form, headers={**FORM, **shop.headers})
        else:
            response = await api.post(f"{V1}{path}", json=fields, headers=shop.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    money = await add_product(
        api, shop, {"type": "monetary", "title": "Gift card", "currency": "GBP", "minAmount": 1}
    )
    bodies = {}
    for amount in (2000, 5):
        placed = await order(
            api,
            shop,
            {
                "voucherId": money["voucherId"],
                "monetaryAmount": amount,
                "payments": [{"amount": amount, "currency": "GBP"}],
            },
        )
        bodies[amount] = placed["codes"][0]
    await post("/redeem", {"code": bodies[2000], "domain": shop.domain, "reductor": 100})
    status = (await api.get(f"{V1}/status", params={"code": bodies[2000]}, headers=shop.headers)).json()
    seed = golden("status_monetary_multi_use_response.json")
    assert restricted(with_seed_code(status), seed) == seed

    await post("/redeem", {"code": bodies[5], "domain": shop.domain, "reductor": 2})
    topped = await post("/top-up", {"code": bodies[5], "domain": shop.domain, "amount": 3})
    seed = golden("top_up_response.json")
    assert restricted(with_seed_code(topped), seed) == seed

    meal = await add_product(
        api, shop, {**MEAL_FOR_TWO, "options": [{"sellPrice": 100}, {"sellPrice": 450, "quantity": 5}]}
    )
    codes_of = {}
    for option in meal["options"]:
        placed = await order(
            api,
            shop,
            {
                "voucherId": meal["voucherId"],
                "optionId": option["optionId"],
                "payments": [{"amount": option["sellPrice"], "currency": "GBP"}],
            },
        )
        codes_of[option["sellPrice"]] = placed["codes"][0]
    multi = await post("/redeem", {"code": codes_of[450], "domain": shop.domain, "reductor": 2})
    seed = golden("redeem_fixed_multi_use_response.json")
    assert restricted(with_seed_code(multi), seed) == seed
    await post("/redeem", {"code": codes_of[100], "domain": shop.domain})
    done = (await api.get(f"{V1}/status", params={"code": codes_of[100]}, headers=shop.headers)).json()
    seed = golden("status_redeemed_completely_response.json")
    assert restricted(with_seed_code(done), seed) == seed


async def test_the_seeds_voucher_list_example(api: httpx.AsyncClient, shop: Shop) -> None:
    seed = golden("vouchers_list_response.json")
    await add_product(api, shop, SPA_DAY)
    listed = (await api.get(f"{V1}/vouchers?domainId={shop.domain}", headers=shop.headers)).json()
    (item,) = listed
    item = {**item, "voucherId": 22676}
    item["options"] = [{**item["options"][0], "optionId": 99195}]
    item["categories"] = [{**item["categories"][0], "categoryId": 77423}]
    assert restricted([item], seed) == seed
