"""The gift card redemption's SQL reduced to what each call must do, through asyncpg. The minimal
app and the raw baseline both run this function, so they run exactly the same statements.

Redeem: in one transaction, the guarded balance UPDATE (the card must be in progress and hold at
least the amount) and one INSERT INTO giftcard_ledger with the balance it returned."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg  # type: ignore[import-untyped]

DEBIT = """
UPDATE giftcards SET balance = balance - $2, updated_at = $3
WHERE id = $1 AND status = 'in_progress' AND balance >= $2
RETURNING balance
"""

INSERT_LEDGER = """
INSERT INTO giftcard_ledger (id, giftcard_id, client_id, kind, amount, balance_after, occurred_at,
                             actor, created_at)
VALUES ($1, $2, $3, 'redeem', $4, $5, $6, $7, $6)
"""


@dataclass(frozen=True)
class Debit:
    client_id: uuid.UUID
    giftcard_id: uuid.UUID
    amount: int
    actor: str


async def redeem(connection: asyncpg.Connection, debit: Debit) -> bool:
    """Take ``amount`` from the card and write its ledger row; ``False`` (nothing written) when
    the card cannot give it."""
    now = datetime.now(UTC)
    async with connection.transaction():
        left = await connection.fetchval(DEBIT, debit.giftcard_id, debit.amount, now)
        if left is None:
            return False
        await connection.execute(
            INSERT_LEDGER,
            uuid.uuid4(),
            debit.giftcard_id,
            debit.client_id,
            -debit.amount,
            left,
            now,
            debit.actor,
        )
    return True
