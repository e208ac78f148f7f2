"""Webhook deliveries: ``voucherd worker`` processes against a loopback receiver, beside a raw
baseline (an httpx client process posting bodies to the same receiver, 32 at a time), and the
delay from a redemption's commit to its delivery.

Deliveries per second are counted from the first request the receiver sees to the last event
acknowledged, so process start-up is left out. The receiver answers 200 at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid

import orjson
from sqlalchemy import func, insert, select
from tests.fixtures.receiver import Answer, Received, Receiver

from bench.common import (
    Figure,
    Section,
    Tenant,
    create_campaign,
    generate_codes,
    percentile,
    progress,
    ratio,
    voucherd_command,
    voucherd_env,
)
from voucherd.config import get_settings
from voucherd.core import clock
from voucherd.core.money import Amount
from voucherd.db import Database, unit_of_work
from voucherd.models import Event, Voucher, WebhookDelivery, WebhookEndpoint
from voucherd.redemptions import service as redemptions
from voucherd.redemptions.repository import SessionStore
from voucherd.redemptions.schemas import RedeemInput
from voucherd.webhooks import service as webhooks
from voucherd.webhooks.schemas import EndpointInput

CONCURRENCY = 32


def _worker_env() -> dict[str, str]:
    return {
        **voucherd_env(),
        "VOUCHERD_WEBHOOK_ALLOWED_CIDRS": '["127.0.0.0/8"]',
        "VOUCHERD_WEBHOOK_CONCURRENCY": str(CONCURRENCY),
        "VOUCHERD_LOG_LEVEL": "WARNING",
    }


async def _endpoint(database: Database, tenant: Tenant, url: str, events: list[str]) -> uuid.UUID:
    os.environ["VOUCHERD_WEBHOOK_ALLOWED_CIDRS"] = '["127.0.0.0/8"]'
    get_settings.cache_clear()
    async with unit_of_work(database) as session:
        created = await webhooks.create_endpoint(
            session, tenant.principal, EndpointInput(name="bench", url=url, events=events)
        )
    return created.endpoint.id


async def _disable(database: Database, endpoint_id: uuid.UUID) -> None:
    async with unit_of_work(database) as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        if endpoint is not None:
            endpoint.enabled = False


async def _add_events(database: Database, tenant: Tenant, count: int) -> None:
    for start in range(0, count, 1000):
        rows = [
            {
                "id": uuid.uuid4(),
                "client_id": tenant.principal.client_id,
                "type": "lead.captured",
                "data": {"lead_id": str(n), "email": f"c{n}@example.com", "campaign_name": "Bench"},
                "created_at": clock.now(),
            }
            for n in range(start, min(count, start + 1000))
        ]
        async with unit_of_work(database) as session:
            await session.execute(insert(Event), rows)


async def _succeeded(database: Database, endpoint_id: uuid.UUID) -> int:
    async with unit_of_work(database, write=False) as session:
        return (
            await session.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "succeeded")
            )
            or 0
        )


def _start_workers(count: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            voucherd_command("worker"),
            env=_worker_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=60)


async def _deliveries_per_second(database: Database, tenant: Tenant, workers: int, count: int) -> float:
    first: list[float] = []

    def behaviour(_request: Received, _n: int) -> Answer:
        if not first:
            first.append(time.perf_counter())
        return Answer(200)

    receiver = Receiver(behaviour).start()
    try:
        endpoint_id = await _endpoint(database, tenant, receiver.url, ["lead.captured"])
        await _add_events(database, tenant, count)
        processes = _start_workers(workers)
        try:
            while await _succeeded(database, endpoint_id) < count:  # noqa: ASYNC110 - polls the database
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - first[0]
        finally:
            _stop(processes)
        await _disable(database, endpoint_id)
    finally:
        receiver.stop()
    return count / elapsed


_RAW_CLIENT = """
import asyncio, sys, time, httpx
url, count, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body = b'{"event":"lead.captured","timestamp":"2026-02-01T12:00:00Z","data":{"n":1}}'
async def main():
    async with httpx.AsyncClient() as client:
        semaphore = asyncio.Semaphore(concurrency)
        async def post():
            async with semaphore:
                (await client.post(url, content=body)).raise_for_status()
        start = time.perf_counter()
        await asyncio.gather(*(post() for _ in range(count)))
        print(count / (time.perf_counter() - start))
