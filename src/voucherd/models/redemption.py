from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import UTCDateTime
from voucherd.models.base import Base, timestamp_column, uuid_pk


class Redemption(Base):
    """One use of a voucher. ``(client_id, voucher_id, order_reference)`` is the permanent
    idempotency key of the checkout API: a retried order never redeems twice."""

    __tablename__ = "redemptions"
    __table_args__ = (
        UniqueConstraint("client_id", "voucher_id", "order_reference"),
        Index("ix_redemptions_voucher_created", "voucher_id", "created_at"),
        Index("ix_redemptions_campaign_created", "campaign_id", "created_at"),
        Index("ix_redemptions_client_listed", "client_id", "created_at", "id"),  # GET /v1/redemptions
        Index("ix_redemptions_customer_campaign", "customer_id", "campaign_id"),
        Index(
            "ix_redemptions_stack",
            "stack_id",
            postgresql_where=text("stack_id IS NOT NULL"),
            sqlite_where=text("stack_id IS NOT NULL"),
        ),
        Index("ix_redemptions_sales_page_created", "sales_page_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"))
    voucher_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("vouchers.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="SET NULL"), nullable=True
    )
    order_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    transaction_amount: Mapped[int] = mapped_column(BigInteger)
    discount_applied: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(16))
    redeemed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = timestamp_column()
    rolled_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rollback_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The codes redeemed together on one order (Voucherify's parent redemption: its id is this).
    stack_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # Who redeemed at which counter (a staff login on a sales page); empty for API keys.
    staff_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    sales_page_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
