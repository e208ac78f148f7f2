"""RELIABILITY W8: payloads carry ``created_at`` and a per-voucher sequence number, and the sample
consumer (examples/webhook_consumer.py) rebuilds the same state from any order of the real
deliveries. Both databases; the concurrent part over real connections."""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from examples.webhook_consumer import Consumer
from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from tests.fixtures.receiver import Receiver, running_receiver
from tests.webhooks.conftest import make_endpoint
from voucherd.api.app import create_app
from voucherd.db import Database, unit_of_work
from voucherd.models import Campaign, Event, Redemption, Voucher
from voucherd.redemptions import repository
from voucherd.webhooks import delivery, network

pytestmark = pytest.mark.usefixtures("loopback_allowed")

SEEDS = range(8)
MICROSECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@dataclass(frozen=True)
class Delivered:
    headers: dict[str, str]
    body: bytes

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class History:
    """What was committed, in order: the ids of the events each action wrote. The test's actions
    run one after another, so their order is the commit order."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.actions: list[set[str]] = []
        self.known: set[str] = set()

    async def step(self, action: Awaitable[httpx.Response], status: int = 200) -> httpx.Response:
        response = await action
        assert response.status_code == status, response.text
        async with unit_of_work(self.database, write=False) as session:
            ids = {str(event_id) for event_id in (await session.scalars(select(Event.id))).all()}
        if ids - self.known:
            self.actions.append(ids - self.known)
        self.known = ids
        return response

    def position(self, event_id: str) -> int:
        return next(index for index, ids in enumerate(self.actions) if event_id in ids)

    def in_commit_order(self, deliveries: list[Delivered]) -> list[Delivered]:
        """Actions in order; the events of one action (one transaction) by their number."""
        return sorted(
            deliveries,
            key=lambda d: (self.position(d.event_id), d.payload["data"].get("sequence", 0)),
        )


async def deliver(database: Database, receiver: Receiver) -> list[Delivered]:
    async with network.new_client() as http:
        await delivery.process_once(database, http)
    return [Delivered(request.headers, request.body) for request in receiver.requests]


async def make_history(
    api: httpx.AsyncClient, database: Database, tenant: Tenant, receiver: Receiver
) -> tuple[History, str]:
    """Several vouchers through the API: uploaded, generated, published (also from an
    auto-update pool), claimed on a landing page and by referral, opened, clicked, bounced,
    redeemed through both checkout stores, rolled back and redeemed again. Returns the history
    and the endpoint's secret."""
    campaign = await make_campaign(database, tenant, name="Summer Sale", uses_per_voucher=3)
    async with unit_of_work(database) as session:
        row = await session.get(Campaign, campaign.id)
        assert row is not None
        row.landing_slug = "summer"
    auto = await api.post(
        "/api/campaigns",
        json={"name": "Auto", "discount_type": "percentage", "discount_value": 10, "auto_update": True},
        headers=tenant.headers,
    )
    _, secret = await make_endpoint(database, tenant, receiver.url)
    history = History(database)
    key = tenant.headers

    def redeem(code: str, order: str, *, keyed: bool = False) -> Awaitable[httpx.Response]:
        # With an Idempotency-Key the PostgreSQL checkout runs in a session's transaction, without
        # one on a connection of the checkout's pool (PostgresStore both times).
        headers = {**key, "Idempotency-Key": f"key-{order}"} if keyed else key
        body = {"code": code, "transaction_amount": "20.00", "order_reference": order}
        return api.post("/api/webhook/redemption", json=body, headers=headers)

    def rollback(code: str, order: str) -> Awaitable[httpx.Response]:
        body = {"code": code, "order_reference": order, "reason": "refunded"}
        return api.post("/api/webhook/redemption/rollback", json=body, headers=key)

    def track(signal: str, recipient_id: str) -> Awaitable[httpx.Response]:
        return api.post(f"/api/integrations/tracking/email-{signal}?recipient_id={recipient_id}", headers=key)

    def claim(email: str, **more: str) -> Awaitable[httpx.Response]:
        return api.post("/c/summer", data={"name": "A Friend", "email": email, "consent": "yes", **more})

    uploaded = await history.step(
        api.post(
            f"/api/integrations/campaigns/{campaign.id}/recipients",
            json={"recipients": [{"email": "ann@example.com"}, {"email": "bob@example.com"}]},
            headers=key,
        ),
        201,
    )
    ann, bob = uploaded.json()["recipients"]
    [gen1, gen2] = await make_codes(database, tenant, campaign, 2)
    customer = (await api.post("/api/customers", json={"email": "cat@example.com"}, headers=key)).json()
    await history.step(track("opened", ann["recipient_id"]))
    await history.step(redeem(ann["voucher_code"], "o1"), 201)
    await history.step(
        api.post("/api/publications", json={"voucher": gen1, "customer": customer["id"]}, headers=key), 201
    )
    await history.step(track("clicked", ann["recipient_id"]))
    await history.step(rollback(ann["voucher_code"], "o1"))
    await history.step(redeem(gen1, "o2", keyed=True), 201)
    await history.step(redeem(ann["voucher_code"], "o3"), 201)
    await history.step(track("bounced", bob["recipient_id"]))
    dee = (await history.step(claim("dee@example.com"), 303)).headers["location"].removeprefix("/redeem/")
    async with unit_of_work(database, write=False) as session:
        dee_id = await session.scalar(select(Voucher.id).where(Voucher.code == dee))
    await history.step(claim("eve@example.com", ref=str(dee_id)), 303)
    await history.step(redeem(dee, "o4"), 201)
    async with unit_of_work(database, write=False) as session:
        o2 = await session.scalar(select(Redemption.id).where(Redemption.order_reference == "o2"))
    await history.step(api.post(f"/api/redemptions/{o2}/rollback", json={"reason": "refunded"}, headers=key))
    await history.step(redeem(gen1, "o5"), 201)
    await history.step(redeem(gen2, "o6", keyed=True), 201)
    await history.step(redeem(gen2, "o7"), 201)
    await history.step(
        api.post(
            "/api/publications",
            json={
                "campaign": {"id": auto.json()["id"], "count": 2},
                "customer": {"email": "fay@example.com"},
            },
            headers=key,
        ),
        201,
    )
    await history.step(redeem(ann["voucher_code"], "o8", keyed=True), 201)
    await history.step(rollback(ann["voucher_code"], "o8"))
    return history, secret


