"""``Idempotency-Key`` for writes: the first reply is stored in the transaction of the write and
replayed for 24 hours to the same client sending the same key and request.

The key row is inserted first (``ON CONFLICT DO NOTHING``): on PostgreSQL a concurrent request
with the same key waits on the unique index until the first one commits, then finds its reply."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core import clock
from voucherd.core.errors import Conflict, InvalidInput
from voucherd.models import IdempotencyRecord

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
_records = cast(Table, IdempotencyRecord.__table__)


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"


class IdempotentRequestInProgress(Conflict):
    code = "idempotency_key_in_progress"


@dataclass(frozen=True)
class StoredReply:
    status_code: int
    body: bytes


async def begin(
    session: AsyncSession, client_id: uuid.UUID, key: str, request_hash: str
) -> StoredReply | None:
    """``None`` when this request is the first with the key (it then must call :func:`finish`),
    else the stored reply to replay."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.", field="Idempotency-Key"
        )
    now = clock.now()
    await session.execute(
        delete(_records).where(
            _records.c.client_id == client_id, _records.c.key == key, _records.c.created_at < now - TTL
        )
    )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = await session.execute(
        dialect.insert(_records)
        .values(
            client_id=client_id, key=key, request_hash=request_hash, status_code=0, body=b"", created_at=now
        )
        .on_conflict_do_nothing()
        .returning(_records.c.key)
    )
    if inserted.first() is not None:
        return None
    row = (
        await session.execute(
            select(_records.c.request_hash, _records.c.status_code, _records.c.body).where(
                _records.c.client_id == client_id, _records.c.key == key
            )
        )
    ).one()
    if row.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used with a different request; use a new key for a new request.",
            field="Idempotency-Key",
        )
    if row.status_code == 0:
        raise IdempotentRequestInProgress("A request with this Idempotency-Key is still in progress.")
    return StoredReply(row.status_code, row.body)


async def finish(
    session: AsyncSession, client_id: uuid.UUID, key: str, *, status_code: int, body: bytes
) -> None:
    await session.execute(
        update(_records)
        .where(_records.c.client_id == client_id, _records.c.key == key)
        .values(status_code=status_code, body=body)
    )
