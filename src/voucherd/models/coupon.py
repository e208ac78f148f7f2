from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import JSONType
from voucherd.models.base import Base, timestamp_column, uuid_pk


class Coupon(Base):
    """VoucherCart's coupon: a campaign of ours (its name, terms, offer and, for an expiry of type
    ``time``, its validity window) with what only a coupon has: the sales page it belongs to
    (``domainId``), a description, metadata, and an expiry counted from each purchase (type
    ``period``: ``expiry_period`` days or months)."""

    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint("expiry_period IS NULL OR expiry_period >= 1", name="expiry_period_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)  # the ``couponId`` (see NumberGrant)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"), unique=True
    )
    sales_page_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sales_pages.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    expiry_type: Mapped[str | None] = mapped_column(String(8), nullable=True)  # period, time or none
    expiry_interval: Mapped[str | None] = mapped_column(String(8), nullable=True)  # days or months
    expiry_period: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = timestamp_column()


class Discount(Base):
    """A purchase of a coupon: one discount code (a voucher of the coupon's campaign), the people
    it was bought for (``recipients``: ``email`` and ``label`` as given) and the payments, recorded
    as given (never processed)."""

    __tablename__ = "discounts"

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    coupon_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("coupons.id", ondelete="CASCADE"), index=True
    )
    voucher_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("vouchers.id", ondelete="CASCADE"), unique=True
    )
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    payments: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = timestamp_column()
