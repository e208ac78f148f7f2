"""Voucher queries on the hot paths, as Core statements (no ORM object loading)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.models import Campaign, Voucher

_vouchers = cast(Table, Voucher.__table__)

# Everything validation and redemption need, in one indexed lookup on (client_id, code).
LOOKUP_COLUMNS = (
    Voucher.id,
    Voucher.code,
    Voucher.campaign_id,
    Voucher.redeemed_count,
    Voucher.created_at,
    Campaign.name.label("campaign_name"),
    Campaign.discount_type,
    Campaign.discount_value,
    Campaign.discount_description,
    Campaign.minimum_spend,
    Campaign.currency,
    Campaign.valid_from,
    Campaign.valid_until,
    Campaign.uses_per_voucher,
    Campaign.status,
)
_lookup = (
    select(*LOOKUP_COLUMNS)
    .join(Campaign, Campaign.id == Voucher.campaign_id)
    .where(Campaign.deleted_at.is_(None))
)


async def lookup(session: AsyncSession, client_id: uuid.UUID, code: str) -> Row[Any] | None:
    """The voucher with its campaign's offer, or ``None`` (also for another client's code)."""
    query = _lookup.where(Voucher.client_id == client_id, Voucher.code == code)
    return cast("Row[Any] | None", (await session.execute(query)).first())


async def insert_codes(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    campaign_id: uuid.UUID,
    codes: Sequence[str],
    job_id: uuid.UUID | None,
    now: datetime,
) -> list[str]:
    """Insert the codes that are not taken yet (per client); returns the ones inserted."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return await _insert_codes_postgres(session, client_id, campaign_id, codes, job_id, now)
    rows = [
        {
            "id": uuid.uuid4(),
            "client_id": client_id,
            "campaign_id": campaign_id,
            "code": code,
            "redeemed_count": 0,
            "job_id": job_id,
            "created_at": now,
        }
        for code in codes
    ]
    statement = sqlite.insert(_vouchers).on_conflict_do_nothing().returning(_vouchers.c.code)
    result = await session.execute(statement, rows)
    return list(result.scalars().all())


# One statement per chunk: the driver sends the codes as one array (far cheaper than a row of
# parameters per code), the server makes the ids, and conflicts are skipped, not raised.
_PG_INSERT = """
INSERT INTO vouchers (id, client_id, campaign_id, code, redeemed_count, job_id, created_at)
SELECT gen_random_uuid(), $1, $2, code, 0, $3, $4 FROM unnest($5::text[]) AS code
ON CONFLICT DO NOTHING
RETURNING code
"""


async def _insert_codes_postgres(
    session: AsyncSession,
    client_id: uuid.UUID,
    campaign_id: uuid.UUID,
    codes: Sequence[str],
    job_id: uuid.UUID | None,
    now: datetime,
) -> list[str]:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    records = await driver.fetch(_PG_INSERT, client_id, campaign_id, job_id, now, list(codes))
    return [record[0] for record in records]
