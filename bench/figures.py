"""What the kept figures cost the redemption: the checkout's two statements (bench/checkout_sql.py:
the guarded use counter UPDATE and the INSERT INTO redemptions, one transaction) through raw
asyncpg at saturation, on unused single-use codes, with the triggers that keep the figures on and
off in turns on the same database:

- ``none``: every figure trigger on ``vouchers`` and ``redemptions`` disabled (the raw baseline);
- ``figures``: the campaign figures on (migrations 0018 and 0023), the quarter hours off;
- ``all``: as in production (the quarter hours of migration 0024 too).

Each round runs the three one after another, so a shared machine's drift falls on all alike; the
figure is each one's median rate over the rounds, and the ratios to ``none`` say what the figures
cost (``all / figures`` is the quarter hours' own share)."""

from __future__ import annotations

import itertools
import statistics

import asyncpg  # type: ignore[import-untyped]

from bench.common import BenchError, Figure, Section, Target, Tenant, create_campaign, dsn, progress, ratio
from bench.http_checkout import CONCURRENCY, Durations, Vouchers, raw_redeem
from bench.load import closed_loop
from voucherd.db import Database

CONFIGURATIONS = ("none", "figures", "all")
# At saturation with every trigger on, the redemption keeps at least this share of its rate.
TARGET_RATIO = 0.6

_SEED = """
INSERT INTO vouchers (id, client_id, campaign_id, code, redeemed_count, created_at)
SELECT md5('figures-v' || g)::uuid, $1, $2, 'FIGURES' || lpad(g::text, 10, '0'), 0,
       now() + g * interval '1 microsecond'
FROM generate_series(1, $3) AS g
RETURNING id, code
"""
_TRIGGERS = """
SELECT c.relname AS table_name, t.tgname AS trigger_name
FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal AND c.relname IN ('vouchers', 'redemptions')
  AND (t.tgname LIKE 'figures%' OR t.tgname LIKE 'quarters%')
ORDER BY 1, 2
"""


async def _switch(connection: asyncpg.Connection, triggers: list[asyncpg.Record], configuration: str) -> None:
    """Enable the triggers ``configuration`` keeps and disable the others (between runs: the
    ALTER waits for no one)."""
    for row in triggers:
        quarters = row["trigger_name"].startswith("quarters")
        on = configuration == "all" or (configuration == "figures" and not quarters)
        action = "ENABLE" if on else "DISABLE"
        table, name = row["table_name"], row["trigger_name"]  # from pg_trigger, not from input
        await connection.execute(f'ALTER TABLE {table} {action} TRIGGER "{name}"')


async def run(database: Database, tenant: Tenant, durations: Durations, codes: int) -> Section:
    campaign_id = await create_campaign(database, tenant, "Bench figures")
    progress(f"figures: seeding {codes:,} unused codes")
    admin = await asyncpg.connect(dsn())
    try:
        seeded = await admin.fetch(_SEED, tenant.principal.client_id, campaign_id, codes)
        vouchers = Vouchers([(row["id"], row["code"]) for row in seeded])
        triggers = await admin.fetch(_TRIGGERS)
        if not any(row["trigger_name"].startswith("quarters") for row in triggers):
            raise BenchError("figures: no quarter-hour triggers found; is the database migrated?")
        redeem = raw_redeem(tenant, campaign_id, vouchers, (f"figures-{n}" for n in itertools.count()))
        rates: dict[str, list[float]] = {name: [] for name in CONFIGURATIONS}
        rounds = max(durations.rounds, 3)
        async with asyncpg.create_pool(dsn(), min_size=CONCURRENCY, max_size=CONCURRENCY) as pool:
            operation = redeem(pool)
            for round_ in range(1, rounds + 1):
                for configuration in CONFIGURATIONS:
                    progress(f"figures: round {round_} of {rounds}, triggers {configuration}")
                    await _switch(admin, triggers, configuration)
                    await closed_loop(operation, concurrency=CONCURRENCY, duration=durations.warmup)
                    result = await closed_loop(
                        operation, concurrency=CONCURRENCY, duration=durations.saturation
                    )
                    if vouchers.exhausted:
                        raise BenchError(f"figures: the {codes:,} codes ran out; seed more")
                    if result.failed:
                        raise BenchError(
                            f"figures: {result.failed} redemptions failed: {result.first_failure}"
                        )
                    rates[configuration].append(result.rate)
        await _switch(admin, triggers, "all")
    finally:
        await admin.close()

    median = {name: statistics.median(values) for name, values in rates.items()}
    figures = [
        Figure(
            f"figures.redeem.{name}",
            median[name],
            "req/s",
            spread=f"rounds {min(rates[name]):.0f} to {max(rates[name]):.0f}",
        )
        for name in CONFIGURATIONS
    ]
    figures += [
        ratio("figures.redeem.all/none", median["all"], median["none"], Target(">=", TARGET_RATIO)),
        ratio("figures.redeem.figures/none", median["figures"], median["none"]),
        ratio("figures.redeem.all/figures", median["all"], median["figures"]),
    ]
    notes = [
        f"figures: the redemption's SQL (bench/checkout_sql.py) through raw asyncpg, {CONCURRENCY} "
        f"tasks, {durations.saturation:g} s at saturation after a {durations.warmup:g} s warm-up, "
        f"{rounds} rounds of none / figures / all (the triggers that keep campaign_figures and "
        "campaign_quarters, on and off on the same database)",
    ]
    return Section(notes, figures)
