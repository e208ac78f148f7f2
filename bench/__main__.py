"""``python -m bench [--quick]``: set up the bench database, run every benchmark, print the report
and save it to ``bench/results/latest.txt``."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import uvloop

from bench import (
    balancer,
    bigclient,
    codegen,
    copy_install,
    distribution,
    figures,
    http_checkout,
    http_giftcards,
    http_metrics,
    http_voucherify,
    webhooks,
)
from bench.common import (
    BENCH_DATABASE,
    RESULTS,
    BenchError,
    create_bench_database,
    create_tenant,
    database_url,
    drop_bench_database,
    format_report,
    progress,
    run_command,
    server_version,
    voucherd_command,
    voucherd_env,
)
from bench.http_checkout import Durations
from voucherd import __version__
from voucherd.db.engine import create_database


@dataclass(frozen=True)
class Mode:
    name: str
    durations: Durations
    codegen_counts: tuple[int, ...]
    # Unused single-use codes for every redemption of the run, warm-ups included; the fastest
    # contender (raw asyncpg) uses the most. A closed loop that runs out ends early.
    redeem_codes: int
    export_recipients: int
    webhook_events: int = 5000
    webhook_redemptions: int = 200
    # Stored-value cards for voucherd's redemptions, and as many again for the baselines'.
    giftcards: int = 5000
    # The big client's codes (the small one has a tenth).
    bigclient_codes: int = 1_000_000
    # The codes of the SQLite install that ``voucherd copy`` moves to PostgreSQL.
    copy_codes: int = 1_000_000
    # Unused codes for the figures' cost: three configurations a round, at raw asyncpg's rate.
    figures_codes: int = 200_000


FULL = Mode(
    "full",
    Durations(warmup=1.0, open_loop=6.0, saturation=4.0, rounds=3),
    (100_000, 1_000_000),
    250_000,
    1_000_000,
)
QUICK = Mode(
    "quick",
    Durations(warmup=0.5, open_loop=2.0, saturation=2.0),
    (100_000,),
    40_000,
    100_000,
    1000,
    50,
    500,
    100_000,
    copy_codes=100_000,
    figures_codes=60_000,
)


async def _commit() -> str:
    try:
        return (await run_command(["git", "describe", "--always", "--dirty"], dict(os.environ))).strip()
    except (BenchError, OSError):
        return "unknown"


SECTIONS = (
    "codegen",
    "checkout",
    "figures",
    "metrics",
    "voucherify",
    "giftcards",
    "distribution",
    "webhooks",
    "bigclient",
    "balancer",
    "copy",
)


async def _bench(mode: Mode, only: Sequence[str] = SECTIONS) -> str:
    started = datetime.now(UTC)
    load = os.getloadavg()[0]  # other work on the machine makes every figure worse
    progress(f"creating {BENCH_DATABASE} and migrating it")
    await create_bench_database()
    try:
        await run_command(voucherd_command("migrate"), voucherd_env())
        tenant = await create_tenant()
        postgres = await server_version()
        database = create_database(database_url())
        try:
            sections = []
            if "codegen" in only:
                sections.append(await codegen.run(database, tenant, mode.codegen_counts))
            if "checkout" in only:
                sections.append(await http_checkout.run(database, tenant, mode.durations, mode.redeem_codes))
            if "figures" in only:
                sections.append(await figures.run(database, tenant, mode.durations, mode.figures_codes))
            if "metrics" in only:
                sections.append(await http_metrics.run(database, tenant, mode.durations))
            if "voucherify" in only:
                sections.append(
                    await http_voucherify.run(database, tenant, mode.durations, mode.redeem_codes)
                )
            if "giftcards" in only:
                sections.append(await http_giftcards.run(database, tenant, mode.durations, mode.giftcards))
            if "distribution" in only:
                sections.append(await distribution.run(database, tenant, mode.export_recipients))
            if "webhooks" in only:
                sections.append(
                    await webhooks.run(database, tenant, mode.webhook_events, mode.webhook_redemptions)
                )
            if "balancer" in only:
                sections.append(await balancer.run(database, tenant, mode.durations, mode.redeem_codes // 4))
            if "bigclient" in only:
                sections.append(await bigclient.run(database, mode.bigclient_codes))
            if "copy" in only:
                sections.append(await copy_install.run(mode.copy_codes))
        finally:
            await database.dispose()
    finally:
        progress(f"dropping {BENCH_DATABASE}")
        await drop_bench_database()
    header = [
        f"voucherd bench, {mode.name} run of {started:%Y-%m-%dT%H:%M:%SZ}, commit {await _commit()}",
        f"machine: {os.cpu_count()} CPUs, load average {load:.2f} at start, Python "
        f"{platform.python_version()}, PostgreSQL {postgres}, voucherd {__version__}",
    ]
    for section in sections:
        header += section.notes
    return format_report(header, [figure for section in sections for figure in section.figures])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="shorter runs and 100,000 codes only: a smoke check"
    )
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only this benchmark (repeatable)"
    )
    arguments = parser.parse_args(argv)
    try:
        report = uvloop.run(_bench(QUICK if arguments.quick else FULL, arguments.only or SECTIONS))
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    print(report, end="")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.txt").write_text(report)
    progress(f"report written to {RESULTS / 'latest.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
