"""What the request metrics cost the checkout: validate throughput of ``voucherd serve`` with
``/metrics`` collecting (the default) beside the same server with ``VOUCHERD_METRICS=off`` (no
request metrics collected), in the same run, alternating round by round (issue 15: under 5%)."""

from __future__ import annotations

import statistics

import asyncpg  # type: ignore[import-untyped]

from bench.common import (
    HOST,
    Figure,
    Section,
    Target,
    Tenant,
    create_campaign,
    dsn,
    free_port,
    generate_codes,
    progress,
    running_server,
    settle,
    voucherd_command,
    voucherd_env,
)
from bench.http_checkout import CONCURRENCY, VALIDATE_CODES, Durations, _validate_call
from bench.http_client import http_pool
from bench.load import closed_loop
from voucherd.db import Database


async def run(database: Database, tenant: Tenant, durations: Durations) -> Section:
    campaign = await create_campaign(database, tenant, "Bench metrics")
    await generate_codes(database, tenant, campaign, VALIDATE_CODES)
    connection = await asyncpg.connect(dsn())
    try:
        rows = await connection.fetch("SELECT code FROM vouchers WHERE campaign_id = $1", campaign)
    finally:
        await connection.close()
    codes = [row["code"] for row in rows]
    await settle()
    on_port, off_port = free_port(), free_port()
    on = _validate_call(tenant, codes, on_port, on_port).voucherd
    off = _validate_call(tenant, codes, off_port, off_port).voucherd
    rates: dict[str, list[float]] = {"on": [], "off": []}
    progress("metrics: starting voucherd serve with and without request metrics")
    async with (
        running_server(
            "voucherd",
            voucherd_command("serve", "--host", HOST, "--port", str(on_port)),
            voucherd_env(),
            on_port,
        ),
        running_server(
            "voucherd-no-metrics",
            voucherd_command("serve", "--host", HOST, "--port", str(off_port)),
            {**voucherd_env(), "VOUCHERD_METRICS": "off"},
            off_port,
        ),
    ):
        for round_ in range(1, durations.rounds + 1):
            progress(f"metrics: round {round_} of {durations.rounds}")
            for label, port, operation in (("on", on_port, on), ("off", off_port, off)):
                async with http_pool(HOST, port, CONCURRENCY) as pool:
                    await closed_loop(operation(pool), concurrency=CONCURRENCY, duration=durations.warmup)
                    result = await closed_loop(
                        operation(pool), concurrency=CONCURRENCY, duration=durations.saturation
                    )
                rates[label].append(result.rate)
    ratios = [with_ / without for with_, without in zip(rates["on"], rates["off"], strict=True)]

    def median(name: str, values: list[float], unit: str, target: Target | None = None) -> Figure:
        spread = f"rounds {min(values):.4g} to {max(values):.4g}" if len(values) > 1 else ""
        return Figure(name, statistics.median(values), unit, target, spread)

    throughput = f"metrics.validate_{CONCURRENCY}c"
    return Section(
        notes=[
            "metrics: validate throughput with request metrics collected (the default) and with "
            "VOUCHERD_METRICS=off, the same codes and clients, alternating each round"
        ],
        figures=[
            median(f"{throughput}.with_metrics", rates["on"], "req/s"),
            median(f"{throughput}.without", rates["off"], "req/s"),
            median(f"{throughput}.with/without", ratios, "ratio", Target(">=", 0.95)),
        ],
    )
