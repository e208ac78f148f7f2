from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import JSONType
from voucherd.models.base import Base, timestamp_column, uuid_pk


class VoucherOwner(Base):
    """Who a code was handed to. The primary key on ``voucher_id`` makes "a code is never published
    to two customers" a database fact: a second claim of the same code inserts nothing."""

    __tablename__ = "voucher_owners"
    __table_args__ = (
        UniqueConstraint("voucher_id", "customer_id"),
        Index("ix_voucher_owners_campaign", "campaign_id"),
        Index("ix_voucher_owners_customer", "customer_id"),
    )

    voucher_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("vouchers.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("customers.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = timestamp_column()


class Publication(Base):
    """One hand-out of a code (history: who, when, channel). Its ``(voucher_id, customer_id)``
    must be the code's owner (foreign key), so the history can never name a second customer."""

    __tablename__ = "publications"
    __table_args__ = (
        ForeignKeyConstraint(
            ["voucher_id", "customer_id"],
            ["voucher_owners.voucher_id", "voucher_owners.customer_id"],
            name="fk_publications_owner",
            ondelete="CASCADE",
        ),
        Index("ix_publications_voucher_channel", "voucher_id", "channel"),
        # A code is published by export once, the first time.
        Index(
            "uq_publications_export_voucher",
            "voucher_id",
            unique=True,
            postgresql_where=text("channel = 'export'"),
            sqlite_where=text("channel = 'export'"),
        ),
        Index("ix_publications_campaign_created", "campaign_id", "created_at"),
        # Voucherify's publication list: the client's (batch, customer, channel) groups newest
        # first, read from the index in order (migration 0025).
        Index(
            "ix_publications_client_listed", "client_id", "created_at", "batch_id", "customer_id", "channel"
        ),
        # One group's rows: a list page's codes, and whether a group is new or gone (0025's triggers).
        Index("ix_publications_batch", "batch_id", "customer_id", "channel"),
        # The caller's own id of a publication (Voucherify's source_id): one publication each.
        Index(
            "uq_publications_client_source_id",
            "client_id",
            "source_id",
            unique=True,
            postgresql_where=text("source_id IS NOT NULL"),
            sqlite_where=text("source_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"))
    voucher_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Publications made by one call share a batch id (a pool publish of N codes is one batch).
    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(100))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType, nullable=True)
    source_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = timestamp_column()
