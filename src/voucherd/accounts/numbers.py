"""Short integer numbers for objects that people (and VoucherCart's integer ids) name: one counter
for every kind, an identity column on both databases, so two transactions never get the same
number and neither waits for the other."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.models import NumberGrant

_grants = cast(Table, NumberGrant.__table__)
_NEXT = insert(_grants).returning(_grants.c.number)


async def next_number(session: AsyncSession) -> int:
    return int((await session.execute(_NEXT)).scalar_one())
