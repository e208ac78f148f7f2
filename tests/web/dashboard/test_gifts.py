"""The dashboard's gift vouchers over HTTP (both databases): the catalog's forms, an order taken at
the counter, a shop order marked paid (its mail sent, its events written), refund, a lost code
replaced, a top-up with its ledger row, the search, and on every form the role matrix, CSRF, bad
input that changes nothing and client text shown escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.smtp import SmtpServer
from tests.web.dashboard.conftest import post
from voucherd.db import Database, unit_of_work
from voucherd.giftcards import catalog, shop
from voucherd.jobs import runner
from voucherd.models import Event, GiftCard, GiftLedgerEntry, GiftOption, GiftOrder, GiftProduct

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
DINNER = catalog.ProductInput(
    sales_page="the-shop",
    type="fixed",
    title="Dinner for two",
    terms="Not on Saturdays.",
    options=[catalog.OptionInput(sell_price=4500, description="Three courses", quantity=1)],
)
CARD = catalog.ProductInput(
    sales_page="the-shop",
    type="monetary",
    title="Gift card",
    min_amount=1000,
    max_amount=20000,
)


async def _product(database: Database, tenant: Tenant, data: catalog.ProductInput = DINNER) -> int:
    async with unit_of_work(database) as session:
        return (await catalog.create_product(session, tenant.principal, data)).product.number


async def _count(database: Database, model: type[object]) -> int:
    async with unit_of_work(database, write=False) as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[arg-type]


async def _events(database: Database, kind: str) -> list[Event]:
    async with unit_of_work(database, write=False) as session:
        return list((await session.scalars(select(Event).where(Event.type == kind))).all())


async def _order(database: Database, number: int) -> tuple[GiftOrder, list[GiftCard]]:
    async with unit_of_work(database, write=False) as session:
        order = (await session.scalars(select(GiftOrder).where(GiftOrder.number == number))).one()
        cards = (await session.scalars(select(GiftCard).where(GiftCard.order_id == order.id))).all()
        return order, sorted(cards, key=lambda card: card.created_at)


def _number_in(location: str) -> int:
    found = re.search(r"/(\d+)\?done=", location)
    assert found is not None, location
    return int(found.group(1))


def _sale(**changes: str) -> dict[str, str]:
    return {
        "quantity": "1",
        "buyer_name": "Bob Buyer",
        "buyer_email": "",
        "recipient_name": "",
        "recipient_email": "",
        "message": "",
        "method": "Cash",
        "reference": "TILL-7",
        **changes,
    }


async def _sold(client: httpx.AsyncClient, product: int, **changes: str) -> int:
    sold = await post(client, f"/dashboard/gifts/{product}/sell", _sale(**changes))
    assert sold.status_code == 303, sold.text
    return _number_in(sold.headers["location"])


def _product_form(**changes: str) -> dict[str, str]:
    return {
        "title": "Spa day",
        "type": "fixed",
        "description": "A day at the spa.",
        "terms": "Book ahead.",
        "access_level": "published",
        "stock": "",
        "expiry_months": "12",
        "image": "",
        "min_amount": "",
        "max_amount": "",
        "option_0_description": "For one",
        "option_0_price": "60.00",
        "option_0_value": "",
        "option_0_uses": "1",
        **changes,
    }


class TestCatalog:
    async def test_a_manager_creates_edits_publishes_and_unpublishes_a_product(
        self, manager: httpx.AsyncClient, database: Database
    ) -> None:
        # given an empty catalog
        empty = await manager.get("/dashboard/gifts")
        assert empty.status_code == 200
        assert "No gift voucher yet" in empty.text
        assert 'aria-current="page">Gift vouchers' in empty.text
        # when a manager creates a product with a client-set name and terms
        made = await post(
            manager,
            "/dashboard/gifts/new",
            _product_form(
                title=f"Spa {SCRIPT}", terms=IMG, option_1_description="For two", option_1_price="110"
            ),
        )
        # then it is saved with its options in minor units, and shown escaped
        assert made.status_code == 303, made.text
        number = _number_in(made.headers["location"])
        page = await manager.get(made.headers["location"])
        assert "The gift voucher was created." in page.text
        assert "Spa &lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert SCRIPT not in page.text
        assert "<img src=x" not in page.text
        async with unit_of_work(database, write=False) as session:
            product = (await session.scalars(select(GiftProduct))).one()
            options = (await session.scalars(select(GiftOption).order_by(GiftOption.position))).all()
        assert (product.number, product.title, product.terms, product.expiry_period) == (
            number,
            f"Spa {SCRIPT}",
            IMG,
            12,
        )
        assert [(o.description, o.sell_price, o.quantity) for o in options] == [
            ("For one", 6000, 1),
            ("For two", 11000, None),
        ]
        listed = await manager.get("/dashboard/gifts")
        assert f'href="/dashboard/gifts/{number}"' in listed.text
        assert "£60.00" in listed.text
        assert SCRIPT not in listed.text

        # when the first option's price changes and the second is left out
        first = options[0].number
        saved = await post(
            manager,
            f"/dashboard/gifts/{number}",
            _product_form(title="Spa day", option_0_number=str(first), option_0_price="65"),
        )
        # then the option keeps its number with its new price, and the other is gone
        assert saved.status_code == 303, saved.text
        async with unit_of_work(database, write=False) as session:
            left = (await session.scalars(select(GiftOption))).all()
        assert [(o.number, o.sell_price) for o in left] == [(first, 6500)]

        # and it can be made secret, unpublished and published again
        for level in ("secret", "unpublished", "published"):
            moved = await post(manager, f"/dashboard/gifts/{number}/access", {"access_level": level})
            assert moved.status_code == 303
            async with unit_of_work(database, write=False) as session:
                assert await session.scalar(select(GiftProduct.access_level)) == level
        assert "The gift voucher is published" in (await manager.get(moved.headers["location"])).text

    async def test_an_edit_keeps_what_the_form_does_not_show(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # given a product made through the API with categories, postal delivery, a tax rate,
        # a validity between two dates and two pictures
        until = datetime(2030, 1, 31, tzinfo=UTC)
        rich = catalog.ProductInput(
            **{
                **DINNER.__dict__,
                "tax_rate": 2000,
                "categories": ["Food"],
                "delivery": [
                    catalog.DeliveryInput(
                        type="postal",
                        title="By post",
                        options=[catalog.DeliveryOptionInput(title="Royal Mail", amount=350)],
                    )
                ],
                "expiry": catalog.ExpiryInput(type="time", date_to=until),
                "image": "https://images.example/one.jpg",
                "images": ["https://images.example/one.jpg", "https://images.example/two.jpg"],
            }
        )
        number = await _product(database, tenant, rich)
        page = await manager.get(f"/dashboard/gifts/{number}")
        assert "it is kept unless you type a number of months" in page.text
        option = re.search(r'name="option_0_number" value="(\d+)"', page.text)
        assert option is not None

        # when its name and price change on the dashboard
        saved = await post(
            manager,
            f"/dashboard/gifts/{number}",
            _product_form(
                title="Dinner for three",
                expiry_months="",
                image="https://images.example/one.jpg",
                option_0_number=option.group(1),
                option_0_price="50",
            ),
        )

        # then the rest is as it was
        assert saved.status_code == 303, saved.text
        async with unit_of_work(database) as session:
            found = await catalog.view(session, tenant.principal, number)
        assert (found.product.title, found.product.tax_rate) == ("Dinner for three", 2000)
        assert [c.name for c in found.categories] == ["Food"]
        assert [(m.type, m.title, m.options[0]["amount"]) for m in found.delivery] == [
            ("postal", "By post", 350)
        ]
        assert (found.product.expiry_type, found.product.expiry_to) == ("time", until)
        assert found.product.images == ["https://images.example/one.jpg", "https://images.example/two.jpg"]
        assert [o.sell_price for o in found.options] == [5000]

    async def test_bad_input_shows_its_message_beside_the_field_and_changes_nothing(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        negative = await post(manager, "/dashboard/gifts/new", _product_form(option_0_price="-5"))
        assert negative.status_code == 422
        assert 'id="option_0_price-error"' in negative.text
        assert "must not be negative" in negative.text
        untitled = await post(manager, "/dashboard/gifts/new", _product_form(title=" "))
        assert untitled.status_code == 422
        assert 'id="title-error"' in untitled.text
        no_option = await post(
            manager,
            "/dashboard/gifts/new",
            _product_form(option_0_price="", option_0_description="", option_0_uses=""),
        )
        assert no_option.status_code == 422
        assert "needs at least one option" in no_option.text
        assert await _count(database, GiftProduct) == 0

        # an option the product does not have is refused, and the product keeps its own
        number = await _product(database, tenant)
        unknown = await post(
            manager, f"/dashboard/gifts/{number}", _product_form(option_0_number="999999", title="Changed")
        )
        assert unknown.status_code == 422
        assert "is not an option of this voucher" in unknown.text
        bad_level = await post(manager, f"/dashboard/gifts/{number}/access", {"access_level": "everywhere"})
        assert bad_level.status_code == 422
        async with unit_of_work(database, write=False) as session:
            product = (await session.scalars(select(GiftProduct))).one()
            assert (product.title, product.access_level) == ("Dinner for two", "published")
            assert [o.sell_price for o in (await session.scalars(select(GiftOption))).all()] == [4500]
        assert (await manager.get("/dashboard/gifts/999999")).status_code == 404
        assert (await manager.get("/dashboard/gifts/99999999999999999999")).status_code == 400


class TestCounter:
    async def test_an_order_taken_at_the_counter_issues_its_codes_and_records_its_payment(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant, smtp_server: SmtpServer
    ) -> None:
        number = await _product(database, tenant)
        form = await manager.get(f"/dashboard/gifts/{number}/sell")
        assert form.status_code == 200
        assert "Three courses · £45.00" in form.text
        async with unit_of_work(database, write=False) as session:
            option = await session.scalar(select(GiftOption.number))
        # when a waiter sells two, paid in cash, for Ann
        order_number = await _sold(
            manager,
            number,
            option=str(option),
            quantity="2",
            buyer_name=f"Bob {SCRIPT}",
            recipient_email="ann@example.com",
            message=IMG,
        )
        # then the order is paid with two codes, its payment recorded with its reference
        order, cards = await _order(database, order_number)
        assert (order.status, order.total, order.quantity) == ("paid", 9000, 2)
        assert order.payments == [
            {
                "amount": 9000,
                "currency": "GBP",
                "title": "Cash",
                "metadata": {"reference": "TILL-7", "provider": "manual"},
            }
        ]
        assert len(cards) == 2
        page = await manager.get(f"/dashboard/gifts/orders/{order_number}?done=sold")
        assert "The order is paid and its codes are issued." in page.text
        for card in cards:
            assert card.code in page.text
        assert "TILL-7" in page.text
        assert "Bob &lt;script&gt;" in page.text
        assert SCRIPT not in page.text
        assert "<img src=x" not in page.text
        [event] = await _events(database, "order.created")
        assert sorted(event.data["codes"]) == sorted(card.code for card in cards)
        # and each code is mailed to Ann
        assert await runner.run_until_idle(database) >= 2
        assert [e.rcpt_tos for e in smtp_server.inbox.envelopes] == [["ann@example.com"]] * 2

    async def test_an_unknown_option_or_a_bad_quantity_sells_nothing(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        number = await _product(database, tenant)
        unknown = await post(manager, f"/dashboard/gifts/{number}/sell", _sale(option="999999"))
        assert unknown.status_code == 422
        assert 'id="option-error"' in unknown.text
        too_many = await post(manager, f"/dashboard/gifts/{number}/sell", _sale(quantity="1000"))
        assert too_many.status_code == 422
        assert 'id="quantity-error"' in too_many.text
        no_method = await post(manager, f"/dashboard/gifts/{number}/sell", _sale(method=" "))
        assert no_method.status_code == 422
        assert 'id="method-error"' in no_method.text
        async with unit_of_work(database, write=False) as session:
            option = str(await session.scalar(select(GiftOption.number)))
        bad_email = await post(
            manager, f"/dashboard/gifts/{number}/sell", _sale(option=option, recipient_email="not-an-email")
        )
        assert bad_email.status_code == 422
        assert 'id="recipient_email-error"' in bad_email.text
        assert (await _count(database, GiftOrder), await _count(database, GiftCard)) == (0, 0)
        async with unit_of_work(database, write=False) as session:
            assert await session.scalar(select(GiftProduct.sold)) == 0


class TestOrders:
    async def _shop_order(self, database: Database, product: int, **changes: str) -> GiftOrder:
        async with unit_of_work(database) as session:
            found = await shop.find_shop(session, "the-shop")
            assert found is not None
            option = await session.scalar(select(GiftOption.number))
            return await shop.place_shop_order(
                session,
                found,
                product,
                shop.ShopOrder(
                    **{
                        "option": option,
                        "buyer_name": "Bob Buyer",
                        "buyer_email": "bob@example.com",
                        "recipient_name": "Ann",
                        "recipient_email": "ann@example.com",
                        "message": "Happy birthday",
                        **changes,
                    }  # type: ignore[arg-type]
                ),
            )

    async def test_a_shop_order_marked_paid_issues_its_code_sends_its_mail_and_writes_its_event(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant, smtp_server: SmtpServer
    ) -> None:
        product = await _product(database, tenant)
        order = await self._shop_order(database, product, buyer_name=f"Bob {IMG}", message=SCRIPT)
        page = await manager.get(f"/dashboard/gifts/orders/{order.number}")
        assert page.status_code == 200
        assert "Awaiting payment" in page.text
        assert f'action="/dashboard/gifts/orders/{order.number}/paid"' in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert SCRIPT not in page.text
        assert "<img src=x" not in page.text
        listed = await manager.get("/dashboard/gifts/orders")
        assert order.reference in listed.text
        assert "<img src=x" not in listed.text
        # a payment without its method changes nothing
        refused = await post(
            manager, f"/dashboard/gifts/orders/{order.number}/paid", {"method": "", "reference": ""}
        )
        assert refused.status_code == 422
        assert 'id="method-error"' in refused.text
        assert (await _order(database, order.number))[0].status == "awaiting_payment"
        assert await _events(database, "order.created") == []

        # when the manager records a bank transfer
        paid = await post(
            manager,
            f"/dashboard/gifts/orders/{order.number}/paid",
            {"method": "Bank transfer", "reference": "BT-99"},
        )

        # then its code is issued, announced and mailed to Ann
        assert paid.status_code == 303
        done, [card] = await _order(database, order.number)
        assert done.status == "paid"
        assert done.payments[0]["title"] == "Bank transfer"
        assert done.payments[0]["metadata"]["reference"] == "BT-99"
        [event] = await _events(database, "order.created")
        assert event.data["codes"] == [card.code]
        assert card.code in (await manager.get(paid.headers["location"])).text
        assert await runner.run_until_idle(database) >= 1
        assert smtp_server.inbox.envelopes[0].rcpt_tos == ["ann@example.com"]
        assert card.code in smtp_server.inbox.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]

    async def test_the_orders_are_found_by_number_reference_email_and_code(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        product = await _product(database, tenant)
        async with unit_of_work(database, write=False) as session:
            option = str(await session.scalar(select(GiftOption.number)))
        first = await _sold(manager, product, option=option, buyer_email="carol@example.com")
        second = await _sold(manager, product, option=option, buyer_email="dave@example.com")
        one, [card] = await _order(database, first)
        two, _ = await _order(database, second)

        async def found(q: str) -> set[str]:
            page = await manager.get("/dashboard/gifts/orders", params={"q": q})
            assert page.status_code == 200
            return {ref for ref in (one.reference, two.reference) if ref in page.text}

        assert await found("") == {one.reference, two.reference}
        assert await found(str(first)) == {one.reference}
        assert await found(two.reference.lower()) == {two.reference}
        assert await found("CAROL@example") == {one.reference}
        assert await found(card.code.lower().replace("-", "")) == {one.reference}
        nothing = await manager.get("/dashboard/gifts/orders", params={"q": "nobody%_"})
        assert "No order matches" in nothing.text

    async def test_a_refund_ends_the_codes_and_a_second_one_changes_nothing(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        product = await _product(database, tenant)
        async with unit_of_work(database, write=False) as session:
            option = str(await session.scalar(select(GiftOption.number)))
        number = await _sold(manager, product, option=option)
        page = await manager.get(f"/dashboard/gifts/orders/{number}")
        assert 'data-confirm="Refund order' in page.text
        assert "This cannot be undone." in page.text
        forged = await manager.post(f"/dashboard/gifts/orders/{number}/refund", data={"csrf_token": "forged"})
        assert forged.status_code == 403
        assert (await _order(database, number))[0].refunded_at is None

        refunded = await post(manager, f"/dashboard/gifts/orders/{number}/refund")

        assert refunded.status_code == 303
        order, [card] = await _order(database, number)
        assert (order.refund, card.status, card.balance) == (4500, "refunded", 0)
        assert len(await _events(database, "giftcard.refunded")) == 1
        shown = await manager.get(refunded.headers["location"])
        assert "The order is refunded" in shown.text
        assert "Refund this order" not in shown.text
        again = await post(manager, f"/dashboard/gifts/orders/{number}/refund")
        assert again.status_code == 303
        assert len(await _events(database, "giftcard.refunded")) == 1

    async def test_a_lost_code_is_replaced_by_a_new_one_with_its_balance(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        product = await _product(database, tenant)
        async with unit_of_work(database, write=False) as session:
            option = str(await session.scalar(select(GiftOption.number)))
        number = await _sold(manager, product, option=option)
        _, [old] = await _order(database, number)
        page = await manager.get(f"/dashboard/gifts/orders/{number}")
        assert 'data-confirm="Replace code' in page.text

        replaced = await post(manager, f"/dashboard/gifts/orders/{number}/regenerate", {"code": old.code})

        assert replaced.status_code == 303
        _, cards = await _order(database, number)
        [gone] = [card for card in cards if card.id == old.id]
        [new] = [card for card in cards if card.id != old.id]
        assert (gone.status, gone.balance, gone.replaced_by) == ("regenerated", 0, new.id)
        assert (new.status, new.balance) == ("in_progress", 1)
        [event] = await _events(database, "giftcard.regenerated")
        assert event.data["new_code"] == new.code
        shown = await manager.get(replaced.headers["location"])
        assert new.code in shown.text
        assert "Replaced (lost)" in shown.text
        # a code of another order is refused
        other = await _sold(manager, product, option=option)
        wrong = await post(manager, f"/dashboard/gifts/orders/{other}/regenerate", {"code": new.code})
        assert wrong.status_code == 422
        assert (await _order(database, number))[1][-1].status == "in_progress"

    async def test_a_top_up_raises_the_balance_with_a_ledger_row(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        product = await _product(database, tenant, CARD)
        number = await _sold(manager, product, amount="25")
        _, [card] = await _order(database, number)
        assert card.balance == 2500

        topped = await post(
            manager, f"/dashboard/gifts/orders/{number}/top-up", {"code": card.code, "amount": "10.50"}
        )

        assert topped.status_code == 303
        _, [after] = await _order(database, number)
        assert (after.balance, after.stock) == (3550, 3550)
        async with unit_of_work(database, write=False) as session:
            rows = (
                await session.scalars(
                    select(GiftLedgerEntry)
                    .where(GiftLedgerEntry.giftcard_id == card.id)
                    .order_by(GiftLedgerEntry.created_at)
                )
            ).all()
        assert [(row.kind, row.amount, row.balance_after) for row in rows] == [
            ("issue", 2500, 2500),
            ("top_up", 1050, 3550),
        ]
        assert len(await _events(database, "giftcard.topped_up")) == 1
        assert "£35.50" in (await manager.get(topped.headers["location"])).text
        # a negative or too large top-up shows its message and changes nothing
        for amount, message in (("-3", "must not be negative"), ("200", "the most this voucher may hold")):
            refused = await post(
                manager, f"/dashboard/gifts/orders/{number}/top-up", {"code": card.code, "amount": amount}
            )
            assert refused.status_code == 422
            assert f'id="amount-{card.code}-error"' in refused.text
            assert message in refused.text
        _, [still] = await _order(database, number)
        assert still.balance == 3550
        assert await _count(database, GiftLedgerEntry) == 2


class TestAccess:
    async def test_a_counter_login_is_refused_every_gift_page_and_form(
        self, clerk: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        product = await _product(database, tenant)
        for url in (
            "/dashboard/gifts",
            "/dashboard/gifts/new",
            f"/dashboard/gifts/{product}",
            "/dashboard/gifts/orders",
            f"/dashboard/gifts/{product}/sell",
        ):
            refused = await clerk.get(url)
            assert refused.status_code == 403, url
            assert "may not use the dashboard" in refused.text
        page = await clerk.get("/staff/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        sold = await clerk.post(
            f"/dashboard/gifts/{product}/sell", data={"csrf_token": token.group(1), **_sale()}
        )
        assert sold.status_code == 403
        assert await _count(database, GiftOrder) == 0

    async def test_an_owner_may_and_a_form_without_its_token_changes_nothing(
        self, owner: httpx.AsyncClient, database: Database
    ) -> None:
        assert (await owner.get("/dashboard/gifts")).status_code == 200
        assert (await owner.get("/dashboard/gifts/orders")).status_code == 200
        forged = await owner.post("/dashboard/gifts/new", data={"csrf_token": "forged", **_product_form()})
        assert forged.status_code == 403
        assert "This form has expired" in forged.text
        assert await _count(database, GiftProduct) == 0
        made = await post(owner, "/dashboard/gifts/new", _product_form())
        assert made.status_code == 303
