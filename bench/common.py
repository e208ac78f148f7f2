"""What every benchmark shares: figures and the report, the bench database, voucherd's CLI and
server processes, and the client, campaigns and codes the benchmarks run on."""

from __future__ import annotations

import asyncio
import math
import operator
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import asyncpg  # type: ignore[import-untyped]
import orjson

import voucherd.worker  # noqa: F401 - registers the job handlers
from bench.checkout_sql import DISCOUNT_PERCENT
from voucherd.accounts.service import Principal, api_key_principal
from voucherd.campaigns import service as campaigns
from voucherd.campaigns.rules import DiscountType
from voucherd.campaigns.schemas import CampaignInput, CodeSettings
from voucherd.core.money import Amount
from voucherd.db import Database, unit_of_work
from voucherd.jobs import runner
from voucherd.models import Job
from voucherd.vouchers import service as vouchers

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"

HOST = "127.0.0.1"
POSTGRES = f"postgresql://postgres@{HOST}:5432"
ADMIN_DATABASE = "postgres"
# Overridable so that two checkouts on one machine do not bench into the same database.
BENCH_DATABASE = os.environ.get("VOUCHERD_BENCH_DATABASE", "bench_voucherd")

# A code pattern of 10 symbols from the default charset holds ~7.6e8 codes with voucherd's safety
# margin, enough for the million-code run; 8 would hold only ~8e5.
CODE_LENGTH = 10

_started = time.monotonic()


class BenchError(Exception):
    """The bench cannot go on (a failed setup step, a server that does not start)."""


def progress(message: str) -> None:
    """A progress line on stderr; stdout carries only the report."""
    print(f"[{time.monotonic() - _started:6.1f}s] {message}", file=sys.stderr, flush=True)


# --- Figures and the report --------------------------------------------------------------------


Comparison = Literal["<", "<=", ">=", "="]
_COMPARE: dict[Comparison, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">=": operator.ge,
    "=": operator.eq,
}


@dataclass(frozen=True)
class Target:
    """A bound a figure should keep: ``< 5`` or ``>= 0.7``."""

    operator: Comparison
    bound: float

    def met(self, value: float) -> bool:
        return _COMPARE[self.operator](value, self.bound)

    def __str__(self) -> str:
        return f"{self.operator} {self.bound:g}"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: Target | None = None
    spread: str = ""  # e.g. the range over rounds, printed after the verdict


@dataclass(frozen=True)
class Section:
    """What one benchmark reports: how it measured (printed as ``#`` lines) and its figures."""

    notes: list[str]
    figures: list[Figure]


_DECIMALS = {"ms": 2, "s": 2, "ratio": 2, "req/s": 0, "requests": 0}


def ratio(name: str, numerator: float, denominator: float, target: Target | None = None) -> Figure:
    return Figure(name, numerator / denominator if denominator else float("nan"), "ratio", target)


def format_report(header: Sequence[str], figures: Sequence[Figure]) -> str:
    """``#`` lines, then one fixed-width line per figure: name, value, unit, target, result."""
    width = max(len("name"), *(len(figure.name) for figure in figures))
    lines = [f"# {line}" for line in header]
    lines.append(f"{'name':<{width}}  {'value':>10}  {'unit':<8}  {'target':<8}  result  spread")
    for figure in figures:
        value = f"{figure.value:.{_DECIMALS.get(figure.unit, 2)}f}"
        target = str(figure.target) if figure.target else "-"
        verdict = "-"
        if figure.target:
            verdict = "ok" if figure.target.met(figure.value) else "MISS"
        line = f"{figure.name:<{width}}  {value:>10}  {figure.unit:<8}  {target:<8}  {verdict:<6}"
        lines.append(f"{line}  {figure.spread}".rstrip())
    return "\n".join(lines) + "\n"


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of unsorted ``values`` (``fraction`` 0.95 for p95)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(max(math.ceil(fraction * len(ordered)), 1), len(ordered))
    return ordered[rank - 1]


# --- The bench database ------------------------------------------------------------------------


def dsn(database: str = BENCH_DATABASE) -> str:
    """For asyncpg."""
    return f"{POSTGRES}/{database}"


