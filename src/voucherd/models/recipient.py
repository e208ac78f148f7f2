from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import UTCDateTime
from voucherd.models.base import Base, timestamp_column, uuid_pk


class Recipient(Base):
    """A customer in a campaign's distribution list, with the code made for them and what they did
    with the message. ``(campaign_id, identity)`` is unique (identity: the external id, else the
    email, else the mobile), so a retried upload finds the recipient instead of issuing twice.

    The uploaded fields are kept as given (the mail merge exports them); ``source`` says how the
    recipient came (``upload``, ``landing_page``); ``referred_by`` is the recipient whose share link
    brought them."""

    __tablename__ = "recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "identity"),
        UniqueConstraint("voucher_id"),
        Index("ix_recipients_campaign_created", "campaign_id", "created_at", "id"),
        Index("ix_recipients_customer", "customer_id"),
        Index("ix_recipients_campaign_voucher", "campaign_id", "voucher_id"),  # the export job's cursor
    )

    # Random, not time-ordered: the id is the only credential of the recipient's tracking links.
    id: Mapped[uuid.UUID] = uuid_pk(default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("customers.id", ondelete="CASCADE"))
    voucher_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("vouchers.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(330))
    source: Mapped[str] = mapped_column(String(20), default="upload")
    referred_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    forename: Mapped[str | None] = mapped_column(String(100), nullable=True)
    surname: Mapped[str | None] = mapped_column(String(100), nullable=True)
    mobile: Mapped[str | None] = mapped_column(String(40), nullable=True)
    postcode: Mapped[str | None] = mapped_column(String(20), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = timestamp_column()
