"""Voucher writes on the hot paths (codes by the million), as Core statements; what a code offers is
read in :mod:`voucherd.offers.repository`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core import ids
from voucherd.db.session import driver_of
from voucherd.events.service import FIRST_SEQUENCE
from voucherd.models import Voucher

_vouchers = cast(Table, Voucher.__table__)


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
