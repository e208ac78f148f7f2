"""Voucher queries on the hot paths, as Core statements (no ORM object loading)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.models import Campaign, Client, Voucher

_vouchers = cast(Table, Voucher.__table__)

# Everything validation and redemption need, in one indexed lookup on (client_id, code).
LOOKUP_COLUMNS = (
    Voucher.id,
    Voucher.code,
    Voucher.campaign_id,
    Voucher.redeemed_count,
    Voucher.created_at,
    Campaign.name.label("campaign_name"),
    func.coalesce(Voucher.discount_type, Campaign.discount_type).label("discount_type"),
    func.coalesce(Voucher.discount_value, Campaign.discount_value).label("discount_value"),
    func.coalesce(Voucher.discount_description, Campaign.discount_description).label("discount_description"),
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


@dataclass(frozen=True)
class OwnOffer:
    """An offer for particular codes that differs from their campaign's (minor units / basis points)."""

    discount_type: str
    discount_value: int
    discount_description: str


_PG_INSERT_WITH_IDS = """
INSERT INTO vouchers (id, client_id, campaign_id, code, redeemed_count, job_id, created_at,
                      discount_type, discount_value, discount_description)
SELECT id, $1, $2, code, 0, NULL, $3, $4, $5, $6
FROM unnest($7::uuid[], $8::text[]) AS t(id, code)
ON CONFLICT DO NOTHING
RETURNING id, code
"""


async def insert_vouchers(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    campaign_id: uuid.UUID,
    codes: Sequence[str],
    offer: OwnOffer | None,
    now: datetime,
) -> list[tuple[uuid.UUID, str]]:
    """Insert the codes not taken yet (per client) with ids made here; returns (id, code) of the
    ones inserted. Codes issued one per person use this (the id links the person)."""
    ids = [uuid.uuid4() for _ in codes]
    discount = (
        (offer.discount_type, offer.discount_value, offer.discount_description) if offer else (None,) * 3
    )
    if session.get_bind().dialect.name == "postgresql":
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        records = await driver.fetch(
            _PG_INSERT_WITH_IDS, client_id, campaign_id, now, *discount, ids, list(codes)
        )
        return [(record[0], record[1]) for record in records]
    rows = [
        {
            "id": voucher_id,
            "client_id": client_id,
            "campaign_id": campaign_id,
            "code": code,
            "redeemed_count": 0,
            "job_id": None,
            "created_at": now,
            "discount_type": discount[0],
            "discount_value": discount[1],
            "discount_description": discount[2],
        }
        for voucher_id, code in zip(ids, codes, strict=True)
    ]
    statement = sqlite.insert(_vouchers).on_conflict_do_nothing().returning(_vouchers.c.id, _vouchers.c.code)
    result = await session.execute(statement, rows)
    return [(row[0], row[1]) for row in result.all()]


async def lookup_public(session: AsyncSession, code: str) -> Row[Any] | None:
    """The voucher behind a public link, whoever's it is: ``None`` for an unknown code, and for a
    code that two clients happen to share (the page must not pick one)."""
    query = (
        select(
            *LOOKUP_COLUMNS,
            Voucher.client_id,
            Campaign.terms,
            Campaign.landing_slug,
            Client.name.label("client_name"),
            Client.timezone,
        )
        .join(Campaign, Campaign.id == Voucher.campaign_id)
        .join(Client, Client.id == Voucher.client_id)
        .where(Voucher.code == code, Campaign.deleted_at.is_(None))
        .limit(2)
    )
    rows = (await session.execute(query)).all()
    return cast("Row[Any]", rows[0]) if len(rows) == 1 else None
