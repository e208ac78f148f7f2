"""Voucher queries on the hot paths, as Core statements (no ORM object loading)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, or_, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core import ids
from voucherd.db.session import driver_of
from voucherd.events.service import FIRST_SEQUENCE
from voucherd.models import Campaign, Client, Job, Voucher

_vouchers = cast(Table, Voucher.__table__)


@dataclass(frozen=True, slots=True)
class Offer:
    """A voucher with its campaign's offer: everything validation and redemption read, from one
    indexed lookup on ``(client_id, code)``. Fields in the order of ``LOOKUP_COLUMNS``."""

    id: uuid.UUID
    code: str
    campaign_id: uuid.UUID
    redeemed_count: int
    created_at: datetime
    campaign_name: str
    discount_type: str
    discount_value: int
    discount_description: str
    minimum_spend: int | None
    currency: str
    valid_from: datetime | None
    valid_until: datetime | None
    uses_per_voucher: int
    status: str


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
# Built once with bound parameters: building the WHERE clause per call cost more than running it.
# A code's own offer (recipient uploads may set one) takes precedence over its campaign's.
# A code made by a bulk job is issued when the job has made them all: until then it does not exist
# for the checkout or its public page (RELIABILITY K2), so a half-made batch can never be handed
# out and redeemed.
_issued = or_(Voucher.job_id.is_(None), Job.status == "succeeded")
_lookup = (
    select(*LOOKUP_COLUMNS)
    .join(Campaign, Campaign.id == Voucher.campaign_id)
    .outerjoin(Job, Job.id == Voucher.job_id)
    .where(
        Campaign.deleted_at.is_(None),
        _issued,
        Voucher.client_id == bindparam("client_id"),
        Voucher.code == bindparam("code"),
    )
)

# The same query for asyncpg (``Database.driver``); tests run both on PostgreSQL.
LOOKUP_SQL = """
SELECT v.id, v.code, v.campaign_id, v.redeemed_count, v.created_at, c.name AS campaign_name,
       coalesce(v.discount_type, c.discount_type) AS discount_type,
       coalesce(v.discount_value, c.discount_value) AS discount_value,
       coalesce(v.discount_description, c.discount_description) AS discount_description,
       c.minimum_spend, c.currency, c.valid_from, c.valid_until, c.uses_per_voucher, c.status
FROM vouchers AS v JOIN campaigns AS c ON c.id = v.campaign_id LEFT JOIN jobs AS j ON j.id = v.job_id
WHERE c.deleted_at IS NULL AND (v.job_id IS NULL OR j.status = 'succeeded')
  AND v.client_id = $1 AND v.code = $2
"""


async def lookup(session: AsyncSession, client_id: uuid.UUID, code: str) -> Offer | None:
    """The voucher with its campaign's offer, or ``None`` (also for another client's code)."""
    row = (await session.execute(_lookup, {"client_id": client_id, "code": code})).first()
    return None if row is None else Offer(*row)  # type: ignore[call-arg]


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
    inserted = await _insert(session, client_id, campaign_id, codes, job_id, None, now, event_sequence=0)
    return [code for _, code in inserted]


@dataclass(frozen=True)
class OwnOffer:
    """An offer for particular codes that differs from their campaign's (minor units / basis points)."""

    discount_type: str
    discount_value: int
    discount_description: str


async def insert_vouchers(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    campaign_id: uuid.UUID,
    codes: Sequence[str],
    offer: OwnOffer | None,
    now: datetime,
) -> list[tuple[uuid.UUID, str]]:
    """Insert the codes not taken yet (per client); returns (id, code) of the ones inserted.
    Codes issued one per person use this (the id links the person). Each is inserted with
    ``event_sequence`` 1: its ``voucher.created`` event, which the caller writes in this
    transaction, is its first event."""
    inserted = await _insert(
        session, client_id, campaign_id, codes, None, offer, now, event_sequence=FIRST_SEQUENCE
    )
    return [(ids.standard(voucher_id), code) for voucher_id, code in inserted]


# One statement per chunk: the driver sends the ids and codes as two arrays (far cheaper than a
# row of parameters per code). The plain INSERT runs first, in a savepoint: skipping conflicts
# with ON CONFLICT costs every row a speculative insertion (a million codes: 10.7 s against 7.9 s
# measured here), while a collision is rare (the capacity margin keeps codes sparse). A chunk
# that does collide is rolled back and inserted again, skipping the taken codes.
_PG_INSERT = """
INSERT INTO vouchers (id, client_id, campaign_id, code, redeemed_count, job_id, created_at,
                      discount_type, discount_value, discount_description, event_sequence)
SELECT id, $1, $2, code, 0, $3, $4, $5, $6, $7, $8 FROM unnest($9::uuid[], $10::text[]) AS t(id, code)
"""
_PG_INSERT_SKIPPING = _PG_INSERT + "ON CONFLICT DO NOTHING RETURNING id, code"


async def _insert(
    session: AsyncSession,
    client_id: uuid.UUID,
    campaign_id: uuid.UUID,
    codes: Sequence[str],
    job_id: uuid.UUID | None,
    offer: OwnOffer | None,
    now: datetime,
    *,
    event_sequence: int,
) -> list[tuple[Any, str]]:
    """(id, code) of the codes inserted, each inserted at ``event_sequence``; on
    PostgreSQL the ids are :func:`ids.driver_ids`."""
    discount = (
        (offer.discount_type, offer.discount_value, offer.discount_description) if offer else (None,) * 3
    )
    if session.get_bind().dialect.name == "postgresql":
        import asyncpg  # type: ignore[import-untyped]

        driver = await driver_of(session)
        made = ids.driver_ids(len(codes))
        arguments = (client_id, campaign_id, job_id, now, *discount, event_sequence, made, list(codes))
        await driver.execute("SAVEPOINT insert_codes")
        try:
            await driver.execute(_PG_INSERT, *arguments)
        except asyncpg.UniqueViolationError:
            await driver.execute("ROLLBACK TO SAVEPOINT insert_codes")
            records = await driver.fetch(_PG_INSERT_SKIPPING, *arguments)
            inserted = [(record[0], record[1]) for record in records]
        else:
            inserted = list(zip(made, codes, strict=True))
        await driver.execute("RELEASE SAVEPOINT insert_codes")
        return inserted
    rows = [
        {
            "id": voucher_id,
            "client_id": client_id,
            "campaign_id": campaign_id,
            "code": code,
            "redeemed_count": 0,
            "event_sequence": event_sequence,
            "job_id": job_id,
            "created_at": now,
            "discount_type": discount[0],
            "discount_value": discount[1],
            "discount_description": discount[2],
        }
        for voucher_id, code in zip((ids.new_id() for _ in codes), codes, strict=True)
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
        .outerjoin(Job, Job.id == Voucher.job_id)
        .where(Voucher.code == code, Campaign.deleted_at.is_(None), _issued)
        .limit(2)
    )
    rows = (await session.execute(query)).all()
    return cast("Row[Any]", rows[0]) if len(rows) == 1 else None
