"""The checkout over HTTP: ``GET /api/webhook/validate/{code}`` and ``POST /api/webhook/redemption``.

For each call: latency percentiles of ``voucherd serve`` at a fixed offered load (open loop), and
its throughput at saturation next to the same SQL behind a minimal endpoint
(:mod:`bench.minimal_app`) and through raw asyncpg without HTTP (:mod:`bench.checkout_sql`)."""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import asyncpg  # type: ignore[import-untyped]
import orjson

from bench import checkout_sql
from bench.common import (
    HOST,
    BenchError,
    Figure,
    Section,
    Target,
    Tenant,
    create_campaign,
    dsn,
    free_port,
    generate_codes,
    percentile,
    progress,
    running_server,
    settle,
    voucherd_command,
    voucherd_env,
)
from bench.http_client import HttpPool, Reply, get, http_pool, post_json
from bench.load import Exhausted, LoadResult, Operation, closed_loop, open_loop
from bench.minimal_app import MinimalConfig
from voucherd.config import get_settings
from voucherd.db import Database

OFFERED_RATE = 500.0  # requests/s in the open loop: one every 2 ms
CONCURRENCY = 64  # clients in the closed loop
VALIDATE_CODES = 10_000
TRANSACTION_AMOUNT = 45.99  # sent as a JSON number, as integrations do
AMOUNT_MINOR = 4599


@dataclass(frozen=True)
class Durations:
    """Seconds of each run; every measured run follows a warm-up run of the same kind."""

    warmup: float
    open_loop: float
    saturation: float
    # Each contender runs once per round, the rounds one after another: a shared machine's speed
    # drifts by tens of percent within minutes, so each ratio compares runs minutes apart at
    # most, and the report gives the median round with the range.
    rounds: int = 1


@dataclass(frozen=True)
class Call:
    """One checkout call as each contender makes it, and the targets voucherd should meet."""

    name: str
    p95_target_ms: float
    minimal_ratio_target: float
    voucherd: Callable[[HttpPool], Operation]
    minimal: Callable[[HttpPool], Operation]
    raw: Callable[[asyncpg.Pool], Operation]
    # What ``minimal`` is in the report: the minimal app, or another voucherd endpoint to compare with.
    baseline: str = "minimal"


class Vouchers:
    """Unused single-use vouchers, each handed out once."""

    def __init__(self, vouchers: list[tuple[uuid.UUID, str]]) -> None:
        self._vouchers = iter(vouchers)
        self.exhausted = False

    def take(self) -> tuple[uuid.UUID, str]:
        try:
            return next(self._vouchers)
        except StopIteration:
            self.exhausted = True
            raise Exhausted from None


def _check(reply: Reply, expected: int) -> str | None:
    if reply.status == expected:
        return None
    return f"HTTP {reply.status}: {reply.body[:300].decode(errors='replace')}"


def _validate_call(tenant: Tenant, codes: list[str], voucherd_port: int, minimal_port: int) -> Call:
    def over_http(port: int, prefix: str) -> Callable[[HttpPool], Operation]:
        host, headers = f"{HOST}:{port}", {"X-API-Key": tenant.api_key}
        requests = itertools.cycle([get(host, prefix + code, headers) for code in codes])

        def bind(pool: HttpPool) -> Operation:
            async def operation() -> str | None:
                return _check(await pool.send(next(requests)), 200)

            return operation

        return bind

    cycle = itertools.cycle(codes)

    def raw(pool: asyncpg.Pool) -> Operation:
        async def operation() -> str | None:
            async with pool.acquire() as connection:
                row = await checkout_sql.validate(connection, tenant.principal.client_id, next(cycle))
            return None if row is not None else "voucher not found"

        return operation

    return Call(
        name="validate",
        p95_target_ms=5.0,
        minimal_ratio_target=0.7,
        voucherd=over_http(voucherd_port, "/api/webhook/validate/"),
        minimal=over_http(minimal_port, "/validate/"),
        raw=raw,
    )


def _redeem_call(
    tenant: Tenant, campaign_id: uuid.UUID, vouchers: Vouchers, voucherd_port: int, minimal_port: int
) -> Call:
    headers = {"X-API-Key": tenant.api_key}
    references = (f"bench-order-{number}" for number in itertools.count())

    def voucherd(pool: HttpPool) -> Operation:
        host = f"{HOST}:{voucherd_port}"

        async def operation() -> str | None:
            _, code = vouchers.take()
            body = orjson.dumps(
                {"code": code, "transaction_amount": TRANSACTION_AMOUNT, "order_reference": next(references)}
            )
            return _check(await pool.send(post_json(host, "/api/webhook/redemption", body, headers)), 201)

        return operation

    def minimal(pool: HttpPool) -> Operation:
        host = f"{HOST}:{minimal_port}"

        async def operation() -> str | None:
            voucher_id, code = vouchers.take()
            body = orjson.dumps(
                {
                    "voucher_id": str(voucher_id),
                    "code": code,
                    "transaction_amount": TRANSACTION_AMOUNT,
                    "order_reference": next(references),
                }
            )
            return _check(await pool.send(post_json(host, "/redeem", body, headers)), 201)

        return operation

    return Call(
        name="redeem",
        p95_target_ms=10.0,
        minimal_ratio_target=0.5,
        voucherd=voucherd,
        minimal=minimal,
        raw=raw_redeem(tenant, campaign_id, vouchers, references),
    )


