"""Issue 15, section 2: HAProxy in front of two ``voucherd serve`` processes and two ``voucherd
worker`` processes on PostgreSQL and Redis, under mixed traffic from a process of its own, with one
server SIGKILLed mid-run.

Each server, worker and the traffic process is a host of its own: a network namespace on a bridge
(tests/cluster/hosts.py) when the machine allows it (root, ``ip netns add`` works, as on CI), or
a process on loopback ports otherwise; the test prints which layout ran, and passes in both. Set
``VOUCHERD_TEST_NO_NETNS=1`` to force the loopback layout. The balancer, the webhook receiver and
a second HAProxy in TCP mode (the hosts' way to PostgreSQL and Redis, which listen on the root
namespace's 127.0.0.1 only) run in the root namespace, on the bridge's address.

What must hold across both servers: each single-use code is redeemed at most once (C1), one rate
limit counts the requests that reach either server, every event reaches each endpoint once (by
event id at the receiver), and every redemption that was acknowledged with a 2xx is in the
database after the kill."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tests.api.test_ratelimit import redis_answers
from tests.cluster.hosts import Layout, hosts
from tests.cluster.processes import (
    Processes,
    fresh_postgres_database,
    needs_haproxy,
    processes,
    start_balancer,
    start_tcp_proxy,
)
from tests.conftest import Tenant, make_tenant
from tests.fixtures.factories import make_campaign, make_codes
from tests.fixtures.processes import VOUCHERD, free_port, wait_for
from tests.webhooks.conftest import loopback_allowed, make_endpoint
from voucherd.config import get_settings
from voucherd.db import Database, unit_of_work
from voucherd.db.engine import create_database
from voucherd.models import Event, Redemption, Voucher, WebhookDelivery

pytestmark = [
    pytest.mark.crash,
    pytest.mark.usefixtures("loopback_allowed"),
    pytest.mark.skipif(
        not redis_answers() and not os.environ.get("CI"), reason="needs Redis on 127.0.0.1:6379"
    ),
]

__all__ = ["loopback_allowed"]  # the fixture, used by pytestmark

# A database of Redis's 16 of its own, so that no other test's counters meet these.
REDIS_HOST, REDIS_PORT, REDIS_DATABASE = "127.0.0.1", 6379, 11
RACE_CODES, RACERS = 20, 10
STREAM_CODES, KILL_AFTER, CONCURRENCY = 200, 60, 8
LIMIT, LIMITED_REQUESTS = 20, 30
RECIPIENTS = 25


async def prepare(url: str, receiver: str) -> tuple[dict[str, Any], list[str]]:
    """The shop, its codes and two endpoints (one for everything, one for redemptions), and a
    second client whose only part is to hit the rate limit."""
    database = create_database(url)
    try:
        shop = await make_tenant(database, "Scale Shop")
        limited: Tenant = await make_tenant(database, "Limited Shop")
        campaign = await make_campaign(database, shop, name="Scale", discount_value=10)
        race_codes = await make_codes(database, shop, campaign, RACE_CODES)
        stream_codes = await make_codes(database, shop, campaign, STREAM_CODES)
        upload_campaign = await make_campaign(database, shop, name="Mailing", discount_value=15)
        await make_endpoint(database, shop, f"{receiver}/all", events=["*"])
        await make_endpoint(database, shop, f"{receiver}/redeemed", events=["voucher.redeemed"])
    finally:
        await database.dispose()
    plan = {
        "key": shop.api_key,
        "limited_key": limited.api_key,
        "race_codes": race_codes,
        "racers": RACERS,
        "limited_requests": LIMITED_REQUESTS,
        "upload_campaign": str(upload_campaign.id),
        "recipients": RECIPIENTS,
        "stream_codes": stream_codes,
        "kill_after": KILL_AFTER,
        "concurrency": CONCURRENCY,
    }
    return plan, stream_codes


def start_receiver(started: Processes, directory: Path, address: str) -> tuple[str, Path]:
    """The webhook receiver on ``address``; its base URL and the file it logs each request to."""
    port_file, log_file = directory / "receiver.port", directory / "received.jsonl"
    receiver = started.start(
        "receiver",
        [sys.executable, "-m", "tests.cluster.hooks", str(port_file), str(log_file), address],
        dict(os.environ),
    )
    deadline = time.monotonic() + 60
    while not port_file.exists() or not port_file.read_text():
        assert receiver.poll() is None, "the receiver exited"
        assert time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.05)
    return f"http://{address}:{port_file.read_text()}", log_file


async def wait_until_delivered(database: Database, limit: float = 60.0) -> None:
    """Until every event is dispatched and every delivery succeeded (a hang guard)."""
    deadline = time.monotonic() + limit
    while True:
        async with unit_of_work(database, write=False) as session:
            undispatched = await session.scalar(
                select(func.count()).select_from(Event).where(Event.dispatched_at.is_(None))
            )
            unfinished = await session.scalar(
                select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status != "succeeded")
            )
        if not undispatched and not unfinished:
            return
        assert time.monotonic() < deadline, f"{undispatched} events and {unfinished} deliveries left"
        await asyncio.sleep(0.2)


def service_urls(started: Processes, directory: Path, layout: Layout, url: str) -> tuple[str, str]:
    """The PostgreSQL and Redis URLs as the hosts reach them: on loopback, as they are; from
    namespaces, through HAProxy in TCP mode on the bridge's address."""
    redis = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DATABASE}"
    if not layout.isolated:
        return url, redis
    postgres = make_url(url)
    ports = start_tcp_proxy(
        started,
        directory,
        layout.gateway,
        {
            "postgres": (postgres.host or "127.0.0.1", postgres.port or 5432),
            "redis": (REDIS_HOST, REDIS_PORT),
        },
    )
    return (
        postgres.set(host=layout.gateway, port=ports["postgres"]).render_as_string(hide_password=False),
        f"redis://{layout.gateway}:{ports['redis']}/{REDIS_DATABASE}",
    )


