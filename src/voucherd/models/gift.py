"""Gift vouchers (seed 003): the catalog a client sells from, the orders, and the gift cards they
issue, whose balances move only with guarded updates and a ledger row each (``giftcards``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import JSONType, UTCDateTime
from voucherd.models.base import Base, timestamp_column, uuid_pk


class GiftProduct(Base):
    """A gift voucher on sale (VoucherCart's "voucher"): a thing or an experience (``fixed``), a
    ticket, or a stored value (``predefined``: its options' values; ``monetary``: the buyer's
    amount). ``stock`` counts what is left to sell when ``quantity_is_limited``; it only moves
    through the guarded UPDATE of an order."""

    __tablename__ = "gift_products"
    __table_args__ = (
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        Index("ix_gift_products_client_page", "client_id", "sales_page_id", "number"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    sales_page_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("sales_pages.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    terms: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3))
    tax_rate: Mapped[int] = mapped_column(Integer, default=0)  # basis points, prices include it
    access_level: Mapped[str] = mapped_column(String(16), default="published")
    hide_price_disabled: Mapped[bool] = mapped_column(default=False)
    quantity_is_limited: Mapped[bool] = mapped_column(default=False)
    stock: Mapped[int | None] = mapped_column(Integer, nullable=True)
    min_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    max_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    expiry_type: Mapped[str | None] = mapped_column(String(8), nullable=True)  # period | time
    expiry_interval: Mapped[str | None] = mapped_column(String(8), nullable=True)  # days | months
    expiry_period: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expiry_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expiry_to: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    image: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    images: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # The sales pages (their numbers) where its codes redeem: its own page unless set.
    redeemable_on: Mapped[list[int]] = mapped_column(JSONType, default=list)
    sold: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class GiftOption(Base):
    """A priced choice of a product: ``sell_price`` is what the buyer pays; ``real_value`` the
    stored value of a ``predefined`` option, or what another option is worth (printed on the
    voucher); ``quantity`` the uses of a ``fixed`` one."""

    __tablename__ = "gift_options"

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)
    product_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("gift_products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500), default="")
    sell_price: Mapped[int] = mapped_column(BigInteger)
    real_value: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))


class GiftCategory(Base):
    __tablename__ = "gift_categories"
    __table_args__ = (UniqueConstraint("client_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))


class GiftProductCategory(Base):
    __tablename__ = "gift_product_categories"

    product_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("gift_products.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("gift_categories.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class GiftDeliveryMethod(Base):
    """How a product reaches its buyer: ``electronic`` or ``postal``, with carrier options
    (``[{"title", "description", "amount", "currency"}]``)."""

    __tablename__ = "gift_delivery_methods"

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)
    product_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("gift_products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)


class GiftOrder(Base):
    """A sale: what was bought, for whom, and the payments as recorded (never processed). Totals
    in minor units of ``currency``; ``total = sub_total + tax_total + shipping_total``."""

    __tablename__ = "gift_orders"
    __table_args__ = (Index("ix_gift_orders_client_created", "client_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    sales_page_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("sales_pages.id", ondelete="CASCADE"))
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("gift_products.id", ondelete="RESTRICT"))
    option_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("gift_options.id", ondelete="RESTRICT"), nullable=True
    )
    delivery_method_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("gift_delivery_methods.id", ondelete="SET NULL"), nullable=True
    )
    delivery_type: Mapped[str] = mapped_column(String(16), default="electronic")
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    unit_value: Mapped[int] = mapped_column(BigInteger)  # what each code holds (uses or minor units)
    currency: Mapped[str] = mapped_column(String(3))
    sub_total: Mapped[int] = mapped_column(BigInteger)
    tax_total: Mapped[int] = mapped_column(BigInteger)
    shipping_total: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    buyer_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    buyer_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    recipient_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    recipient_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    recipient_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivery_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    payments: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    refund: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # ``paid``, or ``awaiting_payment``: a shop order without codes until its payment is recorded.
    status: Mapped[str] = mapped_column(String(24), default="paid", server_default="paid")
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = timestamp_column()


class GiftCard(Base):
    """One issued gift voucher code. ``balance`` is what is left (uses, or minor units of a stored
    value), ``stock`` all it was ever given (the issue and every top-up). Both move only through
    guarded UPDATEs in ``giftcards.balances``, each with its ledger row, so that
    ``balance = Σ ledger.amount`` always (RELIABILITY C6, M7)."""

    __tablename__ = "giftcards"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("balance <= stock", name="balance_within_stock"),
        Index("ix_giftcards_order", "order_id"),
        # Order-issued codes are random enough to be unique everywhere; a Voucherify gift
        # voucher's card carries its voucher's code, unique within its client as vouchers are.
        UniqueConstraint("client_id", "code"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    # A card sold in an order of a product, or (``voucher_id``) the balance of one of our vouchers
    # made as a Voucherify gift voucher, opened at its first movement.
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("gift_orders.id", ondelete="CASCADE"), nullable=True
    )
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("gift_products.id", ondelete="RESTRICT"), nullable=True
    )
    voucher_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("vouchers.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    code: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(48))
    monetary: Mapped[bool] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int] = mapped_column(BigInteger)
    balance: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="in_progress")
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    redeemable_on: Mapped[list[int]] = mapped_column(JSONType, default=list)
    replaced_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()


class GiftLedgerEntry(Base):
    """One movement of a gift card's balance: ``issue`` and ``top_up`` add, ``redeem`` takes,
    ``hold`` takes for a while and ``release`` gives back, ``refund``, ``expiry`` and
    ``regenerate`` take what is left. ``balance_after`` is the balance the guarded UPDATE
    returned."""

    __tablename__ = "giftcard_ledger"
    __table_args__ = (
        Index("ix_giftcard_ledger_card_created", "giftcard_id", "created_at"),
        # A checkout's order takes from a card once: its retry finds this row and replays it.
        UniqueConstraint("giftcard_id", "order_reference"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    giftcard_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("giftcards.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sales_page_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    hold_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)  # "staff:<id>", "api_key:<id>"
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    order_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The checkout transaction a redemption paid part of (VoucherTrack's transaction_amount): a
    # retry of the order with another amount is a conflict, not a replay.
    transaction_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = timestamp_column()


class GiftHold(Base):
    """An amount authorized on a gift card for a while (a checkout that has not finished): taken
    from the balance at once, then captured (all or part, the rest given back), voided, or given
    back by itself once ``expires_at`` has passed."""

    __tablename__ = "giftcard_holds"
    __table_args__ = (Index("ix_giftcard_holds_open", "status", "expires_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    giftcard_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("giftcards.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(BigInteger)
    captured: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="held")  # held captured voided expired
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
