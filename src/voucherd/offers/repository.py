"""The read model of what a code offers: the voucher with its campaign's offer, from one indexed
lookup on ``(client_id, code)``, as Core statements (no ORM object loading). The checkout runs
the lookup through a session or, compiled once, straight on asyncpg (:mod:`voucherd.db.driver`):
one statement either way."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.db.driver import for_driver
from voucherd.models import Campaign, Client, Job, Voucher


@dataclass(frozen=True, slots=True)
class Offer:
    """Everything validation and redemption read about a code. Fields in the order of
    ``LOOKUP_COLUMNS``."""

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
    uses_per_customer: int | None
    require_customer: bool
    status: str
    active: bool = True  # the code's own switch (Voucherify's enable/disable)


# A code's own offer (recipient uploads may set one) and its own end of validity take precedence
# over its campaign's: the one place that says so.
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
    func.coalesce(Voucher.valid_from, Campaign.valid_from).label("valid_from"),
    # A code's own end (a discount code's expiry counted from its purchase) over its campaign's.
    func.coalesce(Voucher.valid_until, Campaign.valid_until).label("valid_until"),
    Campaign.uses_per_voucher,
    Campaign.uses_per_customer,
    Campaign.require_customer,
    Campaign.status,
    Voucher.active,
)
# A code made by a bulk job is issued when the job has made them all: until then it does not exist
# for the checkout or its public page (RELIABILITY K2), so a half-made batch can never be handed
# out and redeemed.
_issued = or_(Voucher.job_id.is_(None), Job.status == "succeeded")
# Built once with bound parameters: building the WHERE clause per call cost more than running it.
LOOKUP = (
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
LOOKUP_FOR_DRIVER = for_driver(LOOKUP)


async def lookup(session: AsyncSession, client_id: uuid.UUID, code: str) -> Offer | None:
    """The voucher with its campaign's offer, or ``None`` (also for another client's code)."""
    row = (await session.execute(LOOKUP, {"client_id": client_id, "code": code})).first()
    return None if row is None else Offer(*row)  # type: ignore[call-arg]


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
