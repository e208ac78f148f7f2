from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import JSONType
from voucherd.models.base import Base, timestamp_column, uuid_pk


class Event(Base):
    """The outbox: one row per domain event, written in the transaction of the change it reports.
    Its id is the stable event id every delivery of it carries."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_client_created", "client_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = timestamp_column()
