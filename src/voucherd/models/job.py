from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import JSONType, UTCDateTime
from voucherd.models.base import Base, timestamp_column, uuid_pk


class Job(Base):
    """Background work (bulk code generation; later webhook deliveries and exports).

    A claimed job is ``running`` with a lease; a worker that dies loses the lease and another
    worker takes the job over. Handlers commit progress in chunks, so a taken-over job resumes."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "status", "run_after"),
        Index("ix_jobs_client_created", "client_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("clients.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    # Where a job that walks rows in key order got to, written with its progress.
    cursor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=10)
    run_after: Mapped[datetime] = timestamp_column()
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = timestamp_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
