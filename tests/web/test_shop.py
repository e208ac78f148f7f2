"""The gift voucher shop (/shop/{subdomain}/) over HTTP on both databases: what it lists and sells,
the purchase form's errors (nothing saved), CSRF, the per-IP limit, and an order awaiting payment
that staff mark paid through our API, after which its codes work at the checkout and its mail
arrives."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant, make_tenant
from tests.fixtures.smtp import SmtpServer, read, set_env
from voucherd.accounts import staff
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.giftcards import catalog
from voucherd.jobs import runner
from voucherd.models import Event, GiftCard, GiftOrder, GiftProduct, Job

SHOP = "/shop/spa-town"
GIFT_CARD = catalog.ProductInput(
    sales_page="spa-town",
    type="monetary",
    title="Spa Town gift card",
    description="Any amount, spent over many visits.",
    terms="Not exchangeable for cash.",
    min_amount=1000,
    max_amount=20000,
    quantity_is_limited=True,
    stock=5,
    expiry=catalog.ExpiryInput(type="period", interval="months", period=12),
)
MASSAGE = catalog.ProductInput(
    sales_page="spa-town",
    type="fixed",
    title="Hot stone massage",
    options=[catalog.OptionInput(sell_price=4500, description="One hour")],
)


async def _product(database: Database, tenant: Tenant, data: catalog.ProductInput, **changes: object) -> int:
    async with unit_of_work(database) as session:
        view = await catalog.create_product(
            session, tenant.principal, catalog.ProductInput(**{**data.__dict__, **changes})
        )
    return view.product.number


@pytest.fixture
async def spa(database: Database, tenant: Tenant) -> dict[str, int]:
    """A sales page with a published gift card and massage, a secret and an unpublished voucher."""
    async with unit_of_work(database) as session:
        await staff.create_sales_page(session, tenant.client_id, "spa-town")
    return {
        "card": await _product(database, tenant, GIFT_CARD, image="http://insecure.example/card.jpg"),
        "massage": await _product(database, tenant, MASSAGE, image="https://images.example/massage.jpg"),
        "secret": await _product(
            database, tenant, MASSAGE, title="Staff friends' massage", access_level="secret"
        ),
        "hidden": await _product(database, tenant, MASSAGE, title="Old offer", access_level="unpublished"),
    }


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def _form(csrf: str, **changes: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "amount": "25.00",
        "buyer_name": "Bob Buyer",
        "buyer_email": "bob@example.com",
        "recipient_name": "Ann",
        "recipient_email": "ann@example.com",
        "message": "Happy birthday!",
        "delivery_date": "",
        **changes,
    }


async def _counts(database: Database) -> tuple[int, int, int, int | None]:
    """Orders, cards, mail jobs, and the gift card's stock left."""
    async with unit_of_work(database, write=False) as session:
        return (
            await session.scalar(select(func.count()).select_from(GiftOrder)) or 0,
            await session.scalar(select(func.count()).select_from(GiftCard)) or 0,
            await session.scalar(select(func.count()).select_from(Job)) or 0,
            await session.scalar(select(GiftProduct.stock).where(GiftProduct.title == GIFT_CARD.title)),
        )


async def test_the_shop_lists_published_vouchers_and_sells_secret_ones_by_link(
    api: httpx.AsyncClient, spa: dict[str, int], database: Database
) -> None:
    # another client's page, with a published voucher of its own
    other = await make_tenant(database, "Other Spa")
    async with unit_of_work(database) as session:
        await staff.create_sales_page(session, other.client_id, "other-spa")
    foreign = await _product(database, other, MASSAGE, sales_page="other-spa", title="Elsewhere")

    listing = await api.get(f"{SHOP}/")
    assert listing.status_code == 200
    assert "unsafe-inline" not in listing.headers["Content-Security-Policy"]
    assert "Spa Town gift card" in listing.text
    assert "From £10.00 to £200.00" in listing.text
    assert "Hot stone massage" in listing.text
    assert "£45.00" in listing.text
    assert "Not exchangeable for cash." in listing.text
    assert '<img class="product-image" src="https://images.example/massage.jpg" alt="">' in listing.text
    assert "insecure.example" not in listing.text  # an image not over https is not shown
    assert "img-src 'self' data: https:;" in listing.headers["Content-Security-Policy"]
    assert "Staff friends" not in listing.text  # secret: not listed
    assert "Old offer" not in listing.text
    assert "<script" not in listing.text
    assert "style=" not in listing.text

    secret = await api.get(f"{SHOP}/vouchers/{spa['secret']}")
    assert secret.status_code == 200
    assert "Staff friends" in secret.text
    assert '<meta name="robots" content="noindex">' in secret.text  # kept out of search engines
    assert "noindex" not in listing.text
    for path in (
        f"{SHOP}/vouchers/99999999999999",
        f"{SHOP}/vouchers/abc",
        f"{SHOP}/vouchers/%C2%B2",  # a superscript two: a digit to str.isdigit, no number
        f"{SHOP}/vouchers/{spa['hidden']}",  # unpublished
        f"{SHOP}/vouchers/{foreign}",  # another client's voucher under this shop
        f"{SHOP}/vouchers/999999",
        "/shop/no-such-shop/",
    ):
        response = await api.get(path)
        assert response.status_code == 404, path
        assert "not found" in response.text
    assert (await api.post(f"{SHOP}/vouchers/{spa['hidden']}", data={})).status_code == 404