def raw_redeem(
    tenant: Tenant, campaign_id: uuid.UUID, vouchers: Vouchers, references: Iterator[str]
) -> Callable[[asyncpg.Pool], Operation]:
    """The redemption's SQL through raw asyncpg, on unused single-use codes."""

    def raw(pool: asyncpg.Pool) -> Operation:
        async def operation() -> str | None:
            voucher_id, code = vouchers.take()
            redemption = checkout_sql.Redemption(
                client_id=tenant.principal.client_id,
                campaign_id=campaign_id,
                voucher_id=voucher_id,
                code=code,
                order_reference=next(references),
                currency=tenant.principal.currency,
                amount_minor=AMOUNT_MINOR,
                uses_per_voucher=1,
            )
            try:
                async with pool.acquire() as connection:
                    redeemed = await checkout_sql.redeem(connection, redemption)
            except asyncpg.PostgresError as error:
                return f"{type(error).__name__}: {error}"
            return None if redeemed else "voucher used up"

        return operation

    return raw


async def measure(
    call: Call, voucherd_port: int, minimal_port: int, pool_size: tuple[int, int], durations: Durations
) -> Section:
    runs: list[tuple[str, LoadResult]] = []

    def record(label: str, result: LoadResult) -> LoadResult:
        if not result.succeeded:
            raise BenchError(f"{call.name} {label}: every request failed, first: {result.first_failure}")
        runs.append((label, result))
        return result

    async def offer(label: str, operation: Operation) -> list[float]:
        await open_loop(operation, rate=OFFERED_RATE, duration=durations.warmup)
        result = record(label, await open_loop(operation, rate=OFFERED_RATE, duration=durations.open_loop))
        return [seconds * 1000 for seconds in result.latencies]

    async def saturate(label: str, operation: Operation) -> float:
        record(
            f"{label} warm-up",
            await closed_loop(operation, concurrency=CONCURRENCY, duration=durations.warmup),
        )
        return record(
            label, await closed_loop(operation, concurrency=CONCURRENCY, duration=durations.saturation)
        ).rate

    latency: dict[str, list[list[float]]] = {"voucherd": [], "raw": []}
    rate: dict[str, list[float]] = {"voucherd": [], "minimal": [], "raw": []}
    # A fresh HTTP pool per run: uvicorn closes keep-alive connections left idle for 5 s.
    async with asyncpg.create_pool(dsn(), min_size=pool_size[0], max_size=pool_size[1]) as pg:
        for round_ in range(1, durations.rounds + 1):
            progress(f"{call.name}: round {round_} of {durations.rounds}")
            # The same SQL at the same offered load without HTTP is the floor the machine sets (a
            # redemption waits for its commit to reach the disk).
            async with http_pool(HOST, voucherd_port, CONCURRENCY) as ours:
                latency["voucherd"].append(await offer(f"voucherd open loop {round_}", call.voucherd(ours)))
            latency["raw"].append(await offer(f"raw asyncpg open loop {round_}", call.raw(pg)))
            async with http_pool(HOST, voucherd_port, CONCURRENCY) as ours:
                rate["voucherd"].append(await saturate(f"voucherd saturation {round_}", call.voucherd(ours)))
            async with http_pool(HOST, minimal_port, CONCURRENCY) as minimal:
                rate["minimal"].append(await saturate(f"minimal saturation {round_}", call.minimal(minimal)))
            rate["raw"].append(await saturate(f"raw asyncpg saturation {round_}", call.raw(pg)))

    prefix = f"{call.name}.latency_{OFFERED_RATE:g}rps"
    throughput = f"{call.name}.throughput_{CONCURRENCY}c"

    def median_round(label: str, values: list[float], unit: str, target: Target | None = None) -> Figure:
        spread = f"rounds {min(values):.4g} to {max(values):.4g}" if len(values) > 1 else ""
        return Figure(label, statistics.median(values), unit, target, spread)

    def percentiles(name: str, rounds: list[list[float]], target: float | None = None) -> list[Figure]:
        return [
            median_round(
                f"{name}.p{int(q * 100)}",
                [percentile(values, q) for values in rounds],
                "ms",
                Target("<", target) if target is not None and q == 0.95 else None,
            )
            for q in (0.50, 0.95, 0.99)
        ]

    pairs = zip(rate["voucherd"], rate["minimal"], rate["raw"], strict=True)
    ratios = [(ours / minimal, ours / raw) for ours, minimal, raw in pairs]
    figures = [
        *percentiles(prefix, latency["voucherd"], call.p95_target_ms),
        *percentiles(f"{prefix}.raw_asyncpg", latency["raw"]),
        median_round(f"{throughput}.voucherd", rate["voucherd"], "req/s"),
        median_round(f"{throughput}.{call.baseline}", rate["minimal"], "req/s"),
        median_round(f"{throughput}.raw_asyncpg", rate["raw"], "req/s"),
        median_round(
            f"{throughput}.voucherd/{call.baseline}",
            [r[0] for r in ratios],
            "ratio",
            Target(">=", call.minimal_ratio_target),
        ),
        median_round(f"{throughput}.voucherd/raw_asyncpg", [r[1] for r in ratios], "ratio"),
        Figure(f"{call.name}.failed", sum(result.failed for _, result in runs), "requests", Target("=", 0)),
    ]
    notes = [
        f"{call.name} {label}: {result.failed} failed, first: {result.first_failure}"
        for label, result in runs
        if result.failed
    ]
    return Section(notes=notes, figures=figures)