def database_url() -> str:
    """For voucherd (SQLAlchemy)."""
    return dsn().replace("postgresql://", "postgresql+asyncpg://", 1)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(dsn(ADMIN_DATABASE))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def drop_bench_database() -> None:
    # FORCE ends sessions a crashed earlier run may have left behind.
    await _admin(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


async def create_bench_database() -> None:
    await drop_bench_database()
    await _admin(f"CREATE DATABASE {BENCH_DATABASE}")


async def _execute(*statements: str) -> None:
    connection = await asyncpg.connect(dsn())
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def checkpoint() -> None:
    """Flush earlier writes, so that no checkpoint they caused runs during a measurement."""
    await _execute("CHECKPOINT")


async def settle() -> None:
    """Before reading benchmarks: tables vacuumed (hint bits and visibility map set, statistics
    fresh) and earlier writes flushed."""
    await _execute("VACUUM (ANALYZE)", "CHECKPOINT")


async def server_version() -> str:
    connection = await asyncpg.connect(dsn())
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


# --- voucherd's command line and server --------------------------------------------------------


def voucherd_env() -> dict[str, str]:
    # Rate limits off: the benchmarks drive one key from one address far beyond any limit.
    return {**os.environ, "VOUCHERD_DATABASE_URL": database_url(), "VOUCHERD_RATE_LIMITS_ENABLED": "false"}


def voucherd_command(*arguments: str) -> list[str]:
    """The installed ``voucherd`` script beside this interpreter (the virtualenv's)."""
    return [str(Path(sys.executable).parent / "voucherd"), *arguments]


async def run_command(command: Sequence[str], env: dict[str, str]) -> str:
    """Run to completion; its stdout, or :class:`BenchError` with its stderr."""
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            env=env,
            cwd=REPOSITORY,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError as error:
        raise BenchError(f"cannot run {command[0]}: {error}") from None
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        raise BenchError(f"{' '.join(command)} exited {process.returncode}:\n{stderr.decode()}")
    return stdout.decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


async def _healthy(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        return False
    try:
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode())
        status_line = await reader.readline()
        return status_line.startswith(b"HTTP/1.1 200")
    except OSError:
        return False
    finally:
        writer.close()


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@asynccontextmanager
async def running_server(
    name: str, command: Sequence[str], env: dict[str, str], port: int, *, startup_timeout: float = 30.0
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start a server process, wait until ``/healthz`` answers 200, and stop it on exit (SIGTERM,
    then SIGKILL after 10 s). Its output goes to ``bench/results/<name>.log``."""
    RESULTS.mkdir(exist_ok=True)
    log_path = RESULTS / f"{name}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=REPOSITORY, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + startup_timeout
        while not await _healthy(port):
            if process.returncode is not None:
                raise BenchError(f"{name} exited {process.returncode} at startup:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{name} did not answer /healthz within {startup_timeout:g} s:\n{_tail(log_path)}"
                )
            await asyncio.sleep(0.1)
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- The client, its campaigns and codes -------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    """The client the benchmarks run as: its API key and the principal services take."""

    api_key: str
    principal: Principal


async def create_tenant(env: dict[str, str] | None = None) -> Tenant:
    """Through the CLI, as an operator would: ``voucherd clients create Bench --json`` (into the
    bench database, or the one ``env`` names)."""
    command = voucherd_command("clients", "create", "Bench", "--json")
    created = orjson.loads(await run_command(command, env or voucherd_env()))
    return Tenant(
        api_key=created["api_key"],
        principal=api_key_principal(
            client_id=uuid.UUID(created["client_id"]),
            client_name=created["name"],
            currency=created["currency"],
            timezone=created["timezone"],
            api_key_id=uuid.UUID(created["api_key_id"]),
        ),
    )


async def create_campaign(database: Database, tenant: Tenant, name: str) -> uuid.UUID:
    """A campaign of single-use codes, 10% off, with no expiry and no minimum spend."""
    async with unit_of_work(database) as session:
        campaign = await campaigns.create_campaign(
            session,
            tenant.principal,
            CampaignInput(
                name=name,
                discount_type=DiscountType.PERCENTAGE,
                discount_value=Amount.major(DISCOUNT_PERCENT),
                codes=CodeSettings(length=CODE_LENGTH),
            ),
        )
        return campaign.id


async def generate_codes(database: Database, tenant: Tenant, campaign_id: uuid.UUID, count: int) -> None:
    """What ``POST /api/campaigns/{id}/vouchers`` and ``voucherd worker`` do: enqueue the job
    (or, up to the sync limit, make the codes at once), then run jobs until none is left."""
    async with unit_of_work(database) as session:
        generation = await vouchers.generate_vouchers(session, tenant.principal, campaign_id, count=count)
    if generation.job is None:
        return
    await runner.run_until_idle(database)
    async with unit_of_work(database, write=False) as session:
        job = await session.get(Job, generation.job.id)
    if job is None or job.status != "succeeded":
        status = job.status if job else "missing"
        raise BenchError(f"code generation job {generation.job.id} is {status}: {job and job.last_error}")
