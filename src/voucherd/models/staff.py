from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import UTCDateTime
from voucherd.models.base import Base, timestamp_column, uuid_pk


class NumberGrant(Base):
    """One row per number handed out (``accounts.numbers.next_number``): the short integer ids people
    and VoucherCart integrations see (``clientId``, ``domainId``, a staff ``id``) beside our
    UUIDs. One counter for every kind: a number names one object of its table."""

    __tablename__ = "number_grants"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)


class SalesPage(Base):
    """A client's sales page (VoucherCart's "domain"): ``name`` is its subdomain, unique across
    clients, lower-case letters, digits and hyphens."""

    __tablename__ = "sales_pages"

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)
    client_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = timestamp_column()


class Staff(Base):
    """A person who logs in for a client: its owner, managers, counter staff. The password is an
    argon2id hash; ``email_key`` (lower-cased) is unique among a client's live members, so one
    person may work for two clients with two logins, and a removed member's email may be given
    to a new login (the removed row stays, ``deleted_at`` set)."""

    __tablename__ = "staff"
    __table_args__ = (
        Index(
            "uq_staff_live_email",
            "client_id",
            "email_key",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        Index("ix_staff_email_key", "email_key"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    password_hash: Mapped[str] = mapped_column(String(200))
    # Access tokens carry it (``gen``); a password change moves it on, so every token issued
    # before is refused at once (an exact cut, which whole-second ``iat`` values cannot make).
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StaffSalesPage(Base):
    """The sales pages a staff member may log in on."""

    __tablename__ = "staff_sales_pages"

    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    sales_page_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sales_pages.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class RefreshToken(Base):
    """A refresh token, stored as its SHA-256 only. Tokens of one login form a family: each
    refresh uses one up and issues its successor; a used token presented again after the grace
    period revokes the whole family (RELIABILITY S13)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    sales_page_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("sales_pages.id", ondelete="CASCADE"))
    access_token_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the jti of the access token issued with it
    created_at: Mapped[datetime] = timestamp_column()
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
