"""Email tracking: the first open and the first click, and the bounce, of a recipient's message.

Each is recorded once (a guarded UPDATE ``... WHERE opened_at IS NULL``), with its event in the
same transaction; repeats change nothing and answer the same. A click implies an open."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core import clock
from voucherd.events import service as events
from voucherd.models import Recipient, Voucher
from voucherd.recipients.errors import RecipientNotFound

_recipients = cast(Table, Recipient.__table__)


class Signal(StrEnum):
    OPENED = "opened"
    CLICKED = "clicked"
    BOUNCED = "bounced"


_COLUMN = {Signal.OPENED: "opened_at", Signal.CLICKED: "clicked_at", Signal.BOUNCED: "bounced_at"}
_EVENT = {
    Signal.OPENED: events.EMAIL_OPENED,
    Signal.CLICKED: events.EMAIL_CLICKED,
    Signal.BOUNCED: events.EMAIL_BOUNCED,
}


@dataclass(frozen=True)
class Tracked:
    recipient_id: uuid.UUID
    voucher_code: str
    opened_at: datetime | None
    clicked_at: datetime | None
    bounced_at: datetime | None
    recorded: bool  # False: it had been recorded before


async def track(
    session: AsyncSession, recipient_id: uuid.UUID, signal: Signal, *, client_id: uuid.UUID | None
) -> Tracked:
    """Record the signal once. ``client_id`` scopes the recipient to the caller (the API); the
    public pixel and click links pass ``None`` (the recipient id itself is the secret)."""
    now = clock.now()
    where = [_recipients.c.id == recipient_id]
    if client_id is not None:
        where.append(_recipients.c.client_id == client_id)
    column = _recipients.c[_COLUMN[signal]]
    recorded = (
        await session.execute(
            update(_recipients)
            .where(*where, column.is_(None))
            .values({column: now})
            .returning(_recipients.c.id)
        )
    ).first() is not None
    if signal is Signal.CLICKED:
        # Someone who clicked has opened the message, whether or not the pixel loaded.
        await session.execute(
            update(_recipients).where(*where, _recipients.c.opened_at.is_(None)).values(opened_at=now)
        )
    row = (
        await session.execute(
            select(
                _recipients.c.id,
                _recipients.c.client_id,
                _recipients.c.campaign_id,
                _recipients.c.voucher_id,
                _recipients.c.email,
                _recipients.c.opened_at,
                _recipients.c.clicked_at,
                _recipients.c.bounced_at,
                Voucher.code,
            )
            .join(Voucher, Voucher.id == _recipients.c.voucher_id)
            .where(*where)
        )
    ).first()
    if row is None:
        raise RecipientNotFound()
    if recorded:
        await events.record(
            session,
            row.client_id,
            _EVENT[signal],
            {
                "recipient_id": str(row.id),
                "campaign_id": str(row.campaign_id),
                "email": row.email,
                "voucher_code": row.code,
                f"{signal.value}_at": clock.isoformat_z(now),
            },
            voucher_id=row.voucher_id,  # the message carried this code: the event is about it
        )
    return Tracked(
        recipient_id=row.id,
        voucher_code=row.code,
        opened_at=row.opened_at,
        clicked_at=row.clicked_at,
        bounced_at=row.bounced_at,
        recorded=recorded,
    )


async def recipient_of_voucher(session: AsyncSession, voucher_id: uuid.UUID) -> uuid.UUID | None:
    return cast(
        "uuid.UUID | None",
        await session.scalar(select(_recipients.c.id).where(_recipients.c.voucher_id == voucher_id)),
    )