asyncio.run(main())
"""


async def _raw_posts_per_second(count: int) -> float:
    """The same receiver, posted to by a plain httpx client in its own process (as the workers
    are), 32 at a time: what the receiver and the machine allow without voucherd."""
    receiver = Receiver().start()
    try:
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", _RAW_CLIENT, receiver.url, str(count), str(CONCURRENCY)],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        return float(result.stdout.strip())
    finally:
        receiver.stop()


async def _commit_to_delivery(database: Database, tenant: Tenant, redemptions_count: int) -> list[float]:
    arrivals: dict[str, float] = {}

    def behaviour(request: Received, _n: int) -> Answer:
        data = orjson.loads(request.body)["data"]
        arrivals.setdefault(str(data.get("order_reference")), time.perf_counter())
        return Answer(200)

    campaign_id = await create_campaign(database, tenant, "Bench webhooks")
    await generate_codes(database, tenant, campaign_id, redemptions_count)
    async with unit_of_work(database, write=False) as session:
        codes = list(
            (await session.scalars(select(Voucher.code).where(Voucher.campaign_id == campaign_id))).all()
        )
    receiver = Receiver(behaviour).start()
    committed: dict[str, float] = {}
    try:
        endpoint_id = await _endpoint(database, tenant, receiver.url, ["voucher.redeemed"])
        processes = _start_workers(1)
        try:
            await asyncio.sleep(3.0)  # the worker is up and polling
            for number, code in enumerate(codes):
                reference = f"BENCH-{number}"
                async with unit_of_work(database) as session:
                    await redemptions.redeem(
                        SessionStore(session),
                        tenant.principal,
                        RedeemInput(code=code, amount=Amount.major("20.00"), order_reference=reference),
                    )
                committed[reference] = time.perf_counter()
                await asyncio.sleep(0.05)
            deadline = time.monotonic() + 60
            while len(arrivals) < len(committed) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        finally:
            _stop(processes)
        await _disable(database, endpoint_id)
    finally:
        receiver.stop()
    return [(arrivals[ref] - at) * 1000 for ref, at in committed.items() if ref in arrivals]


async def run(database: Database, tenant: Tenant, events: int, redemptions_count: int) -> Section:
    progress(f"webhooks: raw httpx posts to a loopback receiver, {events:,} bodies")
    raw = await _raw_posts_per_second(events)
    progress(f"webhooks: {events:,} events, one worker")
    one = await _deliveries_per_second(database, tenant, 1, events)
    progress(f"webhooks: {events:,} events, two workers")
    two = await _deliveries_per_second(database, tenant, 2, events)
    progress(f"webhooks: {redemptions_count} redemptions, commit to delivery")
    delays = await _commit_to_delivery(database, tenant, redemptions_count)
    return Section(
        notes=[
            f"webhooks: {events:,} lead.captured events per run, worker concurrency {CONCURRENCY}, "
            f"poll {get_settings().webhook_poll_seconds:g} s; latency over {len(delays)} redemptions "
            "20 per second, one worker",
        ],
        figures=[
            Figure("webhooks: raw httpx posts (baseline)", raw, "req/s"),
            Figure("webhooks: deliveries, 1 worker", one, "req/s"),
            Figure("webhooks: deliveries, 2 workers", two, "req/s"),
            ratio("webhooks: 1 worker / raw posts", one, raw),
            ratio("webhooks: 2 workers / 1 worker", two, one),
            Figure("webhooks: commit to delivery p50", percentile(delays, 0.5), "ms"),
            Figure("webhooks: commit to delivery p95", percentile(delays, 0.95), "ms"),
        ],
    )
