from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import JSONType, UTCDateTime
from voucherd.models.base import Base, timestamp_column, uuid_pk


class Voucher(Base):
    """One code. ``redeemed_count`` only moves through the guarded UPDATE in
    ``redemptions.repository`` (never read-then-write)."""

    __tablename__ = "vouchers"
    __table_args__ = (
        # Code first: the checkout looks a code up with its client, the public voucher page
        # (/redeem/{code}) by the code alone; one index serves both (a second one on the code
        # made bulk generation about 1.7 times slower).
        UniqueConstraint("code", "client_id"),
        Index("ix_vouchers_campaign_created", "campaign_id", "created_at", "id"),
        CheckConstraint("redeemed_count >= 0", name="redeemed_not_negative"),
        # One foreign key, to the campaign and its client together: a code can never belong to a
        # client other than its campaign's, and PostgreSQL checks one key per inserted row, not
        # two (each check is a lookup; a million codes: 3.6 s for this one against 5.7 s for
        # separate keys to clients and campaigns, measured here).
        ForeignKeyConstraint(
            ["campaign_id", "client_id"],
            ["campaigns.id", "campaigns.client_id"],
            name="fk_vouchers_campaign_client",
            ondelete="CASCADE",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    code: Mapped[str] = mapped_column(String(64))
    redeemed_count: Mapped[int] = mapped_column(Integer, default=0)
    # How many events about this code were written: each one takes the next number (its
    # ``sequence``) by incrementing this in the transaction of the change it reports, so the numbers
    # follow commit order (the UPDATE holds the row lock until commit). A code issued singly is
    # inserted at 1, its ``voucher.created`` event carrying 1; a bulk-generated code (one batch
    # event, none per code) starts at 0.
    event_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # An offer of this code alone (a recipient upload may set its own discount); ``None`` means
    # the campaign's. Same units as the campaign's columns.
    discount_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    discount_value: Mapped[int | None] = mapped_column(Integer, nullable=True)
    discount_description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # This code's own end of validity (a discount code bought with an expiry counted from its
    # purchase); ``None`` means the campaign's. The checkout's lookup reads
    # ``coalesce(vouchers.valid_until, campaigns.valid_until)``.
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # This code's own start of validity (``None``: its campaign's), read the same way.
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A disabled code neither validates nor redeems, on either dialect (Voucherify's ``active``).
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # What Voucherify keeps on a voucher beyond its offer; shown, never interpreted.
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType, nullable=True)
    additional_info: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    category: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = timestamp_column()
    # Set by a change made to this code alone (``None``: never changed since ``created_at``).
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
