"""Orders as the dashboard uses them (both databases): a sale at the counter through the order
service with its one payment, the list and its search, and a product's access level."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant, make_tenant
from voucherd.accounts import staff
from voucherd.core.errors import InvalidInput
from voucherd.core.pagination import PageRequest
from voucherd.db import Database, unit_of_work
from voucherd.giftcards import catalog, orders, payments
from voucherd.giftcards.errors import NotOnSale, SoldOut
from voucherd.models import Event, GiftCard, GiftOrder, GiftProduct

CASH = payments.PaymentInput(method="Cash", reference="TILL-1")


async def _product(database: Database, tenant: Tenant, **changes: object) -> tuple[int, int]:
    async with unit_of_work(database) as session:
        await staff.create_sales_page(session, tenant.client_id, f"shop-{uuid.uuid4().hex[:8]}")
        made = await catalog.create_product(
            session,
            tenant.principal,
            catalog.ProductInput(
                **{
                    "sales_page": None,
                    "type": "fixed",
                    "title": "Massage",
                    "options": [catalog.OptionInput(sell_price=4500, description="One hour")],
                    **changes,
                }  # type: ignore[arg-type]
            ),
        )
    return made.product.number, made.options[0].number


async def _counts(database: Database) -> tuple[int, int, int, int]:
    async with unit_of_work(database, write=False) as session:
        return (
            await session.scalar(select(func.count()).select_from(GiftOrder)) or 0,
            await session.scalar(select(func.count()).select_from(GiftCard)) or 0,
            await session.scalar(select(func.count()).select_from(Event).where(Event.type == "order.created"))
            or 0,
            await session.scalar(select(func.coalesce(func.sum(GiftProduct.sold), 0))) or 0,
        )


class TestSell:
    async def test_a_sale_records_one_payment_of_the_total_and_issues_the_codes(
        self, database: Database, tenant: Tenant
    ) -> None:
        product, option = await _product(database, tenant)
        async with unit_of_work(database) as session:
            placed = await payments.sell(
                session, tenant.principal, orders.OrderInput(product=product, option=option, quantity=3), CASH
            )
        assert (placed.order.status, placed.order.total, len(placed.cards)) == ("paid", 13500, 3)
        assert placed.order.payments == [
            {
                "amount": 13500,
                "currency": "GBP",
                "title": "Cash",
                "metadata": {"reference": "TILL-1", "provider": "manual"},
            }
        ]
        assert await _counts(database) == (1, 3, 1, 3)

    async def test_a_refused_sale_takes_no_stock_and_writes_nothing(
        self, database: Database, tenant: Tenant
    ) -> None:
        product, option = await _product(database, tenant, quantity_is_limited=True, stock=1)
        for data, payment, error in (
            (orders.OrderInput(product=product, option=option, quantity=2), CASH, SoldOut),
            (
                orders.OrderInput(product=product, option=option),
                payments.PaymentInput(method=" "),
                InvalidInput,
            ),
        ):
            with pytest.raises(error):
                async with unit_of_work(database) as session:
                    await payments.sell(session, tenant.principal, data, payment)
        async with unit_of_work(database) as session:
            await catalog.set_access_level(session, tenant.principal, product, "unpublished")
        with pytest.raises(NotOnSale):
            async with unit_of_work(database) as session:
                await payments.sell(
                    session, tenant.principal, orders.OrderInput(product=product, option=option), CASH
                )
        assert await _counts(database) == (0, 0, 0, 0)
        async with unit_of_work(database, write=False) as session:
            assert await session.scalar(select(GiftProduct.stock)) == 1


class TestListOrders:
    async def test_the_search_finds_by_number_reference_email_and_code_and_only_the_clients_own(
        self, database: Database, tenant: Tenant
    ) -> None:
        other = await make_tenant(database, "Other Shop")
        product, option = await _product(database, tenant)
        theirs, their_option = await _product(database, other)
        placed = []
        async with unit_of_work(database) as session:
            for email in ("ann@example.com", "bob%x@example.com"):
                placed.append(
                    await payments.sell(
                        session,
                        tenant.principal,
                        orders.OrderInput(product=product, option=option, buyer_email=email),
                        CASH,
                    )
                )
            await payments.sell(
                session,
                other.principal,
                orders.OrderInput(product=theirs, option=their_option, buyer_email="ann@example.com"),
                CASH,
            )
        ann, bob = (p.order.number for p in placed)

        async def found(search: str | None) -> list[int]:
            async with unit_of_work(database, write=False) as session:
                page = await orders.list_orders(
                    session, tenant.principal, PageRequest(limit=10), search=search
                )
            return [row.order.number for row in page.items]

        assert await found(None) == [bob, ann]  # newest first, the other client's not among them
        assert await found("ANN@") == [ann]
        assert await found("%") == [bob]  # a wildcard is a character like any other
        assert await found(str(ann)) == [ann]
        assert await found(placed[1].order.reference.lower()) == [bob]
        assert await found(placed[0].cards[0].code.replace("-", " ")) == [ann]
        assert await found(placed[0].cards[0].reference) == [ann]
        assert await found("nobody") == []
        async with unit_of_work(database, write=False) as session:
            details = await orders.order_details(session, tenant.principal, ann)
        assert (details.product.title, details.option and details.option.description) == (
            "Massage",
            "One hour",
        )