def by_voucher(deliveries: list[Delivered]) -> dict[str, list[dict[str, Any]]]:
    """Each voucher's events, in the order given."""
    result: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in deliveries:
        payload = item.payload
        if "voucher_id" in payload["data"]:
            result[payload["data"]["voucher_id"]].append(payload)
    return result


def shuffled_with_duplicates(deliveries: list[Delivered], seed: int) -> list[Delivered]:
    """Any order, and a quarter of the deliveries arriving twice (at least once delivery)."""
    chooser = random.Random(seed)
    arriving = [*deliveries, *chooser.sample(deliveries, len(deliveries) // 4)]
    chooser.shuffle(arriving)
    return arriving


def consume(secret: str, deliveries: list[Delivered], **options: Any) -> Consumer:
    consumer = Consumer(secret, **options)
    for item in deliveries:
        assert consumer.receive(item.headers, item.body) == 200
    return consumer


@pytest.fixture
async def history_and_deliveries(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> AsyncIterator[tuple[History, str, list[Delivered]]]:
    with running_receiver() as receiver:
        history, secret = await make_history(api, database, tenant, receiver)
        yield history, secret, await deliver(database, receiver)


async def test_events_about_a_voucher_are_numbered_1_to_n_in_commit_order(
    database: Database, history_and_deliveries: tuple[History, str, list[Delivered]]
) -> None:
    history, _, deliveries = history_and_deliveries
    # every event was delivered once, with the documented top level and created_at in data
    assert sorted(d.event_id for d in deliveries) == sorted(history.known)
    for item in deliveries:
        payload = item.payload
        assert list(payload) == ["event", "timestamp", "data"]
        created_at = payload["data"]["created_at"]
        assert MICROSECONDS.match(created_at), created_at
        assert created_at.startswith(payload["timestamp"].removesuffix("Z") + ".")
    # events about no single voucher carry no number
    [batch] = [d.payload for d in deliveries if d.payload["event"] == "voucher.batch_created"]
    assert "sequence" not in batch["data"]
    assert "voucher_id" not in batch["data"]
    # each voucher's events, in commit order, are numbered 1..n without a gap
    vouchers = by_voucher(history.in_commit_order(deliveries))
    assert len(vouchers) == 8
    assert all("sequence" in payload["data"] for items in vouchers.values() for payload in items)
    for items in vouchers.values():
        assert [p["data"]["sequence"] for p in items] == list(range(1, len(items) + 1))
    # and the numbers follow the order of the changes, inside a transaction too
    lifecycles = sorted([payload["event"] for payload in items] for items in vouchers.values())
    assert lifecycles == sorted(
        [
            # ann: uploaded, opened, redeemed, clicked, rolled back, redeemed twice, rolled back
            [
                "voucher.created",
                "email.opened",
                "voucher.redeemed",
                "email.clicked",
                "redemption.rolled_back",
                "voucher.redeemed",
                "voucher.redeemed",
                "redemption.rolled_back",
            ],
            ["voucher.created", "email.bounced"],  # bob
            # gen1: bulk-made (no event of its own), published, redeemed, rolled back, redeemed
            ["voucher.published", "voucher.redeemed", "redemption.rolled_back", "voucher.redeemed"],
            ["voucher.redeemed", "voucher.redeemed"],  # gen2
            ["voucher.created", "lead.captured", "voucher.redeemed"],  # dee, claimed on the page
            ["voucher.created", "lead.captured", "referral.converted"],  # eve, through dee's link
            ["voucher.created", "voucher.published"],  # two codes an auto-update publish made
            ["voucher.created", "voucher.published"],
        ]
    )
    # the vouchers' counters stand at their last number
    async with unit_of_work(database, write=False) as session:
        counters = {row.id: row.event_sequence for row in await session.scalars(select(Voucher))}
    assert {str(k): v for k, v in counters.items() if v} == {k: len(v) for k, v in vouchers.items()}


async def test_the_sample_consumer_gets_the_same_state_from_any_order(
    database: Database, history_and_deliveries: tuple[History, str, list[Delivered]]
) -> None:
    history, secret, deliveries = history_and_deliveries
    # given the state the consumer builds from the deliveries in commit order
    in_order = consume(secret, history.in_commit_order(deliveries))
    assert in_order.held == {}
    async with unit_of_work(database, write=False) as session:
        used = {row.id: row.redeemed_count for row in await session.scalars(select(Voucher))}
        live = (
            await session.execute(
                select(Redemption.voucher_id, Redemption.id)
                .where(Redemption.rolled_back_at.is_(None))
                .order_by(Redemption.created_at)
            )
        ).all()
    assert {v: s.uses for v, s in in_order.vouchers.items()} == {
        str(k): n for k, n in used.items() if str(k) in in_order.vouchers
    }
    live_by_voucher: dict[str, tuple[str, ...]] = defaultdict(tuple)
    for voucher_id, redemption_id in live:
        live_by_voucher[str(voucher_id)] += (str(redemption_id),)
    assert {v: s.redemptions for v, s in in_order.vouchers.items() if s.redemptions} == live_by_voucher
    states = {state.code: state for state in in_order.vouchers.values()}
    ann = next(s for s in states.values() if s.sequence == 8)
    assert (ann.email, ann.last_event, ann.uses) == ("clicked", "redemption.rolled_back", 1)
    assert sorted(s.email for s in states.values() if s.email) == ["bounced", "clicked"]
    assert sum(s.referred for s in states.values()) == 1
    # when the same deliveries arrive shuffled, a quarter of them twice
    wrong_without_the_rule = 0
    for seed in SEEDS:
        arriving = shuffled_with_duplicates(deliveries, seed)
        consumer = consume(secret, arriving)
        # then the state is the same, nothing is left waiting, and each event counted once
        assert consumer.vouchers == in_order.vouchers, f"seed {seed}"
        assert consumer.held == {}
        assert consumer.other_events == in_order.other_events
        assert len(consumer.seen) == len(deliveries)
        # while applying them as they come (no sequence rule) gives another state
        naive = Consumer(secret)
        for item in dict((d.event_id, d) for d in arriving).values():
            payload = item.payload
            naive.handle(payload["event"], {k: v for k, v in payload["data"].items() if k != "sequence"})
        wrong_without_the_rule += naive.vouchers != in_order.vouchers
    assert wrong_without_the_rule == len(SEEDS)


# --- concurrent changes of one voucher ----------------------------------------------------------


class Watcher:
    """Reads one voucher's numbered events again and again while changes commit. When numbers
    follow commit order, every read sees 1..k without a hole: a receiver that waits for a gap
    waits only for an event that is already committed."""

    def __init__(self, database: Database, voucher_id: uuid.UUID) -> None:
        self.database = database
        self.voucher_id = str(voucher_id)
        self.reads = 0
        self.partial = 0  # reads that saw some of the concurrent changes, not all
        self.holes: list[list[int]] = []

    async def numbers(self) -> list[int]:
        async with unit_of_work(self.database, write=False) as session:
            rows = await session.scalars(
                select(Event.data).where(Event.data["voucher_id"].as_string() == self.voucher_id)
            )
            return sorted(int(data["sequence"]) for data in rows.all())

    async def run(self, stop: asyncio.Event, before: int, after: int) -> None:
        while not stop.is_set():
            numbers = await self.numbers()
            self.reads += 1
            self.partial += before < len(numbers) < after
            if numbers != list(range(1, len(numbers) + 1)):
                self.holes.append(numbers)
            await asyncio.sleep(0.001)


@pytest.fixture
async def wide_api(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(embedded_worker=False), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test", timeout=60) as client:
        yield client


async def race(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, code: str, voucher_id: uuid.UUID, tag: str
) -> Watcher:
    """30 redemptions (a third through the session store) and 10 rollbacks of earlier ones at
    once, on 40 connections, with a watcher reading the voucher's events meanwhile."""
    key = tenant.headers
    before = len(await Watcher(database, voucher_id).numbers())
    redemptions = [
        client.post(
            "/api/webhook/redemption",
            json={"code": code, "transaction_amount": "20.00", "order_reference": f"{tag}-{i}"},
            headers={**key, "Idempotency-Key": f"{tag}-{i}"} if i % 3 == 0 else key,
        )
        for i in range(30)
    ]
    rollbacks = [
        client.post(
            "/api/webhook/redemption/rollback",
            json={"code": code, "order_reference": f"old-{i}", "reason": "refunded"},
            headers=key,
        )
        for i in range(10)
    ]
    watcher = Watcher(database, voucher_id)
    stop = asyncio.Event()
    watching = asyncio.create_task(watcher.run(stop, before, before + 40))
    try:
        responses = await asyncio.gather(*redemptions, *rollbacks)
    finally:
        stop.set()
        await watching
    assert [r.status_code for r in responses] == [201] * 30 + [200] * 10, [r.text for r in responses[:3]]
    return watcher


async def old_redemptions(client: httpx.AsyncClient, tenant: Tenant, code: str) -> None:
    for i in range(10):
        response = await client.post(
            "/api/webhook/redemption",
            json={"code": code, "transaction_amount": "20.00", "order_reference": f"old-{i}"},
            headers=tenant.headers,
        )
        assert response.status_code == 201


@pytest.mark.concurrency
async def test_concurrent_changes_of_one_voucher_are_numbered_in_commit_order(
    wide_api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    # given a multi-use code redeemed 10 times
    campaign = await make_campaign(database, tenant, uses_per_voucher=100)
    [code] = await make_codes(database, tenant, campaign)
    async with unit_of_work(database, write=False) as session:
        voucher_id = await session.scalar(select(Voucher.id).where(Voucher.code == code))
    assert voucher_id is not None
    with running_receiver() as receiver:
        _, secret = await make_endpoint(database, tenant, receiver.url, events=["*"])
        await old_redemptions(wide_api, tenant, code)
        # when 30 more redemptions and 10 rollbacks of the old ones run at once
        watcher = await race(wide_api, database, tenant, code, voucher_id, "new")
        deliveries = await deliver(database, receiver)
    # then no read ever saw a later number without the earlier ones (and reads did overlap)
    assert watcher.holes == []
    assert watcher.partial >= 1
    # the 50 events are numbered 1..50
    numbered = sorted(d.payload["data"]["sequence"] for d in deliveries if "sequence" in d.payload["data"])
    assert numbered == list(range(1, 51))
    async with unit_of_work(database, write=False) as session:
        used, counter = (
            await session.execute(
                select(Voucher.redeemed_count, Voucher.event_sequence).where(Voucher.id == voucher_id)
            )
        ).one()
        live = set(
            (
                await session.scalars(
                    select(Redemption.id).where(
                        Redemption.voucher_id == voucher_id, Redemption.rolled_back_at.is_(None)
                    )
                )
            ).all()
        )
    assert (used, counter) == (30, 50)
    # and the sample consumer, from any order, ends where the database is
    for seed in SEEDS:
        consumer = consume(secret, shuffled_with_duplicates(deliveries, seed))
        state = consumer.vouchers[str(voucher_id)]
        assert (state.uses, state.sequence, consumer.held) == (30, 50, {})
        assert set(state.redemptions) == {str(r) for r in live}


@pytest.mark.concurrency
async def test_the_watcher_catches_numbers_taken_apart_from_the_change(
    wide_api: httpx.AsyncClient, database: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Take the number in a statement of its own, before the redemption commits: numbers then
    stop following commit order, and the reads above see holes."""
    if not database.is_postgres:
        pytest.skip("SQLite runs one writer at a time: its commits cannot overtake each other")

    async def numbered_apart(  # type: ignore[no-untyped-def]
        self,
        redemption: dict[str, Any],
        event: dict[str, Any],
        *,
        limit: int,
        customer_limit: int | None = None,
    ):
        r = redemption
        number = await self.connection.fetchval(
            "UPDATE vouchers SET event_sequence = event_sequence + 1 WHERE id = $1 RETURNING event_sequence",
            r["voucher_id"],
        )
        await asyncio.sleep(random.uniform(0, 0.05))
        async with self.connection.transaction():
            await self.connection.execute(
                "UPDATE vouchers SET redeemed_count = redeemed_count + 1 WHERE id = $1", r["voucher_id"]
            )
            await self.connection.execute(
                "INSERT INTO redemptions (id, client_id, campaign_id, voucher_id, code, order_reference,"
                " currency, transaction_amount, discount_applied, channel, redeemed_at, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                *(r[name] for name in ("id", "client_id", "campaign_id", "voucher_id", "code")),
                *(r[name] for name in ("order_reference", "currency", "transaction_amount")),
                *(r[name] for name in ("discount_applied", "channel", "redeemed_at", "created_at")),
            )
            await self.connection.execute(
                "INSERT INTO events (id, client_id, type, data, created_at)"
                " VALUES ($1, $2, $3, $4::jsonb, $5)",
                event["id"],
                r["client_id"],
                event["type"],
                orjson.dumps({**event["data"], "sequence": number}).decode(),
                r["created_at"],
            )
        return repository.Outcome.REDEEMED

    campaign = await make_campaign(database, tenant, uses_per_voucher=1000)
    [code] = await make_codes(database, tenant, campaign)
    async with unit_of_work(database, write=False) as session:
        voucher_id = await session.scalar(select(Voucher.id).where(Voucher.code == code))
    assert voucher_id is not None
    await old_redemptions(wide_api, tenant, code)
    monkeypatch.setattr(repository.PostgresStore, "redeem", numbered_apart)
    caught = 0
    for run in range(3):
        watcher = await race(wide_api, database, tenant, code, voucher_id, f"run{run}")
        caught += bool(watcher.holes)
        if caught:
            break  # (a later run's rollbacks find theirs done: they answer 200 and write nothing)
    assert caught
