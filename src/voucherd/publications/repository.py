"""Claiming codes for customers and recording publications, as Core statements: the one writer
of ``voucher_owners`` (the "never two customers" rows)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.db import bulk
from voucherd.models import Publication, Voucher, VoucherOwner

_owners = cast(Table, VoucherOwner.__table__)
_publications = cast(Table, Publication.__table__)
_vouchers = cast(Table, Voucher.__table__)


def _dialect(session: AsyncSession) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


async def claim(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    campaign_id: uuid.UUID,
    customer_id: uuid.UUID,
    voucher_ids: Sequence[uuid.UUID],
    now: datetime,
) -> set[uuid.UUID]:
    """Make the customer the owner of the codes that have none; returns the ones claimed now.

    The primary key on ``voucher_owners.voucher_id`` decides concurrent claims: on PostgreSQL a
    second insert of the same code waits for the first transaction and then inserts nothing."""
    if not voucher_ids:
        return set()
    rows = [
        {
            "voucher_id": voucher_id,
            "client_id": client_id,
            "campaign_id": campaign_id,
            "customer_id": customer_id,
            "created_at": now,
        }
        for voucher_id in voucher_ids
    ]
    statement = _dialect(session).insert(_owners).on_conflict_do_nothing().returning(_owners.c.voucher_id)
    result = await session.execute(statement, rows)
    return set(result.scalars().all())


async def give_new_codes(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    campaign_id: uuid.UUID,
    owners: Sequence[tuple[uuid.UUID, uuid.UUID]],
    now: datetime,
) -> None:
    """Owner rows, ``(voucher_id, customer_id)``, for codes made in this transaction (nobody else
    can hold them, so no conflict to settle): uploads, leads and auto-update publishing."""
    rows = [
        {
            "voucher_id": voucher_id,
            "client_id": client_id,
            "campaign_id": campaign_id,
            "customer_id": customer_id,
            "created_at": now,
        }
        for voucher_id, customer_id in owners
    ]
    await bulk.insert_rows(session, _owners, rows)


async def owner_of(session: AsyncSession, voucher_id: uuid.UUID) -> uuid.UUID | None:
    return cast(
        "uuid.UUID | None",
        await session.scalar(select(_owners.c.customer_id).where(_owners.c.voucher_id == voucher_id)),
    )


async def unpublished(session: AsyncSession, campaign_id: uuid.UUID, *, limit: int) -> list[uuid.UUID]:
    """Unused, enabled codes of the campaign that nobody holds, oldest first (a disabled code is
    not handed out). On PostgreSQL rows that a
    concurrent publish is claiming are skipped (``SKIP LOCKED``), so parallel publishes from one
    pool take different codes instead of queueing on the same ones."""
    owned = exists().where(_owners.c.voucher_id == _vouchers.c.id)
    query = (
        select(_vouchers.c.id)
        .where(
            _vouchers.c.campaign_id == campaign_id,
            _vouchers.c.redeemed_count == 0,
            _vouchers.c.active.is_(True),
            ~owned,
        )
        .order_by(_vouchers.c.created_at, _vouchers.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=_vouchers)
    return list((await session.scalars(query)).all())


async def insert_publications(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(_publications.insert(), list(rows))
