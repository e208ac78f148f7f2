"""A campaign's redemptions and revenue per day in the client's timezone, online and in store.

Read over a bounded range of days (the last 30 by default, at most :data:`MAX_DAYS`) from the
campaign's kept quarter hours (``campaign_quarters``, migration 0024's triggers), so the work grows
with the range's days, never with its redemptions: each quarter hour goes to the local day it
starts in (every timezone's offset is a whole number of quarter hours). A redemption counts on the
day it was recorded (``created_at``, what the kept figures count); rolled-back ones are left out,
as in :func:`voucherd.stats.service.campaign_stats`."""

from __future__ import annotations

import uuid
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.campaigns.service import get_campaign
from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.models import CampaignQuarter
from voucherd.models.figures import QUARTER_FIGURES

DEFAULT_DAYS = 30
MAX_DAYS = 366
_QUARTER_SECONDS = 900
_SUMS = QUARTER_FIGURES  # each also a field of Day


def _quarter(moment: datetime) -> int:
    return int(moment.timestamp()) // _QUARTER_SECONDS


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
    days = (last - first).days + 1
    # Each quarter hour's local day: PostgreSQL says it (AT TIME ZONE), and sums per day; SQLite,
    # which knows no timezones, sums per quarter and each goes to the day it starts in.
    postgres = session.get_bind().dialect.name == "postgresql"
    moment = func.to_timestamp(CampaignQuarter.quarter * _QUARTER_SECONDS)
    key = cast(func.timezone(principal.timezone, moment), Date) if postgres else CampaignQuarter.quarter
    rows = await session.execute(
        select(key, *(func.sum(getattr(CampaignQuarter, name)) for name in _SUMS))
        .where(
            CampaignQuarter.campaign_id == campaign.id,
            CampaignQuarter.quarter >= _quarter(start),
            CampaignQuarter.quarter < _quarter(end),
        )
        .group_by(key)
    )
    starts = [_quarter(datetime.combine(first + timedelta(days=n), time(), zone)) for n in range(days + 1)]
    totals: dict[date, dict[str, int]] = {}
    for grouped, *values in rows.all():
        day = grouped if postgres else first + timedelta(days=bisect_right(starts, grouped) - 1)
        found = totals.setdefault(day, dict.fromkeys(_SUMS, 0))
        for name, value in zip(_SUMS, values, strict=True):
            found[name] += int(value or 0)
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        found = totals.get(day, {})
        series.append(Day(day=day, **{name: found.get(name, 0) for name in _SUMS}))
    return DailySeries(
        campaign_id=campaign.id,
        currency=campaign.currency,
        timezone=principal.timezone,
        first=first,
        last=last,
        days=series,
    )
