"""Validate and redeem throughput behind HAProxy, with one and with two ``voucherd serve``
processes, in the same run: one HAProxy with two frontends, one whose backend is server s1 alone
and one that balances s1 and s2 round robin, driven in turn round by round by the same closed loop
(the balancer's cost is in both). Needs Debian's haproxy (``make setup`` installs it as root)."""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from bench.common import (
    HOST,
    RESULTS,
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
from bench.http_checkout import (
    CONCURRENCY,
    VALIDATE_CODES,
    Durations,
    Vouchers,
    _redeem_call,
    _validate_call,
)
from bench.http_client import http_pool
from bench.load import closed_loop
from voucherd.db import Database

HAPROXY = "/usr/sbin/haproxy"
SETUPS = ("one", "two")


def haproxy_config(ports: dict[str, int], servers: dict[str, int]) -> str:
    """As in docs/operations.md ("Behind a balancer"), with a frontend per setup."""

    def backend(name: str, members: list[str]) -> str:
        lines = [f"backend {name}", "    balance roundrobin", "    option httpchk GET /readyz"]
        lines += [f"    server {m} {HOST}:{servers[m]} check inter 2s" for m in members]
        return "\n".join(lines)

    frontends = "\n\n".join(
        f"frontend {name}\n    bind {HOST}:{port}\n    default_backend {name}" for name, port in ports.items()
    )
    return f"""global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
    retry-on conn-failure

{frontends}

{backend("one", ["s1"])}

{backend("two", ["s1", "s2"])}
"""


def _binary() -> str | None:
    return HAPROXY if Path(HAPROXY).exists() else shutil.which("haproxy")


async def run(database: Database, tenant: Tenant, durations: Durations, redeem_codes: int) -> Section:
    binary = _binary()
    if binary is None:
        return Section(
            notes=[f"balancer: skipped, {HAPROXY} is missing (make setup installs it)"], figures=[]
        )
    progress(f"balancer: {VALIDATE_CODES:,} codes to validate, {redeem_codes:,} to redeem")
    validate_campaign = await create_campaign(database, tenant, "Bench balancer validate")
    await generate_codes(database, tenant, validate_campaign, VALIDATE_CODES)
    redeem_campaign = await create_campaign(database, tenant, "Bench balancer redeem")
    await generate_codes(database, tenant, redeem_campaign, redeem_codes)
    connection = await asyncpg.connect(dsn())
    try:
        query = "SELECT id, code FROM vouchers WHERE campaign_id = $1"
        validate_codes = [row["code"] for row in await connection.fetch(query, validate_campaign)]
        vouchers = Vouchers(
            [(row["id"], row["code"]) for row in await connection.fetch(query, redeem_campaign)]
        )
    finally:
        await connection.close()
    await settle()

    servers = {"s1": free_port(), "s2": free_port()}
    fronts = {setup: free_port() for setup in SETUPS}
    RESULTS.mkdir(exist_ok=True)
    config = RESULTS / "haproxy.cfg"
    config.write_text(haproxy_config(fronts, servers))
    # Each call is bound per setup; the minimal app is not part of this benchmark.
    calls = {
        setup: [
            _validate_call(tenant, validate_codes, port, port).voucherd,
            _redeem_call(tenant, redeem_campaign, vouchers, port, port).voucherd,
        ]
        for setup, port in fronts.items()
    }
    rates: dict[tuple[str, str], list[float]] = {}
    failed = 0
    failures: list[str] = []
    progress("balancer: starting two voucherd serve processes and haproxy")
    serve = [voucherd_command("serve", "--host", HOST, "--port", str(port)) for port in servers.values()]
    async with (
        running_server("voucherd-s1", serve[0], voucherd_env(), servers["s1"]),
        running_server("voucherd-s2", serve[1], voucherd_env(), servers["s2"]),
        running_server("haproxy", [binary, "-db", "-f", str(config)], voucherd_env(), fronts["two"]),
    ):
        for round_ in range(1, durations.rounds + 1):
            progress(f"balancer: round {round_} of {durations.rounds}")
            for index, call in enumerate(("validate", "redeem")):
                for setup in SETUPS:
                    operation = calls[setup][index]
                    async with http_pool(HOST, fronts[setup], CONCURRENCY) as pool:
                        await closed_loop(operation(pool), concurrency=CONCURRENCY, duration=durations.warmup)
                        result = await closed_loop(
                            operation(pool), concurrency=CONCURRENCY, duration=durations.saturation
                        )
                    failed += result.failed
                    if result.first_failure:
                        failures.append(
                            f"balancer: {call} {setup} round {round_}: {result.failed} failed, "
                            f"first: {result.first_failure}"
                        )
                    rates.setdefault((call, setup), []).append(result.rate)

    def median(name: str, values: list[float], unit: str, target: Target | None = None) -> Figure:
        spread = f"rounds {min(values):.4g} to {max(values):.4g}" if len(values) > 1 else ""
        return Figure(name, statistics.median(values), unit, target, spread)

    figures = []
    for call in ("validate", "redeem"):
        one, two = rates[(call, "one")], rates[(call, "two")]
        prefix = f"balancer.{call}_{CONCURRENCY}c"
        figures += [
            median(f"{prefix}.one_server", one, "req/s"),
            median(f"{prefix}.two_servers", two, "req/s"),
            median(f"{prefix}.two/one", [b / a for a, b in zip(one, two, strict=True)], "ratio"),
        ]
    figures.append(Figure("balancer.failed", failed, "requests", Target("=", 0)))
    notes = [
        f"balancer: HAProxy ({binary}) round robin in front of one voucherd serve (backend s1) or two "
        f"(s1, s2), each a single process (no --workers), {CONCURRENCY} closed-loop clients through "
        "the balancer, the setups alternating within each round; on this machine the servers, HAProxy, "
        "PostgreSQL and the load generator share the same cores",
    ]
    if vouchers.exhausted:
        notes.append(
            f"balancer: all {redeem_codes:,} redeem codes were used; the last closed loop ended early"
        )
    return Section(notes=notes, figures=figures)
