from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import JSONType, UTCDateTime
from voucherd.models.base import Base, timestamp_column, uuid_pk


class Campaign(Base):
    """Discount values: basis points for ``percentage``, minor units for ``fixed``, 0 for
    ``free_item``. ``minimum_spend`` is in minor units of ``currency``."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("uses_per_voucher >= 1", name="uses_positive"),
        CheckConstraint(
            "uses_per_customer IS NULL OR uses_per_customer >= 1", name="uses_per_customer_positive"
        ),
        CheckConstraint("discount_value >= 0", name="discount_not_negative"),
        Index("ix_campaigns_client_created", "client_id", "created_at"),
        # What a voucher's one foreign key refers to: its campaign and that campaign's client.
        UniqueConstraint("id", "client_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    discount_type: Mapped[str] = mapped_column(String(16))
    discount_value: Mapped[int] = mapped_column(Integer)
    discount_description: Mapped[str] = mapped_column(String(500))
    description_is_generated: Mapped[bool] = mapped_column(default=True)
    minimum_spend: Mapped[int | None] = mapped_column(Integer, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    uses_per_voucher: Mapped[int] = mapped_column(Integer, default=1)
    # How often one customer may redeem the campaign's codes (None: no limit). A redemption names
    # its customer or not; without one the limit cannot apply, and ``require_customer`` says
    # whether such a redemption is refused.
    uses_per_customer: Mapped[int | None] = mapped_column(Integer, nullable=True)
    require_customer: Mapped[bool] = mapped_column(default=False, server_default=false())
    code_pattern: Mapped[str] = mapped_column(String(64))
    code_charset: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Publishing from an exhausted pool makes a new code instead of refusing (seed 002).
    auto_update: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Made for one voucher created on its own (Voucherify's standalone voucher): its offer is that
    # voucher's, and it goes when the voucher goes.
    standalone: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Public landing page /c/{landing_slug} where visitors claim the offer (None: no page).
    landing_slug: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    terms: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What a dialect keeps about the campaign and does not interpret (Voucherify: campaign_type,
    # type, metadata, join_once, code_config as given); shown back, never a rule.
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # The job making the campaign's first codes (None: made at once, or none asked for).
    generation_job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
