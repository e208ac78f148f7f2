from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import JSONType, UTCDateTime
from voucherd.models.base import Base, timestamp_column, uuid_pk


class Event(Base):
    """The outbox: one row per domain event, written in the transaction of the change it reports.
    Its id is the stable event id every delivery of it carries."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_client_created", "client_id", "created_at"),
        # The dispatcher's queue: events not yet fanned out to webhook deliveries.
        Index(
            "ix_events_undispatched",
            "created_at",
            postgresql_where=text("dispatched_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = timestamp_column()
    # Set in the transaction that turned the event into webhook deliveries (exactly once).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
