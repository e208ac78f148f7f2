from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import JSONType, UTCDateTime
from voucherd.models.base import Base, timestamp_column, uuid_pk


class Customer(Base):
    """A person a client hands codes to. ``external_id`` (the client's CRM id) is unique per client;
    ``email_key`` is the lower-cased email used to find a customer again. A deleted customer is
    erased (personal fields emptied) and kept as a row so the history of their codes stays.
    ``phone`` is free text as written (Voucherify's ``phone``), beside ``mobile``, which must be a
    number we can normalise to E.164; ``postcode`` is also the address's postal code."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("client_id", "external_id"),
        Index("ix_customers_client_email_key", "client_id", "email_key"),
        Index("ix_customers_client_created", "client_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    email_key: Mapped[str | None] = mapped_column(String(320), nullable=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    forename: Mapped[str | None] = mapped_column(String(100), nullable=True)
    surname: Mapped[str | None] = mapped_column(String(100), nullable=True)
    mobile: Mapped[str | None] = mapped_column(String(40), nullable=True)
    mobile_e164: Mapped[str | None] = mapped_column(String(20), nullable=True)
    postcode: Mapped[str | None] = mapped_column(String(20), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(60), nullable=True)
    description: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    birthdate: Mapped[date | None] = mapped_column(Date, nullable=True)
    address_line_1: Mapped[str | None] = mapped_column(String(200), nullable=True)
    address_line_2: Mapped[str | None] = mapped_column(String(200), nullable=True)
    city: Mapped[str | None] = mapped_column(String(100), nullable=True)
    state: Mapped[str | None] = mapped_column(String(100), nullable=True)
    country: Mapped[str | None] = mapped_column(String(100), nullable=True)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType, nullable=True)
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
