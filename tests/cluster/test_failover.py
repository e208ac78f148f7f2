"""Issue 15, section 3: the primary PostgreSQL dies during redemptions, the synchronous standby
is promoted, and voucherd, whose URL names both hosts with ``target_session_attrs=read-write``,
carries on without a restart. Every redemption it acknowledged is on the new primary.

The figures (failover time: from the kill to the first redemption acknowledged after it; and
acknowledged-then-missing, target 0) are printed, and written to ``build/failover.txt``."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest

from tests.cluster.postgres_pair import Pair, needs_postgres_server, postgres_pair
from tests.cluster.processes import REPOSITORY, processes
from tests.conftest import make_tenant
from tests.fixtures.factories import make_campaign, make_codes
from tests.fixtures.processes import VOUCHERD, free_port, wait_for
from voucherd.db.engine import create_database
from voucherd.db.migrate import upgrade

pytestmark = pytest.mark.crash

CODES, BEFORE_KILL, AFTER_FAILOVER, CONCURRENCY = 600, 100, 100, 4


@dataclass
class Answer:
    code: str
    reference: str
    status: int
    sent: float
    answered: float


async def prepare(url: str) -> tuple[str, list[str]]:
    database = create_database(url)
    try:
        shop = await make_tenant(database, "Failover Shop")
        campaign = await make_campaign(database, shop, name="Failover", discount_value=10)
        return shop.api_key, await make_codes(database, shop, campaign, CODES)
    finally:
        await database.dispose()


async def redeem(client: httpx.AsyncClient, key: str, code: str, reference: str) -> Answer:
    sent = time.monotonic()
    body = {"code": code, "transaction_amount": 20, "order_reference": reference}
    try:
        response = await client.post("/api/webhook/redemption", json=body, headers={"X-API-Key": key})
        status = response.status_code
    except httpx.TransportError:
        status = 0
    return Answer(code, reference, status, sent, time.monotonic())


async def traffic(base: str, key: str, codes: list[str], pair: Pair) -> tuple[list[Answer], float, float]:
    """Redemptions, ``CONCURRENCY`` at a time; the primary is killed after ``BEFORE_KILL`` are
    acknowledged and the standby promoted at once (what a failover manager or an operator does);
    the traffic stops ``AFTER_FAILOVER`` acknowledgements later."""
    answers: list[Answer] = []
    remaining = iter(codes)
    killed_at: float | None = None
    promoted_at: float | None = None
    after = 0

    async def failover() -> None:
        nonlocal killed_at, promoted_at
        killed_at = time.monotonic()
        pair.primary.kill()
        await asyncio.to_thread(pair.standby.promote)
        promoted_at = time.monotonic()

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        kill: asyncio.Task[None] | None = None

        async def shopper() -> None:
            nonlocal kill, after
            for code in remaining:
                if after >= AFTER_FAILOVER:
                    return
                answer = await redeem(client, key, code, f"order-{code}")
                answers.append(answer)
                acknowledged = 200 <= answer.status < 300
                if killed_at is not None and acknowledged and answer.sent > killed_at:
                    after += 1
                if kill is None and sum(200 <= a.status < 300 for a in answers) >= BEFORE_KILL:
                    kill = asyncio.create_task(failover())
                if not acknowledged:
                    await asyncio.sleep(0.02)  # a checkout waits a little before its next try

        await asyncio.gather(*(shopper() for _ in range(CONCURRENCY)))
        assert kill is not None
        await kill
        # a checkout that got no answer sends the same redemption again (same order reference)
        for answer in [a for a in answers if not 200 <= a.status < 500]:
            again = await redeem(client, key, answer.code, answer.reference)
            assert 200 <= again.status < 300, again
            answers.append(again)
    assert killed_at is not None
    assert promoted_at is not None
    return answers, killed_at, promoted_at


def test_primary_killed_mid_redemptions_standby_promoted_nothing_acknowledged_lost(tmp_path: Path) -> None:
    needs_postgres_server()
    with postgres_pair() as pair, processes(tmp_path) as started:
        admin = pair.primary.dsn()
        asyncio.run(_execute(admin, "CREATE DATABASE voucherd"))
        url = pair.url("voucherd")
        upgrade(url)
        key, codes = asyncio.run(prepare(url))
        port = free_port()
        env = {
            **os.environ,
            "VOUCHERD_DATABASE_URL": url,
            "VOUCHERD_EMBEDDED_WORKER": "false",
            "VOUCHERD_RATE_LIMITS_ENABLED": "false",
            "VOUCHERD_LOG_LEVEL": "ERROR",
        }
        # given one voucherd server on the multi-host URL
        server = started.start("server", [*VOUCHERD, "serve", "--port", str(port)], env)
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/readyz", server)

        # when the primary dies mid-run and the standby is promoted
        answers, killed_at, promoted_at = asyncio.run(traffic(base, key, codes, pair))

        # then the same server process (never restarted) serves on the new primary and is ready
        assert server.poll() is None
        wait_for(f"{base}/readyz", server)
        stored = asyncio.run(_references(pair.standby.dsn("voucherd")))
        in_recovery = asyncio.run(_fetch(pair.standby.dsn(), "SELECT pg_is_in_recovery()"))

    assert in_recovery is False
    acknowledged = [a for a in answers if 200 <= a.status < 300]
    missing = [a for a in acknowledged if a.reference not in stored]
    # every acknowledged redemption is on the new primary, each code redeemed once
    assert missing == []
    assert len(stored) == len(set(stored.values())) == len({a.reference for a in acknowledged})
    assert all(stored[a.reference] == a.code for a in acknowledged)
    # and voucherd reconnected by itself: redemptions sent after the kill were acknowledged
    after = sorted(a.answered for a in acknowledged if a.sent > killed_at)
    assert len(after) >= AFTER_FAILOVER
    failed = [a for a in answers if not 200 <= a.status < 300]
    # and what failed in between was answered: 503 (the database is unavailable) for a refused or
    # broken connection; asyncpg reports a connection that broke in the middle of an error
    # response as an internal error of its own ("cannot switch to state ..."), which stays a 500
    statuses = Counter(a.status for a in failed)
    assert set(statuses) <= {500, 503}, statuses
    report = (
        f"failover: primary SIGKILLed after {BEFORE_KILL} acknowledged redemptions, standby promoted "
        f"{promoted_at - killed_at:.2f} s later; first redemption acknowledged {after[0] - killed_at:.2f} s "
        f"after the kill; {len(failed)} requests failed in between ({statuses[503]} x 503, "
        f"{statuses[500]} x 500; retried: each then acknowledged once); acknowledged "
        f"{len(acknowledged)}, acknowledged-then-missing {len(missing)}"
    )
    print(report, file=sys.stderr)
    (REPOSITORY / "build").mkdir(exist_ok=True)
    (REPOSITORY / "build" / "failover.txt").write_text(report + "\n")


async def _execute(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _fetch(dsn: str, query: str) -> object:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


async def _references(dsn: str) -> dict[str, str]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT order_reference, code FROM redemptions")
    finally:
        await connection.close()
    return {row["order_reference"]: row["code"] for row in rows}