def test_two_servers_and_two_workers_behind_haproxy_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_haproxy()
    with (
        hosts(["s1", "s2", "w1", "w2", "shop"]) as layout,
        fresh_postgres_database("voucherd_cluster") as url,
        processes(tmp_path) as started,
    ):
        # webhooks to the receiver, on the bridge's address (or loopback), are allowed here
        allowed = json.dumps(sorted({"127.0.0.0/8", layout.subnet}))
        monkeypatch.setenv("VOUCHERD_WEBHOOK_ALLOWED_CIDRS", allowed)
        get_settings.cache_clear()
        receiver, received_log = start_receiver(started, tmp_path, layout.gateway)
        plan, stream_codes = asyncio.run(prepare(url, receiver))
        hosts_database, hosts_redis = service_urls(started, tmp_path, layout, url)
        env = {
            **os.environ,
            "VOUCHERD_DATABASE_URL": hosts_database,
            "VOUCHERD_REDIS_URL": hosts_redis,
            "VOUCHERD_RATE_LIMIT_WEBHOOKS": f"{LIMIT}/hour",
            "VOUCHERD_EMBEDDED_WORKER": "false",
            "VOUCHERD_WEBHOOK_ALLOWED_CIDRS": allowed,
            "VOUCHERD_WEBHOOK_POLL_SECONDS": "0.05",
            "VOUCHERD_POOL_SIZE": "5",
            "VOUCHERD_CHECKOUT_POOL_SIZE": "5",
            "VOUCHERD_LOG_LEVEL": "WARNING",
        }
        # given two servers, two workers and the balancer in front of the servers
        backends = [(name, layout.address(name), free_port()) for name in ("s1", "s2")]
        servers = {
            name: started.start(
                name,
                layout.command(name, [*VOUCHERD, "serve", "--host", address, "--port", str(port)]),
                env,
            )
            for name, address, port in backends
        }
        for worker in ("w1", "w2"):
            started.start(worker, layout.command(worker, [*VOUCHERD, "worker"]), env)
        for name, address, port in backends:
            wait_for(f"http://{address}:{port}/readyz", servers[name])
        balancer_port = start_balancer(started, tmp_path, backends, bind=layout.gateway)

        # when a separate process sends the mixed traffic through the balancer, and server s1 is
        # SIGKILLed while the redemption stream runs
        plan["url"] = f"http://{layout.gateway}:{balancer_port}"
        plan_file, result_file = tmp_path / "plan.json", tmp_path / "result.json"
        plan_file.write_text(json.dumps(plan))
        traffic = started.start(
            "traffic",
            layout.command(
                "shop", [sys.executable, "-m", "tests.cluster.traffic", str(plan_file), str(result_file)]
            ),
            dict(os.environ),
            stdin=True,
        )
        assert traffic.stdout is not None
        assert traffic.stdin is not None
        assert traffic.stdout.readline() == b"kill\n", "the traffic ended before the kill point"
        servers["s1"].send_signal(signal.SIGKILL)
        servers["s1"].wait(timeout=15)
        traffic.stdin.write(b"killed\n")
        traffic.stdin.close()
        assert traffic.wait(timeout=240) == 0, "the traffic process failed"
        result = json.loads(result_file.read_text())

        stored = asyncio.run(read_back(url))
    received = [json.loads(line) for line in received_log.read_text().splitlines()]

    # then C1 across both servers: each raced code has exactly one 201 and nine 409s, no 5xx
    for code in plan["race_codes"]:
        statuses = Counter(a["status"] for a in result["race"] if a["code"] == code)
        assert statuses == {201: 1, 409: RACERS - 1}, (code, statuses)
    assert {a["server"] for a in result["race"] if a["status"] == 201} == {"s1", "s2"}
    assert all(stored["redeemed"][code] == 1 for code in plan["race_codes"])
    assert all(stored["redemptions"][code] == 1 for code in plan["race_codes"])

    # and one shared limit: 20 an hour is 20 across both servers, the rest 429
    statuses = [a["status"] for a in result["limited"]]
    assert statuses == [200] * LIMIT + [429] * (LIMITED_REQUESTS - LIMIT)
    assert {a["server"] for a in result["limited"][:LIMIT]} == {"s1", "s2"}
    assert {a["server"] for a in result["limited"][LIMIT:]} == {"s1", "s2"}

    # and the upload made a code for each recipient
    assert result["upload"] == {"status": 201, "created": RECIPIENTS}

    # and the stream went on through s2 after the kill; every validation was answered
    after_kill = [a for a in result["redemptions"] if a["after_kill"]]
    assert after_kill
    assert all(a["server"] == "s2" for a in after_kill[-20:] if a["status"] == 201)
    assert {v["status"] for v in result["validations"]} <= {200, 502, 503, 0}
    # nothing acknowledged was lost: every 2xx redemption is in the database, once
    acknowledged = [a for a in result["redemptions"] + result["retried"] if 200 <= a["status"] < 300]
    assert {a["reference"] for a in acknowledged} == {f"order-{code}" for code in stream_codes}
    assert all(stored["references"][a["code"]] == [a["reference"]] for a in acknowledged)
    failed = [a for a in result["redemptions"] if not 200 <= a["status"] < 300]
    assert all(a["status"] in (0, 502, 503) for a in failed), failed
    assert all(200 <= a["status"] < 300 for a in result["retried"])

    # and every event reached each endpoint exactly once, by event id
    by_endpoint = {
        path: Counter(r["id"] for r in received if r["path"] == path) for path in ("/all", "/redeemed")
    }
    assert set(by_endpoint["/all"]) == stored["events"]
    assert set(by_endpoint["/redeemed"]) == stored["redeemed_events"]
    assert set(by_endpoint["/all"].values()) == {1}
    assert set(by_endpoint["/redeemed"].values()) == {1}
    assert len(stored["redeemed_events"]) == RACE_CODES + STREAM_CODES


async def read_back(url: str) -> dict[str, Any]:
    """Once the workers have delivered everything: what the database holds."""
    database = create_database(url)
    try:
        await wait_until_delivered(database)
        async with unit_of_work(database, write=False) as session:
            redeemed = dict((await session.execute(select(Voucher.code, Voucher.redeemed_count))).all())
            rows = (await session.execute(select(Redemption.code, Redemption.order_reference))).all()
            events = (await session.execute(select(Event.id, Event.type))).all()
    finally:
        await database.dispose()
    references: dict[str, list[str | None]] = {}
    for code, reference in rows:
        references.setdefault(code, []).append(reference)
    return {
        "redeemed": redeemed,
        "redemptions": Counter(code for code, _ in rows),
        "references": references,
        "events": {str(event_id) for event_id, _ in events},
        "redeemed_events": {str(event_id) for event_id, kind in events if kind == "voucher.redeemed"},
    }
