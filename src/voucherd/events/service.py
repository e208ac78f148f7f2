"""Domain events, written to the outbox in the transaction of the change they report.

An event about one voucher carries ``voucher_id`` and ``sequence`` in its data: its number among
the events about that voucher, 1, 2, 3... without gaps. The number is taken by incrementing
``vouchers.event_sequence`` in the same transaction (``UPDATE ... RETURNING``): the row lock
holds a concurrent change until this one commits, so the numbers of a voucher follow commit order
and a receiver can put shuffled deliveries back in order. Events about no single voucher (a batch
generated, an export published, an endpoint disabled) carry no sequence."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core import clock
from voucherd.core.ids import new_id
from voucherd.db import bulk
from voucherd.models import Event, Voucher

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
ORDER_CREATED = "order.created"  # a gift voucher order and the codes it issued
GIFTCARD_REDEEMED = "giftcard.redeemed"
GIFTCARD_TOPPED_UP = "giftcard.topped_up"
GIFTCARD_REFUNDED = "giftcard.refunded"
GIFTCARD_REGENERATED = "giftcard.regenerated"
GIFTCARD_REDEMPTION_UNDONE = "giftcard.redemption_undone"  # a counter payment given back by its member
DISCOUNT_PURCHASED = "discount.purchased"  # a VoucherCart coupon bought: one discount code issued
DISCOUNT_REDEEMED = "discount.redeemed"  # a discount code redeemed through VoucherCart's API

SEQUENCE = "sequence"  # the key of an event's number among the events about its voucher
FIRST_SEQUENCE = 1  # a code issued singly is inserted with this, for its voucher.created event

_vouchers = cast(Table, Voucher.__table__)

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
    ORDER_CREATED,
    GIFTCARD_REDEEMED,
    GIFTCARD_TOPPED_UP,
    GIFTCARD_REFUNDED,
    GIFTCARD_REGENERATED,
    GIFTCARD_REDEMPTION_UNDONE,
    DISCOUNT_PURCHASED,
    DISCOUNT_REDEEMED,
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


def numbered(data: dict[str, Any], voucher_id: uuid.UUID, sequence: int) -> dict[str, Any]:
    """``data`` of an event about a voucher: the voucher's id and the event's number."""
    return {**data, "voucher_id": str(voucher_id), SEQUENCE: sequence}


async def next_sequence(session: AsyncSession, voucher_id: uuid.UUID) -> int:
    """Take the voucher's next event number. The row stays locked until the transaction ends, so
    a concurrent change of the voucher waits and then takes the number after ours."""
    number = await session.scalar(
        update(_vouchers)
        .where(_vouchers.c.id == voucher_id)
        .values(event_sequence=_vouchers.c.event_sequence + 1)
        .returning(_vouchers.c.event_sequence)
    )
    if number is None:
        raise LookupError(f"voucher {voucher_id} does not exist")
    return int(number)


async def next_sequences(session: AsyncSession, voucher_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """:func:`next_sequence` for several distinct vouchers in one statement."""
    rows = await session.execute(
        update(_vouchers)
        .where(_vouchers.c.id.in_(voucher_ids))
        .values(event_sequence=_vouchers.c.event_sequence + 1)
        .returning(_vouchers.c.id, _vouchers.c.event_sequence)
    )
    numbers = {row.id: int(row.event_sequence) for row in rows}
    if len(numbers) != len(set(voucher_ids)):
        raise LookupError("a voucher to number an event for does not exist")
    return numbers


async def record(
    session: AsyncSession,
    client_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    *,
    voucher_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Append one event in the session's transaction; an event about ``voucher_id`` takes that
    voucher's next number."""
    if voucher_id is not None:
        data = numbered(data, voucher_id, await next_sequence(session, voucher_id))
    row = new_event(client_id, event_type, data)
    await session.execute(insert(Event).values(row))
    event_id: uuid.UUID = row["id"]
    return event_id


async def record_many(
    session: AsyncSession,
    client_id: uuid.UUID,
    event_type: str,
    items: list[dict[str, Any]],
    *,
    about_vouchers: bool = False,
) -> None:
    """Append one event per item in one statement (a recipient upload issues 10,000 codes).

    ``about_vouchers``: each item is about the voucher in its ``voucher_id`` (distinct ones),
    and takes that voucher's next number, all in one more statement. Items may also carry their
    number already (``voucher.created`` of codes inserted at :data:`FIRST_SEQUENCE`)."""
    if not items:
        return
    if about_vouchers:
        ids = [uuid.UUID(item["voucher_id"]) for item in items]
        numbers = await next_sequences(session, ids)
        items = [
            numbered(item, voucher_id, numbers[voucher_id])
            for item, voucher_id in zip(items, ids, strict=True)
        ]
    now = clock.now()
    rows = [
        {"id": new_id(), "client_id": client_id, "type": event_type, "data": data, "created_at": now}
        for data in items
    ]
    await bulk.insert_rows(session, cast(Table, Event.__table__), rows)
