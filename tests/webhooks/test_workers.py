"""Workers as real processes (W6, K3, K4), a lease outrun (K5) and exact fan-out (W7), on both
databases, with a real receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from tests.fixtures.receiver import Answer, Received, running_receiver
from tests.webhooks.conftest import make_endpoint
from voucherd.config import get_settings
from voucherd.core import clock
from voucherd.core.money import Amount
from voucherd.db import Database, unit_of_work
from voucherd.models import Event, WebhookAttempt, WebhookDelivery
from voucherd.redemptions import service as redemptions
from voucherd.redemptions.repository import SessionStore
from voucherd.redemptions.schemas import RedeemInput
from voucherd.webhooks import delivery, network

pytestmark = pytest.mark.usefixtures("loopback_allowed")

K3_EVENTS = 1000
K3_KILLS = 50
WORKER = [sys.executable, "-m", "voucherd.cli.main", "worker"]
# A worker that has done its imports and starts when it reads a line: the K3 test keeps the next
# one ready while the current one runs, as a supervisor's replacement would be, so that 50 restarts
# do not wait for 50 interpreter start-ups (about a second each here).
STANDBY = [
    sys.executable,
    "-c",
    "import sys; import voucherd.worker, voucherd.jobs.runner, voucherd.webhooks.delivery; "
    "from voucherd.cli.main import worker; sys.stdin.readline(); worker()",
]


def worker_env(db_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "VOUCHERD_DATABASE_URL": db_url,
        "VOUCHERD_WEBHOOK_ALLOWED_CIDRS": '["127.0.0.0/8"]',
        "VOUCHERD_WEBHOOK_POLL_SECONDS": "0.05",
        "VOUCHERD_LOG_LEVEL": "ERROR",
        **extra,
    }


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_standby(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        STANDBY, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def release(standby: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    assert standby.stdin is not None
    standby.stdin.write(b"go\n")
    standby.stdin.close()
    return standby


async def wait_for(
    condition: Callable[[], bool], worker: subprocess.Popen[bytes], what: str, *, limit: float = 60.0
) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert worker.poll() is None, f"the worker exited: {what}"
        assert time.monotonic() < deadline, f"the worker {what}"
        await asyncio.sleep(0.001)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
    process.wait(timeout=60)


async def add_events(database: Database, tenant: Tenant, count: int) -> None:
    """``count`` events, 1,000 per transaction (as many committed changes would write them)."""
    for start in range(0, count, 1000):
        rows = [
            {
                "id": uuid.uuid4(),
                "client_id": tenant.client_id,
                "type": "voucher.redeemed",
                "data": {"voucher_code": f"CODE-{n}", "currency": "GBP", "discount_applied_minor": n},
                "created_at": clock.now(),
            }
            for n in range(start, min(count, start + 1000))
        ]
        async with unit_of_work(database) as session:
            await session.execute(insert(Event), rows)


async def count_deliveries(database: Database, status: str | None = None) -> int:
    async with unit_of_work(database, write=False) as session:
        query = select(func.count()).select_from(WebhookDelivery)
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        return await session.scalar(query) or 0


async def wait_until_delivered(database: Database, total: int, *, limit: float = 240.0) -> None:
    """A hang guard, not a performance threshold: fail instead of waiting forever."""
    deadline = time.monotonic() + limit
    while await count_deliveries(database, "succeeded") < total:
        assert time.monotonic() < deadline, "deliveries did not finish"
        await asyncio.sleep(0.2)


@pytest.mark.crash
@pytest.mark.timeout(900)
async def test_w6_two_workers_ten_thousand_events_thirty_percent_failures(
    database: Database, tenant: Tenant, db_url: str
) -> None:
    # given a receiver that answers 500 to 30% of requests and, for 5% more, processes the
    # event but drops the connection before answering
    chooser = random.Random(20261122)
    lock = threading.Lock()
    processed: Counter[str] = Counter()
    acknowledged: Counter[str] = Counter()
    timestamps: dict[str, set[str]] = {}

    def behaviour(request: Received, _count: int) -> Answer:
        event_id = request.headers["webhook-id"]
        with lock:
            roll = chooser.random()
            timestamps.setdefault(event_id, set()).add(request.headers["webhook-timestamp"])
            if roll < 0.30:
                return Answer(500)
            processed[event_id] += 1
            if roll < 0.35:
                return Answer(drop=True)
            acknowledged[event_id] += 1
        return Answer(200)

    # 10,000 on both databases (measured on 2 shared cores: about 65 s on PostgreSQL, 85 s on
    # SQLite, whose single writer serializes the two workers' transactions)
    total = 10_000
    with running_receiver(behaviour) as receiver:
        await make_endpoint(database, tenant, receiver.url, events=["voucher.redeemed"])
        await add_events(database, tenant, total)
        # when two worker processes deliver them
        env = worker_env(
            db_url,
            VOUCHERD_WEBHOOK_RETRY_SCHEDULE=json.dumps([1.2] * 40),
            VOUCHERD_WEBHOOK_CONCURRENCY="32",
        )
        workers = [start_worker(env), start_worker(env)]
        try:
            await wait_until_delivered(database, total, limit=800)
        finally:
            for worker in workers:
                stop(worker)
    # then none is lost and each event id was acknowledged exactly once
    assert len(processed) == total
    assert len(acknowledged) == total
    assert set(acknowledged.values()) == {1}
    assert await count_deliveries(database) == total
    # a redelivery keeps its id and carries a new timestamp (so a new signature)
    redelivered = [event_id for event_id, seen in timestamps.items() if len(seen) > 1]
    assert redelivered
    assert all(len(timestamps[event_id]) >= 2 for event_id in redelivered)
    retried = len(receiver.requests) - total
    assert retried > 0
    async with unit_of_work(database, write=False) as session:
        attempts = await session.scalar(select(func.count()).select_from(WebhookAttempt))
    assert attempts == len(receiver.requests)


@pytest.mark.crash
@pytest.mark.timeout(600)
async def test_k3_fifty_kills_across_a_thousand_events_lose_nothing(
    database: Database, tenant: Tenant, db_url: str
) -> None:
    # given a receiver that takes 5 ms to answer, and workers that send one delivery at a time
    # (so a kill can cost at most one duplicate) with a 1 s lease
    with running_receiver(lambda _r, _n: Answer(200, delay=0.005)) as receiver:
        await make_endpoint(database, tenant, receiver.url)
        env = worker_env(db_url, VOUCHERD_WEBHOOK_CONCURRENCY="1", VOUCHERD_WEBHOOK_LEASE_SECONDS="1")
        chooser = random.Random(7)
        kills = mid_send = 0
        processes: list[subprocess.Popen[bytes]] = []

        def spare() -> subprocess.Popen[bytes]:
            processes.append(start_standby(env))
            return processes[-1]

        standby = spare()
        try:
            # when events keep arriving (20 per round, 1,000 in all) and in each of 50 rounds a
            # worker starts, delivers until the receiver has seen up to 20 per round so far (less
            # a random 1 to 15), and is SIGKILLed while a send is in flight: the kills are spread
            # over the whole stream of events
            for number in range(K3_KILLS):
                await add_events(database, tenant, K3_EVENTS // K3_KILLS)
                worker, standby = release(standby), spare()
                sent = len(receiver.requests)
                target = max(sent + 1, (number + 1) * K3_EVENTS // K3_KILLS - chooser.randint(1, 15))
                await wait_for(lambda target=target: len(receiver.requests) >= target, worker, "stalled")
                await wait_for(lambda: receiver.in_flight > 0, worker, "never had a send in flight")
                mid_send += receiver.in_flight > 0
                stop(worker, signal.SIGKILL)
                kills += 1
            # and a last worker is left to finish
            release(standby)
            await wait_until_delivered(database, K3_EVENTS)
        finally:
            for process in processes:
                stop(process)
    # then every event arrived; at most one duplicate per kill, each with its original id and body
    assert kills == K3_KILLS
    bodies: dict[str, set[bytes]] = {}
    for request in receiver.requests:
        bodies.setdefault(request.headers["webhook-id"], set()).add(request.body)
    assert len(bodies) == K3_EVENTS
    assert all(len(body) == 1 for body in bodies.values())
    duplicates = len(receiver.requests) - K3_EVENTS
    assert duplicates <= kills
    assert mid_send >= K3_KILLS * 0.8  # the kills did land during deliveries
    async with unit_of_work(database, write=False) as session:
        event_ids = {str(i) for i in (await session.scalars(select(Event.id))).all()}
    assert set(bodies) == event_ids
    assert await count_deliveries(database) == K3_EVENTS


@pytest.mark.crash
async def test_k4_a_worker_killed_mid_delivery_is_taken_over_after_the_lease(
    database: Database, tenant: Tenant, db_url: str
) -> None:
    arrived = threading.Event()

    def behaviour(_request: Received, count: int) -> Answer:
        if count == 1:
            arrived.set()
            return Answer(200, delay=5.0)  # the first worker dies while waiting for this
        return Answer(200)

    with running_receiver(behaviour) as receiver:
        await make_endpoint(database, tenant, receiver.url)
        await add_events(database, tenant, 1)
        env = worker_env(db_url, VOUCHERD_WEBHOOK_LEASE_SECONDS="2")
        first = start_worker(env)
        try:
            assert await asyncio.to_thread(arrived.wait, 60)
        finally:
            stop(first, signal.SIGKILL)
        second = start_worker(env)
        try:
            await wait_until_delivered(database, 1)
        finally:
            stop(second)
    assert len(receiver.requests) == 2
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    async with unit_of_work(database, write=False) as session:
        stored = (await session.scalars(select(WebhookDelivery))).one()
        attempts = (await session.scalars(select(WebhookAttempt))).all()
    assert (stored.status, stored.attempts) == ("succeeded", 2)
    assert [(a.attempt, a.succeeded) for a in attempts] == [(2, True)]  # the killed attempt left no row


async def test_k5_a_delivery_that_outruns_its_lease_leaves_no_duplicate_rows(
    database: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOUCHERD_WEBHOOK_LEASE_SECONDS", "0.3")
    get_settings.cache_clear()
    with running_receiver(lambda _r, n: Answer(200, delay=1.5 if n == 1 else 0)) as receiver:
        await make_endpoint(database, tenant, receiver.url)
        await add_events(database, tenant, 1)
        async with network.new_client() as http:
            await delivery.dispatch_once(database)
            [slow] = await delivery.claim(database, limit=10)
            slow_send = asyncio.create_task(delivery.deliver(database, http, slow))
            await asyncio.sleep(0.6)  # the lease runs out while the first send waits
            [fast] = await delivery.claim(database, limit=10)
            assert fast.attempt == slow.attempt + 1
            await delivery.deliver(database, http, fast)
            outcome = await slow_send
    assert outcome.succeeded
    assert len(receiver.requests) == 2
    async with unit_of_work(database, write=False) as session:
        attempts = (await session.scalars(select(WebhookAttempt))).all()
        deliveries = (await session.scalars(select(WebhookDelivery))).all()
    assert [(a.attempt, a.succeeded) for a in attempts] == [(2, True)]
    assert [(d.status, d.attempts) for d in deliveries] == [("succeeded", 2)]


class Injected(Exception):
    pass


async def test_w7_outbox_rows_equal_commits_times_subscribed_endpoints(
    database: Database, tenant: Tenant
) -> None:
    # given two endpoints subscribed to redemptions and one that is not
    campaign = await make_campaign(database, tenant, discount_value=10)
    codes = await make_codes(database, tenant, campaign, 1000)
    await make_endpoint(database, tenant, "http://127.0.0.1:9/a", events=["voucher.redeemed"])
    await make_endpoint(database, tenant, "http://127.0.0.1:9/b", events=["*"])
    await make_endpoint(database, tenant, "http://127.0.0.1:9/c", events=["lead.captured"])
    commits = 0
    # when 1,000 redemptions run and 10% of their transactions are rolled back
    for number, code in enumerate(codes):
        try:
            async with unit_of_work(database) as session:
                await redemptions.redeem(
                    SessionStore(session),
                    tenant.principal,
                    RedeemInput(code=code, amount=Amount.major("20.00")),
                )
                if number % 10 == 0:
                    raise Injected()
            commits += 1
        except Injected:
            pass
    while await delivery.dispatch_once(database):
        pass
    # then deliveries are exactly commits x 2, and none for the unsubscribed endpoint
    assert commits == 900
    async with unit_of_work(database, write=False) as session:
        rows: Any = (
            await session.execute(
                select(WebhookDelivery.event_type, func.count()).group_by(WebhookDelivery.event_type)
            )
        ).all()
    # voucher.batch_created from the code generation goes to the "*" endpoint only
    assert dict(rows) == {"voucher.redeemed": commits * 2, "voucher.batch_created": 1}