async def test_bad_input_shows_each_error_beside_its_field_and_saves_nothing(
    api: httpx.AsyncClient, spa: dict[str, int], database: Database
) -> None:
    page = await api.get(f"{SHOP}/vouchers/{spa['card']}")
    before = await _counts(database)
    yesterday = (clock.now() - timedelta(days=2)).date().isoformat()

    response = await api.post(
        f"{SHOP}/vouchers/{spa['card']}",
        data=_form(
            _csrf(page),
            amount="5",
            buyer_name=" ",
            buyer_email="bob@",
            recipient_email="not an email",
            delivery_date=yesterday,
        ),
    )

    assert response.status_code == 422
    html = response.text
    for field, message in (
        ("amount", "Enter an amount between £10.00 and £200.00."),
        ("buyer_name", "Enter your name."),
        ("buyer_email", "Enter an email address like name@example.com."),
        ("recipient_email", "Enter an email address like name@example.com."),
        ("delivery_date", "Choose a date from today to 365 days ahead"),
    ):
        assert f'<p class="field-error" id="{field}-error">{message}' in html, field
        assert re.search(
            rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"[^>]*aria-invalid="true"', html
        )
    assert 'value="Happy birthday!"' not in html
    assert "Happy birthday!</textarea>" in html
    assert 'role="alert"' in html
    assert await _counts(database) == before

    # an amount that is not a number, and an option of no voucher
    response = await api.post(
        f"{SHOP}/vouchers/{spa['massage']}", data=_form(_csrf(page), option="12345", amount="")
    )
    assert response.status_code == 422
    assert 'id="option-error">Choose an option.' in response.text
    response = await api.post(f"{SHOP}/vouchers/{spa['card']}", data=_form(_csrf(page), amount="ten"))
    assert 'id="amount-error">Enter an amount as a number, like 25 or 25.50.' in response.text
    assert await _counts(database) == before


async def test_a_post_without_a_valid_csrf_token_is_refused(
    api: httpx.AsyncClient, spa: dict[str, int], database: Database
) -> None:
    before = await _counts(database)
    # no cookie and no token (another site's form)
    refused = await api.post(f"{SHOP}/vouchers/{spa['card']}", data=_form(""))
    assert refused.status_code == 403
    # a token that was not signed for this browser's cookie
    await api.get(f"{SHOP}/vouchers/{spa['card']}")
    refused = await api.post(f"{SHOP}/vouchers/{spa['card']}", data=_form("0" * 64))
    assert refused.status_code == 403
    assert "did not come from this shop" in refused.text
    assert await _counts(database) == before


async def test_the_purchase_form_is_rate_limited_per_ip(
    api: httpx.AsyncClient, spa: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, "VOUCHERD_RATE_LIMIT_SHOP_ORDER_PER_IP", "2/minute")
    csrf = _csrf(await api.get(f"{SHOP}/vouchers/{spa['card']}"))
    statuses = [
        (await api.post(f"{SHOP}/vouchers/{spa['card']}", data=_form(csrf, amount="1"))).status_code
        for _ in range(3)
    ]
    assert statuses == [422, 422, 429]


