"""Domain events, written to the outbox in the transaction of the change they report."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core import clock
from voucherd.models import Event

VOUCHER_REDEEMED = "voucher.redeemed"
REDEMPTION_ROLLED_BACK = "redemption.rolled_back"
VOUCHERS_GENERATED = "voucher.batch_created"


async def record(
    session: AsyncSession, client_id: uuid.UUID, event_type: str, data: dict[str, Any]
) -> uuid.UUID:
    """Append one event; its id is the stable id that every delivery of it carries."""
    event_id = uuid.uuid4()
    await session.execute(
        insert(Event).values(
            id=event_id, client_id=client_id, type=event_type, data=data, created_at=clock.now()
        )
    )
    return event_id
