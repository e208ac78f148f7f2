"""Domain events, written to the outbox in the transaction of the change they report."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core import clock
from voucherd.core.ids import new_id
from voucherd.db import bulk
from voucherd.models import Event

# Every event type voucherd writes. ``data`` is stored as the webhook body's ``data`` object
# will carry it (money in minor units plus ``currency``; the webhook mapper converts at its edge).
VOUCHER_CREATED = "voucher.created"  # one code issued singly (recipient upload, landing page, publish)
VOUCHERS_GENERATED = "voucher.batch_created"  # one event per bulk generation request, never per code
VOUCHER_PUBLISHED = "voucher.published"
VOUCHER_REDEEMED = "voucher.redeemed"
REDEMPTION_ROLLED_BACK = "redemption.rolled_back"
LEAD_CAPTURED = "lead.captured"
REFERRAL_CONVERTED = "referral.converted"
EMAIL_OPENED = "email.opened"
EMAIL_CLICKED = "email.clicked"
EMAIL_BOUNCED = "email.bounced"
WEBHOOK_ENDPOINT_DISABLED = "webhook.endpoint_disabled"  # the notice when an endpoint is turned off

EVENT_TYPES = (
    VOUCHER_CREATED,
    VOUCHERS_GENERATED,
    VOUCHER_PUBLISHED,
    VOUCHER_REDEEMED,
    REDEMPTION_ROLLED_BACK,
    LEAD_CAPTURED,
    REFERRAL_CONVERTED,
    EMAIL_OPENED,
    EMAIL_CLICKED,
    EMAIL_BOUNCED,
    WEBHOOK_ENDPOINT_DISABLED,
)


def new_event(client_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The outbox row of one event; its id is the stable id that every delivery of it carries."""
    return {
        "id": new_id(),
        "client_id": client_id,
        "type": event_type,
        "data": data,
        "created_at": clock.now(),
    }


async def record(
    session: AsyncSession, client_id: uuid.UUID, event_type: str, data: dict[str, Any]
) -> uuid.UUID:
    """Append one event in the session's transaction."""
    row = new_event(client_id, event_type, data)
    await session.execute(insert(Event).values(row))
    event_id: uuid.UUID = row["id"]
    return event_id


async def record_many(
    session: AsyncSession, client_id: uuid.UUID, event_type: str, items: list[dict[str, Any]]
) -> None:
    """Append one event per item in one statement (a recipient upload issues 10,000 codes)."""
    if not items:
        return
    now = clock.now()
    rows = [
        {"id": new_id(), "client_id": client_id, "type": event_type, "data": data, "created_at": now}
        for data in items
    ]
    await bulk.insert_rows(session, cast(Table, Event.__table__), rows)