async def test_an_order_awaits_payment_then_staff_mark_it_paid_and_its_code_works_and_is_mailed(
    api: httpx.AsyncClient,
    spa: dict[str, int],
    database: Database,
    tenant: Tenant,
    smtp_server: SmtpServer,
) -> None:
    # given a buyer who orders a £25 gift card for Ann
    csrf = _csrf(await api.get(f"{SHOP}/vouchers/{spa['card']}"))
    placed = await api.post(f"{SHOP}/vouchers/{spa['card']}", data=_form(csrf))
    assert placed.status_code == 303
    confirmation = await api.get(placed.headers["location"])
    assert confirmation.status_code == 200
    assert "Your order is awaiting payment" in confirmation.text
    async with unit_of_work(database, write=False) as session:
        order = (await session.scalars(select(GiftOrder))).one()
    assert order.status == "awaiting_payment"
    assert (order.total, order.buyer_email, order.recipient_email) == (
        2500,
        "bob@example.com",
        "ann@example.com",
    )
    assert f'id="reference">{order.reference}<' in confirmation.text
    assert f"quote your order reference {order.reference}" in confirmation.text
    # then nothing is issued, sent or announced until it is paid (the stock is taken)
    assert await _counts(database) == (1, 0, 0, 4)
    assert await runner.run_until_idle(database) == 0
    assert smtp_server.inbox.envelopes == []
    async with unit_of_work(database, write=False) as session:
        assert (
            await session.scalar(select(func.count()).select_from(Event).where(Event.type == "order.created"))
            == 0
        )

    # when staff record the payment through our API
    paid = await api.post(
        f"/api/orders/{order.number}/payment",
        json={"method": "Card at the counter", "reference": "TILL-0042"},
        headers=tenant.headers,
    )

    # then the order is paid with one usable code, announced, and mailed to Ann
    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert body["status"] == "paid"
    assert body["payments"] == [{"method": "Card at the counter", "reference": "TILL-0042", "amount": 25.0}]
    [card] = body["codes"]
    code = card["code"]
    assert card["balance"] == 25.0
    again = await api.post(
        f"/api/orders/{order.number}/payment", json={"method": "Cash"}, headers=tenant.headers
    )
    assert again.status_code == 200
    assert [c["code"] for c in again.json()["codes"]] == [code]  # paying again issues nothing more
    valid = await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)
    assert valid.status_code == 200, valid.text
    assert valid.json()["valid"] is True
    spent = await api.post(
        "/api/webhook/redemption",
        json={"code": code, "transaction_amount": "10.00", "order_reference": "SPA-1"},
        headers=tenant.headers,
    )
    assert spent.status_code == 201, spent.text
    async with unit_of_work(database, write=False) as session:
        [event] = (await session.scalars(select(Event).where(Event.type == "order.created"))).all()
        assert event.data["codes"] == [code]
        assert event.data["orderId"] == order.number
    assert await runner.run_until_idle(database) >= 1
    [message] = smtp_server.inbox.messages
    assert smtp_server.inbox.envelopes[0].rcpt_tos == ["ann@example.com"]
    assert message["Subject"] == "Bob Buyer sent you a gift from Demo Restaurant: Spa Town gift card"
    mail = read(message)
    assert code in mail.text
    assert f"/redeem/{code}" in mail.text
    assert "Happy birthday!" in mail.text
    # and the shop's confirmation says it is paid
    assert "your order is paid" in (await api.get(placed.headers["location"])).text


async def test_another_clients_order_number_is_not_found_on_the_payment_route(
    api: httpx.AsyncClient,
    spa: dict[str, int],
    database: Database,
    tenant: Tenant,
    other_tenant: Tenant,
    smtp_server: SmtpServer,
) -> None:
    csrf = _csrf(await api.get(f"{SHOP}/vouchers/{spa['massage']}"))
    massage = await api.get(f"{SHOP}/vouchers/{spa['massage']}")
    option = re.search(r'name="option" id="option-\d+" value="(\d+)"', massage.text)
    assert option is not None
    placed = await api.post(
        f"{SHOP}/vouchers/{spa['massage']}",
        data=_form(csrf, amount="", option=option.group(1), recipient_name="", recipient_email=""),
    )
    assert placed.status_code == 303
    async with unit_of_work(database, write=False) as session:
        order = (await session.scalars(select(GiftOrder))).one()
    assert (order.total, order.recipient_email) == (4500, "bob@example.com")  # to the buyer himself

    response = await api.post(
        f"/api/orders/{order.number}/payment", json={"method": "Cash"}, headers=other_tenant.headers
    )

    assert response.status_code == 404
    async with unit_of_work(database, write=False) as session:
        assert (await session.get_one(GiftOrder, order.id)).status == "awaiting_payment"
    assert (await _counts(database))[1] == 0

    # the business itself records it: the buyer gets his own voucher (not "a gift from" himself)
    paid = await api.post(
        f"/api/orders/{order.number}/payment", json={"method": "Cash"}, headers=tenant.headers
    )
    assert paid.status_code == 200
    assert await runner.run_until_idle(database) == 1
    assert smtp_server.inbox.envelopes[0].rcpt_tos == ["bob@example.com"]
    assert smtp_server.inbox.messages[0]["Subject"] == "Your voucher from Demo Restaurant: Hot stone massage"


