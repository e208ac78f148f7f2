"""A campaign's redemptions and revenue per day in the client's timezone, online and in store.

Read over a bounded range of days (the last 30 by default, at most :data:`MAX_DAYS`), through the
``(campaign_id, created_at)`` index of redemptions, so the work grows with the range's redemptions,
never with the campaign's history. PostgreSQL sums per local day itself (``AT TIME ZONE``);
SQLite, which knows no timezones, sums into 15-minute UTC buckets (every timezone's offset is a
whole number of quarter hours) and each bucket goes to the local day it starts in. A redemption
counts on the day it was recorded (``created_at``, what the kept figures count); rolled-back ones
are left out, as in :func:`voucherd.stats.service.campaign_stats`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.campaigns.service import get_campaign
from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.models import Redemption

DEFAULT_DAYS = 30
MAX_DAYS = 366
_BUCKET_SECONDS = 900
ONLINE = "online"
IN_STORE = "in_store"


@dataclass(frozen=True)
class Day:
    day: date
    online: int  # redemptions
    in_store: int
    revenue_online: int  # transaction amounts, minor units
    revenue_in_store: int
    discount_given: int

    @property
    def redemptions(self) -> int:
        return self.online + self.in_store

    @property
    def revenue(self) -> int:
        return self.revenue_online + self.revenue_in_store


@dataclass(frozen=True)
class DailySeries:
    campaign_id: uuid.UUID
    currency: str
    timezone: str
    first: date
    last: date
    days: list[Day]  # every day from first to last, those without a redemption too

    @property
    def redemptions(self) -> int:
        return sum(day.redemptions for day in self.days)

    @property
    def revenue(self) -> int:
        return sum(day.revenue for day in self.days)


def day_range(timezone: str, first: date | None, last: date | None) -> tuple[date, date]:
    """The range asked for, or the last :data:`DEFAULT_DAYS` days up to today (the client's)."""
    today = clock.now().astimezone(ZoneInfo(timezone)).date()
    last = last or (today if first is None else min(today, first + timedelta(days=DEFAULT_DAYS - 1)))
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidInput("The first day must not be after the last.", field="first")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"Pick at most {MAX_DAYS} days.", field="first")
    return first, last


def _group(session: AsyncSession, timezone: str) -> tuple[Any, bool]:
    """What the rows are summed by: the local day (PostgreSQL), or the start of their 15-minute
    UTC bucket in seconds since the epoch (SQLite); and whether it is a day."""
    if session.get_bind().dialect.name == "postgresql":
        local = func.timezone(timezone, Redemption.created_at)  # created_at AT TIME ZONE :timezone
        return cast(local, Date), True
    # SQLite keeps UTC text, which strftime('%s') reads as UTC.
    seconds = cast(func.strftime("%s", Redemption.created_at), Integer) / _BUCKET_SECONDS
    return cast(seconds, Integer) * _BUCKET_SECONDS, False


async def daily_redemptions(
    session: AsyncSession,
    principal: Principal,
    campaign_id: uuid.UUID,
    *,
    first: date | None = None,
    last: date | None = None,
) -> DailySeries:
    """Redemptions, revenue and discount per local day from ``first`` to ``last`` (both included),
    split by channel; standing redemptions only."""
    campaign = await get_campaign(session, principal, campaign_id)
    zone = ZoneInfo(principal.timezone)
    first, last = day_range(principal.timezone, first, last)
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    grouped, by_day = _group(session, principal.timezone)
    bucket = grouped.label("bucket")
    rows = await session.execute(
        select(
            bucket,
            Redemption.channel,
            func.count(),
            func.coalesce(func.sum(Redemption.transaction_amount), 0),
            func.coalesce(func.sum(Redemption.discount_applied), 0),
        )
        .where(
            Redemption.campaign_id == campaign.id,
            Redemption.created_at >= start,
            Redemption.created_at < end,
            Redemption.rolled_back_at.is_(None),
        )
        .group_by(bucket, Redemption.channel)
    )
    totals: dict[date, dict[str, int]] = {}
    for key, channel, count, revenue, discount in rows.all():
        day = key if by_day else datetime.fromtimestamp(int(key), UTC).astimezone(zone).date()
        found = totals.setdefault(
            day, dict.fromkeys(("online", "in_store", "r_online", "r_in_store", "d"), 0)
        )
        key = "online" if channel == ONLINE else "in_store"
        found[key] += int(count)
        found[f"r_{key}"] += int(revenue)
        found["d"] += int(discount)
    days = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        found = totals.get(day, {})
        days.append(
            Day(
                day=day,
                online=found.get("online", 0),
                in_store=found.get("in_store", 0),
                revenue_online=found.get("r_online", 0),
                revenue_in_store=found.get("r_in_store", 0),
                discount_given=found.get("d", 0),
            )
        )
    return DailySeries(
        campaign_id=campaign.id,
        currency=campaign.currency,
        timezone=principal.timezone,
        first=first,
        last=last,
        days=days,
    )
