"""RELIABILITY K6: a real ``voucherd serve`` whose every PostgreSQL connection goes through the
fault proxy (T4). Redemptions of single-use codes through the checkout API while the line to the
database is slow (2 s), reset, black-holed, cut after a few bytes or throttled; then the line is
clean again.

- During a fault each answer is the normal 201 or a 503 with ``Retry-After``: never a 500, and
  never later than the product's own bound for a request (connect and statement timeouts).
- No partial writes: each code's use counter equals its redemption rows; every 201 is in the
  database once; every 503'd order is either absent or, retried with its order reference, replayed
  rather than applied twice.
- Once the fault is removed the server answers 2xx again within 5 s (RELIABILITY's bound)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.cluster.processes import fresh_postgres_database, processes
from tests.fixtures.faultproxy import NONE, Fault, FaultProxy, running_proxy
from tests.fixtures.processes import VOUCHERD, env_for, free_port, run, wait_for
from voucherd.db.engine import create_database

pytestmark = pytest.mark.crash  # real processes

CONNECT_TIMEOUT = 5.0  # the product's default
STATEMENT_TIMEOUT = 10.0  # set for this server (default 30 s): the black hole's requests end sooner
# The product's bound on a request that meets a silent line: its first wait for a connection or a
# statement gives up after the connect or the statement timeout (plus SQLAlchemy's 2 s to close a
# connection it drops), and the request is answered 503. Doubled for a loaded machine; a hang (no
# timeout, asyncpg's 60 s connect) exceeds it.
FAILURE_BOUND = 2 * (max(CONNECT_TIMEOUT, STATEMENT_TIMEOUT) + 2)
REQUEST_BOUND = 60.0  # the client's hang guard (a request at 2 s latency needs about 16 s)
RECOVERY_BOUND = 5.0  # RELIABILITY K6, as it stands (the bounds above are doubled hang guards)
REQUESTS_PER_FAULT = 8

# Each fault in turn, then removed; RESET_AFTER_COMMIT is a reset timed to follow commits.
RESET_AFTER_COMMIT = Fault("reset_peer", 1)
FAULTS = [
    Fault("latency", 2.0),
    Fault("reset_peer"),
    Fault("black_hole"),
    Fault("limit_data", 200),  # cut mid-conversation
    Fault("bandwidth", 2000),  # 2 KB/s
    RESET_AFTER_COMMIT,
]


@dataclass
class Phase:
    fault: Fault
    statuses: Counter[int] = field(default_factory=Counter)
    slowest: float = 0.0  # seconds, the slowest answer during the fault
    recovery: float = 0.0  # seconds from removing the fault to the first 2xx


@pytest.fixture
def postgres() -> Iterator[str]:
    with fresh_postgres_database("voucherd_faults") as url:
        yield url


async def _redeem(api: httpx.AsyncClient, code: str, order: str) -> tuple[int, float, httpx.Response]:
    started = time.monotonic()
    body = {"code": code, "transaction_amount": 45.99, "order_reference": order}
    response = await api.post("/api/webhook/redemption", json=body)
    return response.status_code, time.monotonic() - started, response


async def _during(api: httpx.AsyncClient, codes: list[str], tag: str) -> list[tuple[str, str, int, float]]:
    answers = await asyncio.gather(*(_redeem(api, code, f"{tag}-{code}") for code in codes))
    results = []
    for code, (status, took, response) in zip(codes, answers, strict=True):
        if status == 503:
            assert response.headers["Retry-After"] == "1", response.text
            assert response.json()["error_code"] == "database_unavailable", response.text
        results.append((code, f"{tag}-{code}", status, took))
    return results


async def _recovered(api: httpx.AsyncClient, code: str) -> float:
    """Seconds until a validation answers 200 again (polled every 50 ms)."""
    started = time.monotonic()
    while True:
        try:
            response = await api.get(f"/api/webhook/validate/{code}", timeout=RECOVERY_BOUND)
            if response.status_code == 200:
                return time.monotonic() - started
            assert response.status_code == 503, response.text
        except httpx.TimeoutException:
            pass
        took = time.monotonic() - started
        assert took < RECOVERY_BOUND, f"no 2xx {took:.1f} s after the fault was removed"
        await asyncio.sleep(0.05)


async def _committed(url: str, orders: list[str]) -> int:
    """How many of ``orders`` have a redemption row, read past the proxy."""
    database = create_database(url, pool=False)
    try:
        async with database.engine.connect() as connection:
            query = text("SELECT count(*) FROM redemptions WHERE order_reference = ANY(:orders)")
            return int((await connection.execute(query, {"orders": orders})).scalar_one())
    finally:
        await database.dispose()


async def _reset_after_commit(
    api: httpx.AsyncClient, proxy: FaultProxy, url: str, codes: list[str]
) -> list[tuple[str, str, int, float]]:
    """Redemptions whose commit reached the database while its acknowledgement is held in the
    proxy (2 s of latency), then every connection reset: the server saw its commit fail."""
    proxy.set(Fault("latency", 2.0))
    during = asyncio.ensure_future(_during(api, codes, "committed"))
    orders = [f"committed-{code}" for code in codes]
    deadline = time.monotonic() + REQUEST_BOUND  # a hang guard
    while not await _committed(url, orders):
        assert not during.done(), "every request was answered before one committed"
        assert time.monotonic() < deadline, "no redemption committed"
        await asyncio.sleep(0.02)
    proxy.set(Fault("reset_peer"))
    return await during


async def _scenario(
    base: str, key: str, proxy: FaultProxy, url: str, codes: list[str]
) -> tuple[list[Phase], Counter[str]]:
    headers = {"X-API-Key": key}
    phases: list[Phase] = []
    outcomes: Counter[str] = Counter()
    unanswered: dict[str, str] = {}  # order reference -> code, answered 503
    batches = [codes[n : n + REQUESTS_PER_FAULT] for n in range(0, len(codes), REQUESTS_PER_FAULT)]
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=REQUEST_BOUND) as api:
        for fault, batch in zip(FAULTS, batches, strict=False):
            phase = Phase(fault)
            if fault is RESET_AFTER_COMMIT:
                answers = await _reset_after_commit(api, proxy, url, batch)
            else:
                proxy.set(fault)
                answers = await _during(api, batch, fault.kind)
            for code, order, status, took in answers:
                assert status in (201, 503), (fault, status)
                phase.statuses[status] += 1
                phase.slowest = max(phase.slowest, took)
                if status == 503:
                    assert took < FAILURE_BOUND, (fault, took)
                    unanswered[order] = code
                outcomes["acknowledged" if status == 201 else "unavailable"] += 1
            proxy.set(NONE)
            phase.recovery = await _recovered(api, codes[-1])
            phases.append(phase)
        # every 503'd order, retried with its reference once the line is clean: one redemption
        for order, code in unanswered.items():
            status, _, response = await _redeem(api, code, order)
            assert status == 201, response.text
            replayed = response.headers.get("Idempotent-Replayed") == "true"
            outcomes["retried, replayed" if replayed else "retried, applied"] += 1
    return phases, outcomes


async def _invariants(url: str, orders: int) -> None:
    database = create_database(url, pool=False)
    try:
        async with database.engine.connect() as connection:
            mismatched = (
                await connection.execute(
                    text(
                        "SELECT v.code, v.redeemed_count, count(r.id) FROM vouchers v"
                        " LEFT JOIN redemptions r ON r.voucher_id = v.id AND r.rolled_back_at IS NULL"
                        " GROUP BY v.id HAVING v.redeemed_count <> count(r.id)"
                    )
                )
            ).all()
            per_order = (
                await connection.execute(
                    text("SELECT order_reference, count(*) FROM redemptions GROUP BY order_reference")
                )
            ).all()
    finally:
        await database.dispose()
    assert mismatched == []
    assert all(count == 1 for _, count in per_order), per_order
    assert len(per_order) == orders


def test_faults_on_the_line_to_postgresql_answer_503_and_leave_no_partial_write(
    postgres: str, tmp_path: Path
) -> None:
    target = make_url(postgres)
    with (
        running_proxy((target.host or "127.0.0.1", target.port or 5432)) as proxy,
        processes(tmp_path) as started,
    ):
        through_proxy = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        env = env_for(
            through_proxy,
            VOUCHERD_EMBEDDED_WORKER="false",
            VOUCHERD_RATE_LIMITS_ENABLED="false",
            VOUCHERD_DATABASE_STATEMENT_TIMEOUT_SECONDS=str(STATEMENT_TIMEOUT),
            VOUCHERD_LOG_LEVEL="WARNING",
        )
        created = run(["clients", "create", "Fault Shop", "--json"], env_for(postgres))
        assert created.returncode == 0, created.stderr
        key = json.loads(created.stdout)["api_key"]
        port = free_port()
        server = started.start("serve", [*VOUCHERD, "serve", "--port", str(port)], env)
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz", server)
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as api:
            campaign = api.post(
                "/api/campaigns",
                json={"name": "Faults", "discount_type": "percentage", "discount_value": 10},
            )
            assert campaign.status_code == 201, campaign.text
            made = api.post(f"/api/campaigns/{campaign.json()['id']}/vouchers", json={"count": 50})
            assert made.status_code == 201, made.text
            listed = api.get(f"/api/campaigns/{campaign.json()['id']}/vouchers", params={"limit": 100})
            codes = [item["code"] for item in listed.json()["data"]]
        assert len(codes) == 50
        phases, outcomes = asyncio.run(_scenario(base, key, proxy, postgres, codes))
        # then nothing is half written, and each order is in the database once
        asyncio.run(_invariants(postgres, outcomes["acknowledged"] + outcomes["unavailable"]))
        # and a redemption whose commit was reset was replayed when retried, not applied again
        assert outcomes["retried, replayed"] >= 1, outcomes
        assert outcomes["retried, replayed"] + outcomes["retried, applied"] == outcomes["unavailable"]
        for phase in phases:
            print(
                f"K6 {phase.fault}: {dict(phase.statuses)}, slowest {phase.slowest:.2f} s, "
                f"recovered in {phase.recovery:.3f} s"
            )
        print(f"K6 {dict(outcomes)}")
    log = (tmp_path / "serve.log").read_text()
    assert "request.failed" not in log, log[-3000:]  # no 500
