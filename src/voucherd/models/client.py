from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.db.types import JSONType, UTCDateTime
from voucherd.models.base import Base, timestamp_column, uuid_pk

CLIENT_NAME_LENGTH = 200  # clients.name


class Client(Base):
    """A tenant: the business that runs campaigns."""

    __tablename__ = "clients"

    id: Mapped[uuid.UUID] = uuid_pk()
    # The short id people and VoucherCart integrations see (``clientId``): see NumberGrant.
    number: Mapped[int | None] = mapped_column(Integer, unique=True, nullable=True)
    name: Mapped[str] = mapped_column(String(CLIENT_NAME_LENGTH))
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    # Seed 004's "danger zone": what a publishable key may do from a browser besides validating.
    client_side_redeem: Mapped[bool] = mapped_column(default=False, server_default=false())
    client_side_publish: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The Voucherify API version a request without X-Voucherify-API-Version is served (None: ours).
    voucherify_api_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Branding (``accounts.branding``): an accent colour ``#rrggbb`` readable under white text,
    # and a logo (PNG, JPEG or WebP, checked by content) served at ``/brand/{number}/logo``. The
    # image is loaded only when asked for (``deferred``: a client row is read on many requests).
    accent_color: Mapped[str | None] = mapped_column(String(7), nullable=True)
    logo_image: Mapped[bytes | None] = mapped_column(
        LargeBinary, nullable=True, deferred=True, deferred_raiseload=True
    )
    logo_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    logo_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = timestamp_column()


class ApiKey(Base):
    """Stored as a SHA-256 hash; only the visible prefix is kept in clear."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = uuid_pk()
    client_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # A publishable key (Voucherify's client-side key) works only on client-side endpoints, and
    # only from these origins ("*": any, for development).
    publishable: Mapped[bool] = mapped_column(default=False, server_default=false())
    allowed_origins: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = timestamp_column()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
