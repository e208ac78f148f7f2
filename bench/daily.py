"""``python -m bench.daily``: the campaign page's day-by-day series
(:func:`voucherd.stats.daily.daily_redemptions`) on a campaign of 100,000 redemptions spread over
the last 120 days, on PostgreSQL and SQLite: the default 30 days and the longest range (366 days,
every redemption), median and p95 of 20 calls of the service after 3 warm-ups. The rows are
written by SQL (not timed), through the triggers that keep the campaign's figures."""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text

from bench.common import ADMIN_DATABASE, POSTGRES, percentile
from voucherd.accounts import service as accounts
from voucherd.campaigns import service as campaigns
from voucherd.campaigns.rules import DiscountType
from voucherd.campaigns.schemas import CampaignInput
from voucherd.core import clock
from voucherd.core.money import Amount
from voucherd.db import Database, unit_of_work
from voucherd.db.engine import create_database
from voucherd.db.migrate import upgrade_async
from voucherd.stats import daily

REDEMPTIONS = 100_000
DAYS = 120
WARMUP = 3
CALLS = 20
DATABASE = "voucherd_bench_daily"


async def _seed(database: Database, postgres: bool) -> tuple[Any, uuid.UUID]:
    async with unit_of_work(database) as session:
        client = await accounts.create_client(session, name="Bench daily", timezone="America/New_York")
    principal = accounts.principal_of_key(client, (await _key(database, client.id)).api_key)
    async with unit_of_work(database) as session:
        campaign = await campaigns.create_campaign(
            session,
            principal,
            CampaignInput(name="Big", discount_type=DiscountType.PERCENTAGE, discount_value=Amount.major(10)),
        )
    step = DAYS * 86400 / REDEMPTIONS  # seconds between redemptions, back from now
    if postgres:
        numbers = "generate_series(1, :n) AS s(g)"
        voucher_id, redemption_id = "md5('v' || g)::uuid", "md5('x' || g)::uuid"
        at = "now() - g * :step * interval '1 second'"
        ids: dict[str, Any] = {"client": client.id, "campaign": campaign.id}
        client_id, campaign_id = "CAST(:client AS uuid)", "CAST(:campaign AS uuid)"
        prefix = ""
    else:
        numbers = "s"
        voucher_id, redemption_id = "printf('%032x', g)", "printf('%032x', g + 1000000000)"
        at = "strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || (g * :step) || ' seconds') || '.000000'"
        ids = {"client": client.id.hex, "campaign": campaign.id.hex}
        client_id, campaign_id = ":client", ":campaign"
        prefix = "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n) "
    values = {**ids, "n": REDEMPTIONS, "step": step}
    async with unit_of_work(database) as session:
        await session.execute(
            text(
                f"INSERT INTO vouchers (id, client_id, campaign_id, code, redeemed_count, event_sequence, "  # noqa: S608
                f"active, created_at) {prefix}SELECT {voucher_id}, {client_id}, {campaign_id}, "
                f"'BENCH' || g, 1, 0, true, {at} FROM {numbers}"
            ),
            values,
        )
        await session.execute(
            text(
                f"INSERT INTO redemptions (id, client_id, campaign_id, voucher_id, code, order_reference, "  # noqa: S608
                f"currency, transaction_amount, discount_applied, channel, redeemed_at, created_at) "
                f"{prefix}SELECT {redemption_id}, {client_id}, {campaign_id}, {voucher_id}, 'BENCH' || g, "
                f"'BENCH' || g, 'USD', 2500, 250, CASE WHEN g % 5 = 0 THEN 'in_store' ELSE 'online' END, "
                f"{at}, {at} FROM {numbers}"
            ),
            values,
        )
    return principal, campaign.id


async def _key(database: Database, client_id: uuid.UUID) -> Any:
    async with unit_of_work(database) as session:
        return await accounts.create_api_key(session, client_id)


async def _time(
    database: Database, principal: Any, campaign_id: uuid.UUID, first: date | None
) -> list[float]:
    took = []
    for call in range(WARMUP + CALLS):
        started = time.perf_counter()
        async with unit_of_work(database, write=False) as session:
            series = await daily.daily_redemptions(
                session,
                principal,
                campaign_id,
                first=first,
                last=None if first is None else clock.now().date(),
            )
        if call >= WARMUP:
            took.append((time.perf_counter() - started) * 1000)
    if first is not None:
        assert series.redemptions == REDEMPTIONS, series.redemptions
    return took


async def _measure(name: str, url: str, postgres: bool) -> None:
    await upgrade_async(url)
    database = create_database(url)
    try:
        principal, campaign_id = await _seed(database, postgres)
        if postgres:
            async with unit_of_work(database) as session:
                await session.execute(text("ANALYZE redemptions"))
        today = clock.now().date()
        for label, first in (("last 30 days", None), ("366 days (all)", today - timedelta(days=365))):
            took = await _time(database, principal, campaign_id, first)
            print(
                f"{name:10} {label:15} median {statistics.median(took):7.1f} ms   "
                f"p95 {percentile(took, 0.95):7.1f} ms"
            )
    finally:
        await database.dispose()


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(f"{POSTGRES}/{ADMIN_DATABASE}")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def main() -> None:
    print(
        f"{REDEMPTIONS:,} redemptions of one campaign over {DAYS} days, {CALLS} calls each", file=sys.stderr
    )
    await _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await _admin(f"CREATE DATABASE {DATABASE}")
    try:
        await _measure(
            "PostgreSQL", f"{POSTGRES}/{DATABASE}".replace("postgresql://", "postgresql+asyncpg://"), True
        )
    finally:
        if "--keep" not in sys.argv:  # keep it to EXPLAIN the query
            await _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    if "--postgres" in sys.argv:
        return
    with tempfile.TemporaryDirectory() as folder:
        await _measure("SQLite", f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", False)


if __name__ == "__main__":
    asyncio.run(main())