def minimal_app_command(port: int) -> list[str]:
    """The minimal app on the server stack of ``voucherd serve``."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.minimal_app:create_app",
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
    ]


async def run(database: Database, tenant: Tenant, durations: Durations, redeem_codes: int) -> Section:
    settings = get_settings()
    pool_size = (settings.pool_size, settings.pool_size + settings.pool_max_overflow)

    progress(f"checkout: {VALIDATE_CODES:,} codes to validate, {redeem_codes:,} to redeem")
    validate_campaign = await create_campaign(database, tenant, "Bench validate")
    await generate_codes(database, tenant, validate_campaign, VALIDATE_CODES)
    redeem_campaign = await create_campaign(database, tenant, "Bench redeem")
    await generate_codes(database, tenant, redeem_campaign, redeem_codes)
    connection = await asyncpg.connect(dsn())
    try:
        query = "SELECT id, code FROM vouchers WHERE campaign_id = $1"
        validate_codes = [row["code"] for row in await connection.fetch(query, validate_campaign)]
        redeem_vouchers = [(row["id"], row["code"]) for row in await connection.fetch(query, redeem_campaign)]
    finally:
        await connection.close()
    await settle()

    voucherd_port, minimal_port = free_port(), free_port()
    minimal_config = MinimalConfig(
        dsn=dsn(),
        client_id=tenant.principal.client_id,
        campaign_id=redeem_campaign,
        currency=tenant.principal.currency,
        uses_per_voucher=1,
        pool_min=pool_size[0],
        pool_max=pool_size[1],
    )
    minimal_command = minimal_app_command(minimal_port)
    vouchers = Vouchers(redeem_vouchers)
    calls = [
        _validate_call(tenant, validate_codes, voucherd_port, minimal_port),
        _redeem_call(tenant, redeem_campaign, vouchers, voucherd_port, minimal_port),
    ]
    sections = []
    progress("checkout: starting voucherd serve and the minimal app")
    voucherd_serve = voucherd_command("serve", "--host", HOST, "--port", str(voucherd_port))
    minimal_env = {**os.environ, **minimal_config.to_env()}
    async with (
        running_server("voucherd", voucherd_serve, voucherd_env(), voucherd_port),
        running_server("minimal-app", minimal_command, minimal_env, minimal_port),
    ):
        for call in calls:
            sections.append(await measure(call, voucherd_port, minimal_port, pool_size, durations))

    notes = [
        f"checkout: voucherd serve (1 worker, SQLAlchemy pool {pool_size[0]}+{pool_size[1] - pool_size[0]}) "
        f"vs minimal app (bench/minimal_app.py: FastAPI on uvicorn, uvloop, httptools, no access log; "
        f"asyncpg pool max {pool_size[1]}, no SQLAlchemy) vs raw asyncpg (pool max {pool_size[1]}, "
        f"{CONCURRENCY} tasks, no HTTP); minimal and raw run the same SQL (bench/checkout_sql.py)",
        f"checkout: latency = open loop at {OFFERED_RATE:g} req/s for {durations.open_loop:g} s, timed "
        f"from each scheduled start; throughput = {CONCURRENCY} closed-loop clients for "
        f"{durations.saturation:g} s; each after a {durations.warmup:g} s warm-up; keep-alive HTTP/1.1 "
        f"client (bench/http_client.py); {durations.rounds} round(s) of every contender one after "
        "another, each figure the median round (ratios within a round), with the range",
        f"checkout: validate cycles {VALIDATE_CODES:,} live codes; every redemption uses an unused "
        "single-use code and a new order_reference",
    ]
    if vouchers.exhausted:
        notes.append(f"redeem: all {redeem_codes:,} codes were used; the last closed loop ended early")
    for section in sections:
        notes += section.notes
    return Section(notes=notes, figures=[figure for section in sections for figure in section.figures])
