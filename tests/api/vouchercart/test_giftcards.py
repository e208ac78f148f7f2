"""Gift vouchers over VoucherCart's API (seed 003): the catalog, orders, and a code's status,
redemption and top-up, sent as the seed's curl sends them (forms) and as JSON, with the seed's
examples as golden bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import make_tenant
from tests.fixtures.shops import Shop, open_shop
from tests.fixtures.smtp import SmtpServer, pdf_text, read
from voucherd.accounts import staff
from voucherd.db import Database, unit_of_work
from voucherd.events import service as events
from voucherd.giftcards import codes
from voucherd.jobs import runner
from voucherd.mail.service import MAIL_VOUCHER
from voucherd.models import Event, GiftCard, GiftLedgerEntry, GiftOrder, Job

V1 = "/vouchercart/v1"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# The seed's "Get gift voucher" example, without the ids we assign.
SPA_DAY = {
    "type": "fixed",
    "title": "Spa Day with Treatment & Afternoon Tea!",
    "description": "Enjoy a Pamper Day in our Spa!! ...",
    "terms": "Please note that advance booking is essential when using this gift voucher...",
    "options": [{"type": "fixed", "description": "", "sellPrice": 1999, "currency": "USD"}],
    "currency": "USD",
    "image": "https://assets.vouchercart.../product.jpg",
    "images": ["https://assets.vouchercart.../2x.jpg"],
    "categories": [{"name": "Spa"}],
    "accessLevel": "published",
    "delivery": [
        {
            "type": "electronic",
            "title": "Electronic",
            "options": [
                {
                    "title": "Electronic",
                    "description": "Deliver instantly via e-mail",
                    "amount": 0,
                    "currency": "USD",
                }
            ],
        }
    ],
    "expiry": {"type": "period", "interval": "months", "period": 3},
    "hidePriceDisabled": False,
    "quantityIsLimited": True,
    "stock": 10,
}
SPA_DAY_SHOWN = {  # the seed's response, ids left out
    "type": "fixed",
    "title": "Spa Day with Treatment & Afternoon Tea!",
    "description": "Enjoy a Pamper Day in our Spa!! ...",
    "terms": "Please note that advance booking is essential when using this gift voucher...",
    "price": 1999,
    "currency": "USD",
    "image": "https://assets.vouchercart.../product.jpg",
    "images": ["https://assets.vouchercart.../2x.jpg"],
    "accessLevel": "published",
    "expiry": {"type": "period", "interval": "months", "period": 3},
    "hidePriceDisabled": False,
    "quantityIsLimited": True,
}
# The seed's status example (fixed, single-use), whose order object we compare field by field.
STATUS_KEYS = [
    "code",
    "current",
    "expirations",
    "monetary",
    "multiUsable",
    "order",
    "redeemableOn",
    "redeemed",
    "redeemHistory",
    "remainingString",
    "status",
    "stock",
]
ORDER_KEYS = {
    "buyer",
    "currency",
    "voucher",
    "purchasedAt",
    "recipient",
    "redeemedDate",
    "reference",
    "refund",
    "shippingTotal",
    "subTotal",
    "taxTotal",
    "total",
}
BUYER_KEYS = {
    "city",
    "country",
    "county",
    "email",
    "guest",
    "handDelivery",
    "house",
    "id",
    "name",
    "phone",
    "postcode",
    "street",
    "town",
}
VOUCHER_KEYS = {
    "currency",
    "deliveryType",
    "description",
    "hiddenPriceOnVoucher",
    "id",
    "image",
    "imageNoPrice",
    "isDeliveryDateSet",
    "message",
    "name",
    "price",
    "priceOnVoucher",
    "type",
    "voucherType",
}
RECIPIENT_KEYS = {
    "city",
    "comment",
    "country",
    "county",
    "email",
    "from",
    "houseName",
    "name",
    "postcode",
    "streetName",
}


async def add_product(api: httpx.AsyncClient, shop: Shop, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(f"{V1}/vouchers", json={"domainId": shop.domain, **body}, headers=shop.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


MEAL = {
    "type": "fixed",
    "title": "Fixed voucher: Meal for two",
    "description": "Fixed desc",
    "currency": "GBP",
    "taxRate": 2500,
    "hidePriceDisabled": True,
    "options": [
        {"sellPrice": 100, "description": "Dinner"},
        {"sellPrice": 450, "quantity": 5, "description": "Five lunches"},
    ],
    "expiry": {"type": "period", "interval": "months", "period": 3},
}
MONEY = {"type": "monetary", "title": "Gift card", "currency": "GBP", "minAmount": 500, "maxAmount": 50_000}


async def order(
    api: httpx.AsyncClient, shop: Shop, body: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    response = await api.post(f"{V1}/order", json={"domainId": shop.domain, **body}, headers=shop.headers)
    assert response.status_code == status, response.text
    return dict(response.json())


async def meal_code(
    api: httpx.AsyncClient, shop: Shop, option: int = 0, **extra: Any
) -> tuple[dict[str, Any], str]:
    product = await add_product(api, shop, MEAL)
    chosen = product["options"][option]
    body = {
        "voucherId": product["voucherId"],
        "optionId": chosen["optionId"],
        "payments": [{"amount": chosen["sellPrice"], "currency": "GBP", "title": "EPOS CreditCard"}],
        "buyer": {"name": "Buyer Name", "email": "buyer@example.com"},
        "recipient": {
            "name": "Buyer Name",
            "email": "buyer@example.com",
            "message": "Happy birthday\nMy dear friend!",
        },
        **extra,
    }
    placed = await order(api, shop, body)
    return product, placed["codes"][0]


async def money_code(api: httpx.AsyncClient, shop: Shop, amount: int = 2000) -> str:
    product = await add_product(api, shop, MONEY)
    placed = await order(
        api,
        shop,
        {
            "voucherId": product["voucherId"],
            "monetaryAmount": amount,
            "payments": [{"amount": amount, "currency": "GBP", "title": "EPOS CreditCard"}],
        },
    )
    return str(placed["codes"][0])


async def ledger_matches(database: Database, code: str) -> int:
    async with unit_of_work(database, write=False) as session:
        card = await session.scalar(select(GiftCard).where(GiftCard.code == code))
        assert card is not None
        total = await session.scalar(
            select(func.sum(GiftLedgerEntry.amount)).where(GiftLedgerEntry.giftcard_id == card.id)
        )
        assert total == card.balance
        return card.balance


# --- the catalog -----------------------------------------------------------------------------


async def test_a_product_shows_as_the_seed_prints_it(api: httpx.AsyncClient, shop: Shop) -> None:
    created = await add_product(api, shop, SPA_DAY)
    shown = (await api.get(f"{V1}/voucher/{created['voucherId']}", headers=shop.headers)).json()
    assert shown == created
    for key, value in SPA_DAY_SHOWN.items():
        assert shown[key] == value, key
    (option,) = shown["options"]
    assert {
        k: option[k]
        for k in ("type", "description", "displayPrice", "optionQuantity", "sellPrice", "currency")
    } == {
        "type": "fixed",
        "description": "",
        "displayPrice": "$19.99",
        "optionQuantity": None,
        "sellPrice": 1999,
        "currency": "USD",
    }
    assert isinstance(option["optionId"], int)
    (category,) = shown["categories"]
    assert category["name"] == "Spa"
    assert isinstance(category["categoryId"], int)
    (method,) = shown["delivery"]
    assert isinstance(method["methodId"], int)
    assert {k: method[k] for k in ("type", "title", "options")} == {
        "type": "electronic",
        "title": "Electronic",
        "options": [
            {
                "title": "Electronic",
                "description": "Deliver instantly via e-mail",
                "amount": 0,
                "currency": "USD",
            }
        ],
    }


async def test_a_product_arrives_as_a_form_too(api: httpx.AsyncClient, shop: Shop) -> None:
    form = (
        f"domainId={shop.domain}&type=predefined&title=Fifty pounds 100% fun&currency=GBP"
        "&options[0][sellPrice]=4500&options[0][realValue]=5000&categories[0][name]=Gifts"
        "&expiry[type]=time&expiry[dateTo]=2030-01-01 00:00&quantityIsLimited=false"
    )
    response = await api.post(f"{V1}/vouchers", content=form, headers={**FORM, **shop.headers})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["title"] == "Fifty pounds 100% fun"
    assert body["options"][0]["displayPrice"] == "£45.00"
    assert body["options"][0]["realValue"] == 5000
    assert body["expiry"]["type"] == "time"
    assert body["expiry"]["dateTo"] == "2030-01-01T00:00:00+0000"  # London in winter is UTC
    assert body["categories"][0]["name"] == "Gifts"


async def test_the_list_shows_published_vouchers_of_the_page(api: httpx.AsyncClient, shop: Shop) -> None:
    for index in range(17):
        await add_product(api, shop, {**MEAL, "title": f"Meal {index}"})
    await add_product(api, shop, {**MEAL, "title": "Hidden", "accessLevel": "secret"})
    first = (await api.get(f"{V1}/vouchers?domainId={shop.domain}", headers=shop.headers)).json()
    assert [item["title"] for item in first] == [f"Meal {i}" for i in range(15)]
    rest = (await api.get(f"{V1}/vouchers?domainId={shop.domain}&offset=15", headers=shop.headers)).json()
    assert [item["title"] for item in rest] == ["Meal 15", "Meal 16"]
    secret = (
        await api.get(f"{V1}/vouchers?domain={shop.domain}&accessLevel=secret", headers=shop.headers)
    ).json()
    assert [item["title"] for item in secret] == ["Hidden"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "voucher"}, "type"),
        ({"title": ""}, "title"),
        ({"options": []}, "options"),
        ({"options": [{"description": "no price"}]}, "options[0].sellPrice"),
        ({"taxRate": 10001}, "taxRate"),
        ({"quantityIsLimited": True}, "stock"),
        ({"expiry": {"type": "period", "interval": "years", "period": 3}}, "expiry.interval"),
        ({"expiry": {"type": "time"}}, "expiry.dateTo"),
        ({"options": [{"sellPrice": 100, "currency": "USD"}]}, "options[0]"),
        ({"image": "javascript:alert(1)"}, "image"),
        (
            {"images": ["https://pictures.example/a.jpg", "data:text/html,<script>alert(1)</script>"]},
            "images[1]",
        ),
        ({"image": "/product.jpg"}, "image"),
    ],
)
async def test_a_bad_product_is_refused_and_names_its_field(
    api: httpx.AsyncClient, shop: Shop, database: Database, change: dict[str, Any], field: str
) -> None:
    response = await api.post(
        f"{V1}/vouchers", json={**MEAL, **change, "domainId": shop.domain}, headers=shop.headers
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["status"] == "failed"
    assert field in body["error"]
    listed = (await api.get(f"{V1}/vouchers?accessLevel=all", headers=shop.headers)).json()
    assert listed == []


async def test_put_replaces_and_delete_unpublishes_a_sold_voucher(api: httpx.AsyncClient, shop: Shop) -> None:
    product, _ = await meal_code(api, shop)
    number = product["voucherId"]
    sold, unsold = product["options"]
    kept = {
        **MEAL,
        "title": "Meal for two, new",
        "options": [{"optionId": sold["optionId"], "sellPrice": 120}],
    }
    replaced = await api.put(f"{V1}/voucher/{number}", json=kept, headers=shop.headers)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["title"] == "Meal for two, new"
    assert [o["optionId"] for o in replaced.json()["options"]] == [sold["optionId"]]
    dropping_sold = {**MEAL, "options": [{"sellPrice": 300}]}
    refused = await api.put(f"{V1}/voucher/{number}", json=dropping_sold, headers=shop.headers)
    assert refused.status_code == 409
    assert refused.json()["code"] == "option_sold"
    assert (await api.delete(f"{V1}/voucher/{number}", headers=shop.headers)).status_code == 204
    still = (await api.get(f"{V1}/voucher/{number}", headers=shop.headers)).json()
    assert still["accessLevel"] == "unpublished"
    never_sold = await add_product(api, shop, MONEY)
    assert (
        await api.delete(f"{V1}/voucher/{never_sold['voucherId']}", headers=shop.headers)
    ).status_code == 204
    assert (await api.get(f"{V1}/voucher/{never_sold['voucherId']}", headers=shop.headers)).status_code == 404
    del unsold


# --- orders ----------------------------------------------------------------------------------


async def test_the_seeds_order_curl_places_a_monetary_order(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    product = await add_product(api, shop, MONEY)
    form = (
        f"domain={shop.domain}&voucherId={product['voucherId']}&monetaryAmount=2000"
        "&payments[0][amount]=2000&payments[0][currency]=GBP&payments[0][title]=EPOS CreditCard"
        "&payments[0][metadata][reference]=c2a3cc45-6580-4717-9de6-a0a785dc1b41"
    )
    response = await api.post(f"{V1}/order", content=form, headers={**FORM, **shop.headers})
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == ["status", "orderId", "codes"]
    assert body["status"] == "created"
    assert isinstance(body["orderId"], int)
    (code,) = body["codes"]
    assert codes.canonical(code) == code
    assert len(code) == 24
    async with unit_of_work(database, write=False) as session:
        placed = await session.scalar(select(GiftOrder))
        assert placed is not None
        assert placed.payments == [
            {
                "amount": 2000,
                "currency": "GBP",
                "title": "EPOS CreditCard",
                "metadata": {"reference": "c2a3cc45-6580-4717-9de6-a0a785dc1b41"},
            }
        ]
        created = await session.scalar(select(Event).where(Event.type == events.ORDER_CREATED))
        assert created is not None
        assert created.data["codes"] == [code]
    assert await ledger_matches(database, code) == 2000
    shown = (await api.get(f"{V1}/order/{body['orderId']}", headers=shop.headers)).json()
    assert shown["orderId"] == body["orderId"]
    assert shown["total"] == 2000
    assert [item["code"] for item in shown["codes"]] == [code]


@pytest.mark.parametrize(
    ("payments", "code"),
    [
        ([{"amount": 1999, "currency": "GBP"}], "payment_mismatch"),
        ([{"amount": 1000, "currency": "GBP"}, {"amount": 1001, "currency": "GBP"}], "payment_mismatch"),
        ([{"amount": 2000, "currency": "USD"}], "currency_mismatch"),
        ([], "payment_mismatch"),
    ],
)
async def test_payments_must_cover_the_order_exactly(
    api: httpx.AsyncClient, shop: Shop, database: Database, payments: list[dict[str, Any]], code: str
) -> None:
    """RELIABILITY M6: a currency mismatch is a 422 currency_mismatch with 0 ledger rows."""
    product = await add_product(api, shop, MONEY)
    refused = await order(
        api,
        shop,
        {"voucherId": product["voucherId"], "monetaryAmount": 2000, "payments": payments},
        status=422,
    )
    assert refused["code"] == code
    async with unit_of_work(database, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(GiftCard)) == 0
        assert await session.scalar(select(func.count()).select_from(GiftOrder)) == 0
        assert await session.scalar(select(func.count()).select_from(GiftLedgerEntry)) == 0


async def test_an_order_splits_tax_and_issues_one_code_per_unit(api: httpx.AsyncClient, shop: Shop) -> None:
    product = await add_product(api, shop, MEAL)
    option = product["options"][0]
    placed = await order(
        api,
        shop,
        {
            "voucherId": product["voucherId"],
            "optionId": option["optionId"],
            "quantity": 3,
            "payments": [{"amount": 300, "currency": "GBP"}],
        },
    )
    assert len(set(placed["codes"])) == 3
    shown = (await api.get(f"{V1}/order/{placed['orderId']}", headers=shop.headers)).json()
    assert (shown["total"], shown["subTotal"], shown["taxTotal"], shown["shippingTotal"]) == (300, 240, 60, 0)


async def test_a_retried_order_with_its_key_issues_nothing_more(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    product = await add_product(api, shop, MONEY)
    body = {
        "domainId": shop.domain,
        "voucherId": product["voucherId"],
        "monetaryAmount": 2000,
        "payments": [{"amount": 2000, "currency": "GBP"}],
    }
    headers = {**shop.headers, "Idempotency-Key": "order-1"}
    first = await api.post(f"{V1}/order", json=body, headers=headers)
    again = await api.post(f"{V1}/order", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    async with unit_of_work(database, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(GiftCard)) == 1


async def test_limited_stock_and_unpublished_vouchers(api: httpx.AsyncClient, shop: Shop) -> None:
    product = await add_product(api, shop, {**MEAL, "quantityIsLimited": True, "stock": 2})
    option = product["options"][0]["optionId"]
    body = {
        "voucherId": product["voucherId"],
        "optionId": option,
        "payments": [{"amount": 200, "currency": "GBP"}],
    }
    await order(api, shop, {**body, "quantity": 2})
    refused = await order(
        api, shop, {**body, "quantity": 1, "payments": [{"amount": 100, "currency": "GBP"}]}, 409
    )
    assert refused["code"] == "sold_out"
    hidden = await add_product(api, shop, {**MEAL, "accessLevel": "unpublished"})
    body = {
        "voucherId": hidden["voucherId"],
        "optionId": hidden["options"][0]["optionId"],
        "payments": [{"amount": 100, "currency": "GBP"}],
    }
    assert (await order(api, shop, body, 409))["code"] == "voucher_not_on_sale"


# --- status, redeem, top-up ------------------------------------------------------------------


async def test_status_of_a_fixed_single_use_voucher_matches_the_seed(
    api: httpx.AsyncClient, shop: Shop
) -> None:
    product, code = await meal_code(api, shop)
    body = (await api.get(f"{V1}/status", params={"code": code}, headers=shop.headers)).json()
    assert [key for key in body if key in STATUS_KEYS] == STATUS_KEYS
    assert body["code"] == code
    assert (body["current"], body["stock"], body["monetary"], body["multiUsable"]) == (0, 1, False, False)
    assert (body["redeemed"], body["status"], body["remainingString"]) == (
        False,
        "in_progress",
        "1 time left",
    )
    assert body["redeemHistory"] == []
    assert body["redeemableOn"] == [shop.domain]
    (expiry,) = body["expirations"]
    assert expiry["from"].endswith("+0000")
    assert expiry["to"].endswith("+0000")
    placed = body["order"]
    assert set(placed) >= ORDER_KEYS
    assert set(placed["buyer"]) == BUYER_KEYS
    assert set(placed["voucher"]) == VOUCHER_KEYS
    assert set(placed["recipient"]) == RECIPIENT_KEYS
    assert placed["buyer"]["email"] == "buyer@example.com"
    assert placed["buyer"]["handDelivery"] is True
    assert placed["voucher"] | {"id": None} == {
        "currency": "GBP",
        "deliveryType": "electronic",
        "description": "Fixed desc",
        "hiddenPriceOnVoucher": True,
        "id": None,
        "image": None,
        "imageNoPrice": None,
        "isDeliveryDateSet": False,
        "message": "Happy birthday\nMy dear friend!",
        "name": "Fixed voucher: Meal for two",
        "price": 100,
        "priceOnVoucher": "£1.00",
        "type": "voucher",
        "voucherType": "fixed",
    }
    assert placed["voucher"]["id"] == product["voucherId"]
    assert placed["recipient"]["comment"] == "<p>Happy birthday</p>\n<p>My dear friend!</p>"
    assert (placed["total"], placed["subTotal"], placed["taxTotal"], placed["shippingTotal"]) == (
        100,
        80,
        20,
        0,
    )
    assert placed["redeemedDate"] is None
    assert placed["refund"] is None
    assert placed["reference"].endswith("-1")


async def test_redeeming_a_single_use_voucher_completes_it(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    _, code = await meal_code(api, shop)
    form = f'code="{code}"'.replace('"', "") + f"&domain={shop.domain}"
    redeemed = await api.post(f"{V1}/redeem", content=form, headers={**FORM, **shop.headers})
    assert redeemed.status_code == 200, redeemed.text
    body = redeemed.json()
    assert (body["current"], body["stock"], body["redeemed"], body["status"]) == (1, 1, True, "completed")
    assert body["remainingString"] == "0 time left"
    (history,) = body["redeemHistory"]
    assert list(history) == ["redeemAt", "amount"]
    assert history["amount"] == 1
    assert body["order"]["redeemedDate"] == history["redeemAt"]
    again = await api.post(f"{V1}/redeem", content=form, headers={**FORM, **shop.headers})
    assert again.status_code == 409
    assert again.json()["code"] == "voucher_redeemed"
    assert await ledger_matches(database, code) == 0
    async with unit_of_work(database, write=False) as session:
        redeemed_events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == events.GIFTCARD_REDEEMED)
        )
        assert redeemed_events == 1


async def test_a_multi_use_voucher_redeems_by_units(api: httpx.AsyncClient, shop: Shop) -> None:
    _, code = await meal_code(api, shop, option=1)
    minute = datetime.now(ZoneInfo("Europe/London")).replace(second=0, microsecond=0)  # the client's zone
    body = (
        await api.post(
            f"{V1}/redeem",
            data={
                "code": code,
                "domain": str(shop.domain),
                "reductor": "2",
                "redeemDate": f"{minute:%Y-%m-%d %H:%M}",
            },
            headers=shop.headers,
        )
    ).json()
    assert (body["current"], body["stock"], body["multiUsable"], body["status"]) == (
        2,
        5,
        True,
        "in_progress",
    )
    assert body["redeemHistory"] == [
        {"redeemAt": f"{minute.astimezone(UTC):%Y-%m-%dT%H:%M:%S}+0000", "amount": 2}
    ]
    assert body["remainingString"] == "3 times left"
    too_many = await api.post(
        f"{V1}/redeem", data={"code": code, "domain": str(shop.domain), "reductor": "4"}, headers=shop.headers
    )
    assert too_many.status_code == 409
    assert too_many.json()["code"] == "insufficient_balance"
    rest = await api.post(
        f"{V1}/redeem", data={"code": code, "domain": str(shop.domain)}, headers=shop.headers
    )
    assert (rest.json()["current"], rest.json()["status"]) == (5, "completed")


async def test_a_stored_value_redeems_partly_and_tops_up(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    code = await money_code(api, shop)
    spent = await api.post(
        f"{V1}/redeem", json={"code": code, "domain": shop.domain, "reductor": 100}, headers=shop.headers
    )
    body = spent.json()
    assert (body["current"], body["stock"], body["monetary"], body["multiUsable"]) == (100, 2000, True, True)
    assert (body["redeemed"], body["status"], body["remainingString"]) == (
        False,
        "in_progress",
        "£19.00 left",
    )
    over = await api.post(
        f"{V1}/redeem", json={"code": code, "domain": shop.domain, "reductor": 1901}, headers=shop.headers
    )
    assert over.status_code == 409
    assert over.json()["code"] == "insufficient_balance"
    assert "£19.00" in over.json()["error"]
    topped = await api.post(
        f"{V1}/top-up", content=f"code={code}&domain={shop.name}&amount=3", headers={**FORM, **shop.headers}
    )
    assert topped.status_code == 200, topped.text
    assert (topped.json()["current"], topped.json()["stock"]) == (100, 2003)
    assert await ledger_matches(database, code) == 1903
    capped = await api.post(
        f"{V1}/top-up", json={"code": code, "domain": shop.domain, "amount": 50_000}, headers=shop.headers
    )
    assert capped.status_code == 422
    assert capped.json()["code"] == "top_up_over_cap"
    assert await ledger_matches(database, code) == 1903


async def test_only_stored_values_top_up(api: httpx.AsyncClient, shop: Shop) -> None:
    _, code = await meal_code(api, shop)
    refused = await api.post(
        f"{V1}/top-up", json={"code": code, "domain": shop.domain, "amount": 3}, headers=shop.headers
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_a_stored_value"


async def test_codes_are_checked_per_client_and_sales_page(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    _, code = await meal_code(api, shop)
    elsewhere = await open_shop(database, shop.tenant, "spa-town-2")
    wrong_page = await api.post(
        f"{V1}/redeem", json={"code": code, "domain": elsewhere.domain}, headers=shop.headers
    )
    assert wrong_page.status_code == 409
    assert wrong_page.json()["code"] == "not_redeemable_on_domain"
    assert (
        await api.get(f"{V1}/status", params={"code": code, "domain": elsewhere.domain}, headers=shop.headers)
    ).status_code == 409
    stranger = await open_shop(database, await make_tenant(database, "Other Spa"), "other-spa")
    for response in (
        await api.get(f"{V1}/status", params={"code": code}, headers=stranger.headers),
        await api.post(
            f"{V1}/redeem", json={"code": code, "domain": stranger.domain}, headers=stranger.headers
        ),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "voucher_code_not_found"
    mistyped = code[:-1] + ("0" if code[-1] != "0" else "1")
    typo = await api.get(f"{V1}/status", params={"code": mistyped}, headers=shop.headers)
    assert typo.status_code == 422
    assert typo.json()["code"] == "code_mistyped"
    typed_loosely = code.replace("-", " ").lower()
    assert (
        await api.get(f"{V1}/status", params={"code": typed_loosely}, headers=shop.headers)
    ).status_code == 200


async def test_another_clients_catalog_and_orders_are_404(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    product, _ = await meal_code(api, shop)
    placed = await order(
        api,
        shop,
        {
            "voucherId": product["voucherId"],
            "optionId": product["options"][0]["optionId"],
            "payments": [{"amount": 100, "currency": "GBP"}],
        },
    )
    stranger = await open_shop(database, await make_tenant(database, "Other Spa"), "other-spa")
    number = product["voucherId"]
    for response in (
        await api.get(f"{V1}/voucher/{number}", headers=stranger.headers),
        await api.put(f"{V1}/voucher/{number}", json=MEAL, headers=stranger.headers),
        await api.delete(f"{V1}/voucher/{number}", headers=stranger.headers),
        await api.get(f"{V1}/order/{placed['orderId']}", headers=stranger.headers),
        await api.post(
            f"{V1}/order",
            json={"voucherId": number, "optionId": product["options"][0]["optionId"], "payments": []},
            headers=stranger.headers,
        ),
        await api.get(f"{V1}/vouchers?domainId={shop.domain}", headers=stranger.headers),
    ):
        assert response.status_code == 404, response.text
    assert (await api.get(f"{V1}/vouchers", headers=stranger.headers)).json() == []


async def test_without_a_token_everything_is_401(api: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/vouchers"),
        ("POST", "/vouchers"),
        ("GET", "/voucher/1"),
        ("PUT", "/voucher/1"),
        ("DELETE", "/voucher/1"),
        ("POST", "/order"),
        ("GET", "/order/1"),
        ("GET", "/status?code=x"),
        ("POST", "/redeem"),
        ("POST", "/top-up"),
    ):
        response = await api.request(method, f"{V1}{path}", content="{broken")
        assert response.status_code == 401, (method, path, response.text)


async def test_counter_staff_redeem_but_do_not_sell_or_top_up(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    code = await money_code(api, shop)
    async with unit_of_work(database) as session:
        await staff.create_staff(
            session,
            shop.tenant.client_id,
            staff.StaffInput(
                email="waiter@example.com",
                password="a long password",
                full_name="Wai Ter",
                pages=[shop.name],
            ),
        )
    login = await api.post(
        f"{V1}/authorize",
        data={"subdomain": shop.name},
        auth=("waiter@example.com", "a long password"),
    )
    assert login.status_code == 200, login.text
    waiter = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    redeemed = await api.post(
        f"{V1}/redeem", json={"code": code, "domain": shop.domain, "reductor": 5}, headers=waiter
    )
    assert redeemed.status_code == 200, redeemed.text
    for response in (
        await api.post(
            f"{V1}/top-up", json={"code": code, "domain": shop.domain, "amount": 5}, headers=waiter
        ),
        await api.post(f"{V1}/vouchers", json=MONEY, headers=waiter),
        await api.post(f"{V1}/order", json={"voucherId": 1}, headers=waiter),
    ):
        assert response.status_code == 403, response.text
    assert await ledger_matches(database, code) == 1995


# --- mail ------------------------------------------------------------------------------------


async def test_an_order_mails_each_code_to_its_recipient(
    api: httpx.AsyncClient, shop: Shop, database: Database, smtp_server: SmtpServer
) -> None:
    product = await add_product(api, shop, {**MEAL, "terms": "Book ahead."})
    placed = await order(
        api,
        shop,
        {
            "voucherId": product["voucherId"],
            "optionId": product["options"][1]["optionId"],
            "quantity": 2,
            "payments": [{"amount": 900, "currency": "GBP"}],
            "buyer": {"name": "Bob", "email": "bob@example.com"},
            "recipient": {"name": "Ann", "email": "ann@example.com", "message": "Enjoy <b>it</b>"},
        },
    )
    assert await runner.run_until_idle(database) == 2
    mails = smtp_server.inbox.messages
    assert sorted(envelope.rcpt_tos[0] for envelope in smtp_server.inbox.envelopes) == ["ann@example.com"] * 2
    sent = {code for message in mails for code in placed["codes"] if code in read(message).text}
    assert sent == set(placed["codes"])
    parts = read(mails[0])
    assert mails[0]["Subject"] == "Bob sent you a gift from Spa Town: Fixed voucher: Meal for two"
    assert "Five lunches (5 uses)" in parts.text
    assert "Book ahead." in parts.text
    assert "Enjoy &lt;b&gt;it&lt;/b&gt;" in parts.html
    assert any(code in pdf_text(parts.pdf) for code in placed["codes"])


async def test_an_order_without_an_email_mails_nothing(
    api: httpx.AsyncClient, shop: Shop, database: Database
) -> None:
    await money_code(api, shop)
    async with unit_of_work(database, write=False) as session:
        assert (
            await session.scalar(select(func.count()).select_from(Job).where(Job.kind == MAIL_VOUCHER)) == 0
        )