async def test_a_refunded_unpaid_order_cannot_be_paid(
    api: httpx.AsyncClient, spa: dict[str, int], database: Database, tenant: Tenant
) -> None:
    csrf = _csrf(await api.get(f"{SHOP}/vouchers/{spa['card']}"))
    assert (await api.post(f"{SHOP}/vouchers/{spa['card']}", data=_form(csrf))).status_code == 303
    async with unit_of_work(database, write=False) as session:
        number = (await session.scalars(select(GiftOrder.number))).one()
    refunded = await api.post(f"/api/orders/{number}/refund", headers=tenant.headers)
    assert refunded.status_code == 200
    assert refunded.json()["refund"] == 0  # nothing was paid, nothing is given back
    assert (await _counts(database))[3] == 5  # and the stock it took is on sale again

    response = await api.post(
        f"/api/orders/{number}/payment", json={"method": "Cash"}, headers=tenant.headers
    )

    assert response.status_code == 409
    assert (await _counts(database))[1] == 0


async def test_a_delivery_date_sends_the_voucher_at_the_start_of_that_day_in_the_clients_timezone(
    api: httpx.AsyncClient, spa: dict[str, int], database: Database, tenant: Tenant
) -> None:
    day = (clock.now().astimezone(ZoneInfo("Europe/London")) + timedelta(days=10)).date()
    csrf = _csrf(await api.get(f"{SHOP}/vouchers/{spa['card']}"))
    placed = await api.post(f"{SHOP}/vouchers/{spa['card']}", data=_form(csrf, delivery_date=day.isoformat()))
    assert placed.status_code == 303
    async with unit_of_work(database, write=False) as session:
        number = (await session.scalars(select(GiftOrder.number))).one()

    paid = await api.post(f"/api/orders/{number}/payment", json={"method": "Cash"}, headers=tenant.headers)

    assert paid.status_code == 200
    async with unit_of_work(database, write=False) as session:
        [job] = (await session.scalars(select(Job))).all()
    assert job.run_after == datetime.combine(day, time(), tzinfo=ZoneInfo("Europe/London"))
    assert await runner.run_until_idle(database) == 0  # not before that day


@pytest.mark.concurrency
async def test_ten_concurrent_payments_of_one_order_issue_its_code_once(
    api: httpx.AsyncClient, spa: dict[str, int], database: Database, tenant: Tenant
) -> None:
    csrf = _csrf(await api.get(f"{SHOP}/vouchers/{spa['card']}"))
    assert (await api.post(f"{SHOP}/vouchers/{spa['card']}", data=_form(csrf))).status_code == 303
    async with unit_of_work(database, write=False) as session:
        number = (await session.scalars(select(GiftOrder.number))).one()

    responses = await asyncio.gather(
        *(
            api.post(f"/api/orders/{number}/payment", json={"method": "Cash"}, headers=tenant.headers)
            for _ in range(10)
        )
    )

    assert {response.status_code for response in responses} == {200}
    assert len({response.json()["codes"][0]["code"] for response in responses}) == 1
    assert (await _counts(database))[:3] == (1, 1, 1)  # one order, one card, one mail
    async with unit_of_work(database, write=False) as session:
        assert (
            await session.scalar(select(func.count()).select_from(Event).where(Event.type == "order.created"))
            == 1
        )


async def test_a_sold_out_voucher_says_so_and_sells_no_more(
    api: httpx.AsyncClient, spa: dict[str, int], database: Database, tenant: Tenant
) -> None:
    last = await _product(database, tenant, MASSAGE, title="Last massage", quantity_is_limited=True, stock=1)
    page = await api.get(f"{SHOP}/vouchers/{last}")
    option = re.search(r'name="option" id="option-\d+" value="(\d+)"', page.text)
    assert option is not None
    form = _form(_csrf(page), amount="", option=option.group(1))
    assert (await api.post(f"{SHOP}/vouchers/{last}", data=form)).status_code == 303

    again = await api.post(f"{SHOP}/vouchers/{last}", data=form)

    assert again.status_code == 422
    assert 'id="sold-out"' in again.text
    assert '<form method="post"' not in again.text
    assert "Sold out" in (await api.get(f"{SHOP}/")).text
    async with unit_of_work(database, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(GiftOrder)) == 1
