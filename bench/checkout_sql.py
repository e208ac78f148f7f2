"""The checkout's SQL reduced to what each call must do, through asyncpg. The minimal app and the
raw baseline both run these functions, so they run exactly the same statements.

Validate: one SELECT of the voucher joined with its campaign by (client_id, code), the columns
voucherd's lookup reads. Redeem: in one transaction, the guarded use counter UPDATE and one
INSERT INTO redemptions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]

# The bench campaigns' discount: 10% off.
DISCOUNT_PERCENT = 10

VALIDATE = """
SELECT v.id, v.code, v.campaign_id, v.redeemed_count, v.created_at,
       c.name AS campaign_name, c.discount_type, c.discount_value, c.discount_description,
       c.minimum_spend, c.currency, c.valid_from, c.valid_until, c.uses_per_voucher, c.status
FROM vouchers AS v JOIN campaigns AS c ON c.id = v.campaign_id
WHERE c.deleted_at IS NULL AND v.client_id = $1 AND v.code = $2
"""

CLAIM_USE = """
UPDATE vouchers SET redeemed_count = redeemed_count + 1
WHERE id = $1 AND redeemed_count < $2
RETURNING redeemed_count
"""

INSERT_REDEMPTION = """
INSERT INTO redemptions (id, client_id, campaign_id, voucher_id, code, order_reference, currency,
                         transaction_amount, discount_applied, channel, redeemed_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'online', $10, $10)
"""


@dataclass(frozen=True)
class Redemption:
    client_id: uuid.UUID
    campaign_id: uuid.UUID
    voucher_id: uuid.UUID
    code: str
    order_reference: str
    currency: str
    amount_minor: int
    uses_per_voucher: int

    @property
    def discount_minor(self) -> int:
        return self.amount_minor * DISCOUNT_PERCENT // 100


async def validate(connection: asyncpg.Connection, client_id: uuid.UUID, code: str) -> Any:
    """The voucher with its campaign's offer, or ``None``."""
    return await connection.fetchrow(VALIDATE, client_id, code)


async def redeem(connection: asyncpg.Connection, redemption: Redemption) -> bool:
    """Take one use and record the redemption; ``False`` (nothing written) when none is left."""
    async with connection.transaction():
        if await connection.fetchval(CLAIM_USE, redemption.voucher_id, redemption.uses_per_voucher) is None:
            return False
        await connection.execute(
            INSERT_REDEMPTION,
            uuid.uuid4(),
            redemption.client_id,
            redemption.campaign_id,
            redemption.voucher_id,
            redemption.code,
            redemption.order_reference,
            redemption.currency,
            redemption.amount_minor,
            redemption.discount_minor,
            datetime.now(UTC),
        )
    return True
