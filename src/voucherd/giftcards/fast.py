"""A gift card redemption as one statement on PostgreSQL, for the counter's hot path
(``POST /vouchercart/v1/redeem``): one round trip on a connection straight from asyncpg, no
BEGIN/COMMIT, and the answer read from what the statement returns.

The statement finds the client's card by its code and locks it only when it can give the amount
now (in progress, within its validity, redeemable on the sales page, no expired hold waiting to
come back: :func:`balances.settle` has nothing to do); then takes the amount with the same guard
as :func:`balances.debit` (``spendable``), writes the ledger row and the ``giftcard.redeemed``
event, and returns the card with its order, product and earlier redemptions. Anything else (an
unknown code, a used-up or expired card, a page by name, an expired hold, more than is left)
returns no row, and the caller takes the session's path, which says exactly why, or settles the
card and redeems it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]
import orjson
from sqlalchemy import (
    BigInteger,
    DateTime,
    Table,
    Text,
    bindparam,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by

from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.core.ids import new_id
from voucherd.core.money import MAX_MINOR
from voucherd.db.driver import for_driver
from voucherd.events import service as events
from voucherd.giftcards.balances import CardStatus, CardView, holds_open, spendable
from voucherd.giftcards.ledger import REDEEM, actor
from voucherd.models import (
    Event,
    GiftCard,
    GiftLedgerEntry,
    GiftOption,
    GiftOrder,
    GiftProduct,
    SalesPage,
)

_cards = cast(Table, GiftCard.__table__)
_ledger = cast(Table, GiftLedgerEntry.__table__)
_events = cast(Table, Event.__table__)
_orders = cast(Table, GiftOrder.__table__)
_products = cast(Table, GiftProduct.__table__)
_options = cast(Table, GiftOption.__table__)
_pages = cast(Table, SalesPage.__table__)

CARD_FIELDS = tuple(column.name for column in _cards.columns)
ORDER_FIELDS = tuple(column.name for column in _orders.columns)
PRODUCT_FIELDS = tuple(column.name for column in _products.columns)


def _statement() -> Any:
    now = bindparam("now", type_=DateTime(timezone=True))
    amount = bindparam("amount", type_=BigInteger)
    due_hold = exists().where(holds_open(_cards.c.id, due_by=now))
    card = (
        select(_cards.c.id, func.coalesce(amount, _cards.c.balance).label("take"))
        .where(
            _cards.c.client_id == bindparam("client_id"),
            _cards.c.code == bindparam("code"),
            spendable(func.coalesce(amount, _cards.c.balance)),
            _cards.c.balance > 0,
            or_(_cards.c.valid_until.is_(None), _cards.c.valid_until > now),
            or_(_cards.c.valid_from.is_(None), _cards.c.valid_from <= now),
            _cards.c.redeemable_on.op("@>", return_type=JSONB)(
                func.jsonb_build_array(bindparam("page_number", type_=BigInteger))
            ),
            not_(due_hold),
        )
        .with_for_update(of=_cards)
        .cte("card")
    )
    taken = (
        update(_cards)
        .where(_cards.c.id == card.c.id)
        .values(balance=_cards.c.balance - card.c.take, updated_at=now)
        .returning(*_cards.columns, card.c.take)
        .cte("taken")
    )
    page_id = (
        select(_pages.c.id)
        .where(_pages.c.client_id == bindparam("client_id"), _pages.c.number == bindparam("page_number"))
        .scalar_subquery()
    )
    entry = (
        insert(_ledger)
        .from_select(
            [
                "id",
                "giftcard_id",
                "client_id",
                "kind",
                "amount",
                "balance_after",
                "occurred_at",
                "sales_page_id",
                "actor",
                "created_at",
            ],
            select(
                bindparam("entry_id", type_=_ledger.c.id.type),
                taken.c.id,
                taken.c.client_id,
                literal(REDEEM, Text),
                -taken.c.take,
                taken.c.balance,
                bindparam("occurred_at", type_=DateTime(timezone=True)),
                page_id,
                bindparam("actor", type_=Text),
                now,
            ),
        )
        .cte("entry")
    )
    data = func.jsonb_build_object(
        literal("code", Text),
        taken.c.code,
        literal("giftcard_id", Text),
        sql_cast(taken.c.id, Text),
        literal("amount", Text),
        taken.c.take,
        literal("balance", Text),
        taken.c.balance,
        literal("stock", Text),
        taken.c.stock,
        literal("currency", Text),
        taken.c.currency,
        literal("monetary", Text),
        taken.c.monetary,
        literal("domainId", Text),
        bindparam("page_number", type_=BigInteger),
        literal("order_reference", Text),
        None,
    )
    event = (
        insert(_events)
        .from_select(
            ["id", "client_id", "type", "data", "created_at"],
            select(
                bindparam("event_id", type_=_events.c.id.type),
                taken.c.client_id,
                literal(events.GIFTCARD_REDEEMED, Text),
                data,
                now,
            ),
        )
        .cte("event")
    )
    history = (
        select(
            func.coalesce(
                func.jsonb_agg(
                    aggregate_order_by(
                        func.jsonb_build_array(_ledger.c.occurred_at, _ledger.c.amount),
                        _ledger.c.created_at,
                        _ledger.c.id,
                    )
                ),
                sql_cast(literal("[]"), JSONB),
            )
        )
        .where(_ledger.c.giftcard_id == taken.c.id, _ledger.c.kind == REDEEM)
        .scalar_subquery()
    )
    return (
        select(
            *(taken.c[name].label(f"card_{name}") for name in CARD_FIELDS),
            taken.c.take,
            *(_orders.c[name].label(f"order_{name}") for name in ORDER_FIELDS),
            *(_products.c[name].label(f"product_{name}") for name in PRODUCT_FIELDS),
            _options.c.real_value.label("option_real_value"),
            history.label("history"),
        )
        .select_from(taken)
        .join(_orders, _orders.c.id == taken.c.order_id)
        .join(_products, _products.c.id == taken.c.product_id)
        .outerjoin(_options, _options.c.id == _orders.c.option_id)
        .add_cte(entry)
        .add_cte(event)
    )


_REDEEM = for_driver(_statement())


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str) else value


async def redeem(
    connection: asyncpg.Connection, principal: Principal, code: str, *, page: int, amount: int | None
) -> CardView | None:
    """The card after taking ``amount`` (everything left when ``None``), now, or ``None`` when
    this path cannot say (the caller then takes the session's path). ``code`` is canonical."""
    require(principal, Permission.REDEEM)
    if amount is not None and not 0 < amount <= MAX_MINOR:
        return None  # bad input: the session's path names the field
    now = clock.now()
    occurred = now
    record = await connection.fetchrow(
        _REDEEM.sql,
        *_REDEEM.arguments(
            {
                "now": now,
                "amount": amount,
                "client_id": principal.client_id,
                "code": code,
                "page_number": page,
                "entry_id": new_id(),
                "occurred_at": occurred,
                "actor": actor(principal),
                "event_id": new_id(),
            }
        ),
    )
    if record is None:
        return None
    card = GiftCard(**{name: record[f"card_{name}"] for name in CARD_FIELDS})
    card.redeemable_on = _json(card.redeemable_on)
    order = GiftOrder(**{name: record[f"order_{name}"] for name in ORDER_FIELDS})
    order.payments = _json(order.payments)
    product = GiftProduct(**{name: record[f"product_{name}"] for name in PRODUCT_FIELDS})
    option = GiftOption(real_value=record["option_real_value"])
    ledger = [
        GiftLedgerEntry(kind=REDEEM, amount=int(amount_), occurred_at=datetime.fromisoformat(moment))
        for moment, amount_ in _json(record["history"])
    ]
    ledger.append(GiftLedgerEntry(kind=REDEEM, amount=-int(record["take"]), occurred_at=occurred))
    assert card.status == CardStatus.IN_PROGRESS
    return CardView(card, order, product, option, None, ledger, now)
