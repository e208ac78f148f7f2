"""PostgreSQL through a real PgBouncer in transaction mode (``VOUCHERD_DATABASE_PGBOUNCER=1``):
migrations, validations, redemptions, a bulk job and webhook deliveries, with more clients than
server connections, and the failure that the setting prevents."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL, _admin
from tests.fixtures.pgbouncer import running_pgbouncer
from tests.fixtures.processes import VOUCHERD, env_for, free_port, run, wait_for
from tests.fixtures.receiver import running_receiver
from voucherd.config import Settings
from voucherd.db.engine import create_database

pytestmark = pytest.mark.crash  # real processes


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """An empty PostgreSQL database of this test's own (a migration through PgBouncer needs one)."""
    if not POSTGRES_URL:
        pytest.skip("PgBouncer tests need PostgreSQL: set VOUCHERD_TEST_POSTGRES_URL (CI sets it)")
    name = f"voucherd_pgbouncer_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _a_statement_meets_another_server(url: str, *, pgbouncer: bool) -> Counter[str]:
    """Client A runs one statement in three transactions. Between the first and the second, client
    B opens a transaction and PgBouncer hands it the server connection released last (LIFO, its
    default): A's. A's second transaction, started while B holds it, gets the other one. The
    outcome of each of A's transactions by error class (``ok`` when it worked).

    asyncpg names statements from one counter per process, so clients of one process never clash
    on a name; what breaks is a statement prepared on one server connection and used on another,
    and this order makes that happen every time rather than by chance."""
    database = create_database(url, Settings(database_pgbouncer=pgbouncer, pool_size=2))
    outcomes: Counter[str] = Counter()
    try:
        async with database.engine.connect() as a, database.engine.connect() as b:

            async def transaction_of_a(n: int) -> None:
                try:
                    async with a.begin():
                        await a.execute(text("SELECT count(*) + :n FROM clients"), {"n": n})
                    outcomes["ok"] += 1
                except Exception as error:  # the test counts what breaks
                    outcomes[type(error.__cause__ or error).__name__ + ": " + str(error)[:120]] += 1

            await transaction_of_a(1)
            async with b.begin():
                await b.execute(text("SELECT 1"))
                await transaction_of_a(2)
            await transaction_of_a(3)
    finally:
        await database.dispose()
    return outcomes


def test_without_the_setting_prepared_statements_break_behind_pgbouncer(fresh_postgres: str) -> None:
    with running_pgbouncer(fresh_postgres, pool_size=2) as bouncer:
        assert run(["migrate"], env_for(bouncer, VOUCHERD_DATABASE_PGBOUNCER="1")).returncode == 0
        broken = asyncio.run(_a_statement_meets_another_server(bouncer, pgbouncer=False))
        working = asyncio.run(_a_statement_meets_another_server(bouncer, pgbouncer=True))
    failures = {outcome: n for outcome, n in broken.items() if outcome != "ok"}
    assert failures, broken
    assert all("prepared statement" in outcome for outcome in failures), failures
    assert working == Counter(ok=3)


def _client(env: dict[str, str]) -> dict[str, str]:
    created = run(["clients", "create", "Through PgBouncer", "--json"], env)
    assert created.returncode == 0, created.stderr
    return dict(json.loads(created.stdout))


async def _traffic(base: str, key: str, codes: list[str], last_use: str) -> Counter[int]:
    """Validations and redemptions at once: 60 validations, 60 redemptions of different codes and
    30 of one single-use code."""
    headers = {"X-API-Key": key}
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as api:

        async def validate(code: str) -> int:
            return (await api.get(f"/api/webhook/validate/{code}")).status_code

        async def redeem(code: str, order: str) -> int:
            body = {"code": code, "transaction_amount": 45.99, "order_reference": order}
            return (await api.post("/api/webhook/redemption", json=body)).status_code

        statuses = await asyncio.gather(
            *(validate(code) for code in codes[:60]),
            *(redeem(code, f"ORD-{n}") for n, code in enumerate(codes[60:120])),
            *(redeem(last_use, f"LAST-{n}") for n in range(30)),
        )
    return Counter(statuses)


def test_serve_and_worker_through_pgbouncer(fresh_postgres: str) -> None:
    with running_pgbouncer(fresh_postgres, pool_size=4) as bouncer, running_receiver() as receiver:
        # given a database migrated through PgBouncer, a server and a worker using it, each with
        # more connections (pools of 10 + 10) than PgBouncer has to PostgreSQL (4)
        env = env_for(
            bouncer,
            VOUCHERD_DATABASE_PGBOUNCER="1",
            VOUCHERD_EMBEDDED_WORKER="false",
            VOUCHERD_WEBHOOK_ALLOWED_CIDRS='["127.0.0.0/8"]',
            VOUCHERD_WEBHOOK_POLL_SECONDS="0.05",
            VOUCHERD_WORKER_POLL_SECONDS="0.1",
            VOUCHERD_LOG_LEVEL="ERROR",
        )
        migrated = run(["migrate"], env)
        assert migrated.returncode == 0, migrated.stderr
        key = _client(env)["api_key"]
        port = free_port()
        server = subprocess.Popen(
            [*VOUCHERD, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        worker = subprocess.Popen(
            [*VOUCHERD, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/healthz", server)
            with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as api:
                hook = api.post(
                    "/api/integrations/webhooks",
                    json={"name": "Shop", "url": receiver.url, "events": ["voucher.redeemed"]},
                )
                assert hook.status_code == 201, hook.text
                campaign = api.post(
                    "/api/campaigns",
                    json={"name": "Summer Sale", "discount_type": "percentage", "discount_value": 20},
                ).json()
                # when a bulk job makes 5,000 codes (COPY, two connections side by side)
                queued = api.post(f"/api/campaigns/{campaign['id']}/vouchers", json={"count": 5000})
                assert queued.status_code == 202, queued.text
                job_url = queued.headers["Location"]
                deadline = time.monotonic() + 120  # a hang guard
                while (job := api.get(job_url).json())["status"] != "succeeded":
                    assert job["status"] in {"queued", "running"}, job
                    assert time.monotonic() < deadline, job
                    time.sleep(0.2)
                codes = [
                    item["code"]
                    for page in (1, 2)
                    for item in api.get(
                        f"/api/campaigns/{campaign['id']}/vouchers", params={"limit": 100, "page": page}
                    ).json()["data"]
                ]
            assert len(codes) == 200
            # and validations and redemptions arrive together
            statuses = asyncio.run(_traffic(base, key, codes[:120], codes[199]))
            # then every one is answered, and the single-use code was redeemed once
            assert statuses == Counter({200: 60, 201: 61, 409: 29}), statuses
            # and every redemption's webhook is delivered, once
            deadline = time.monotonic() + 120
            while len(receiver.requests) < 61:
                assert time.monotonic() < deadline, len(receiver.requests)
                time.sleep(0.1)
            time.sleep(0.5)
            ids = [request.headers["webhook-id"] for request in receiver.requests]
            assert len(ids) == len(set(ids)) == 61
        finally:
            for process in (server, worker):
                process.send_signal(signal.SIGTERM)
            for process in (server, worker):
                process.wait(timeout=30)
        server_errors = (server.stderr.read() if server.stderr else b"").decode()
        worker_errors = (worker.stderr.read() if worker.stderr else b"").decode()
    assert "prepared statement" not in server_errors + worker_errors
    assert worker.returncode == 0, worker_errors
