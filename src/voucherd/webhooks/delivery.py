"""From outbox events to signed deliveries, and the delivery worker.

Fan-out is exactly once: one transaction takes undispatched events (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, the write lock on SQLite), inserts one delivery per subscribed endpoint (unique per
endpoint and event) and marks the events dispatched. A dispatcher killed mid-way rolls back and
the next one does the same work again.

Delivery is at least once: a delivery is claimed with a lease and its attempt counter bumped,
sent outside any transaction, and its outcome recorded ``WHERE attempts = <our attempt>`` (the
fencing token). A worker killed mid-send leaves the claim to expire; the next worker sends again
with the same event id (``webhook-id``) and body, a new timestamp and signature. An outcome
arriving after the lease was taken over is dropped, so the log never has two rows per attempt."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
import structlog
from sqlalchemy import ColumnElement, Table, and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd import metrics
from voucherd.config import Settings, get_settings
from voucherd.core import clock
from voucherd.core.ids import new_id
from voucherd.db import Database, unit_of_work
from voucherd.events import service as events
from voucherd.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from voucherd.webhooks import network, payloads, rules
from voucherd.webhooks.service import ALL_EVENTS, signing_secrets

log = structlog.get_logger(__name__)
_events = cast(Table, Event.__table__)
_deliveries = cast(Table, WebhookDelivery.__table__)
_endpoints = cast(Table, WebhookEndpoint.__table__)
_attempts = cast(Table, WebhookAttempt.__table__)

DISPATCH_BATCH = 500
BATCH_WAIT = 0.005


# --- fan-out ----------------------------------------------------------------------------------


def _subscribes(endpoint_events: list[str], event_type: str) -> bool:
    return ALL_EVENTS in endpoint_events or event_type in endpoint_events


async def dispatch_once(database: Database, *, batch: int = DISPATCH_BATCH) -> int:
    """Fan out up to ``batch`` new events to deliveries; the number of events handled."""
    now = clock.now()
    # A read first: an idle worker never takes SQLite's write lock (nor a PostgreSQL row lock).
    async with unit_of_work(database, write=False) as session:
        waiting = await session.scalar(select(_events.c.id).where(_events.c.dispatched_at.is_(None)).limit(1))
    if waiting is None:
        return 0
    async with unit_of_work(database) as session:
        rows = (
            await session.execute(
                select(
                    _events.c.id, _events.c.client_id, _events.c.type, _events.c.data, _events.c.created_at
                )
                .where(_events.c.dispatched_at.is_(None))
                .order_by(_events.c.created_at, _events.c.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            return 0
        client_ids = {row.client_id for row in rows}
        endpoints = (
            await session.execute(
                select(
                    _endpoints.c.id, _endpoints.c.client_id, _endpoints.c.events, _endpoints.c.payload_format
                ).where(_endpoints.c.client_id.in_(client_ids), _endpoints.c.enabled.is_(True))
            )
        ).all()
        by_client: dict[uuid.UUID, list[Any]] = {}
        for endpoint in endpoints:
            by_client.setdefault(endpoint.client_id, []).append(endpoint)
        values: list[dict[str, Any]] = []
        for row in rows:
            targets = [e for e in by_client.get(row.client_id, ()) if _subscribes(e.events, row.type)]
            if not targets:
                continue
            bodies: dict[str, str] = {}  # each format rendered once per event
            for endpoint in targets:
                body = bodies.get(endpoint.payload_format)
                if body is None:
                    body = bodies[endpoint.payload_format] = payloads.render(
                        row.type, row.created_at, row.data, endpoint.payload_format
                    )
                values.append(
                    {
                        "id": new_id(),
                        "client_id": row.client_id,
                        "endpoint_id": endpoint.id,
                        "event_id": row.id,
                        "event_type": row.type,
                        "body": body,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
        if values:
            await session.execute(_insert_ignoring_duplicates(session), values)
        await session.execute(
            update(_events).where(_events.c.id.in_([row.id for row in rows])).values(dispatched_at=now)
        )
    return len(rows)


def _insert_ignoring_duplicates(session: AsyncSession) -> Any:
    # The unique (endpoint, event) key makes a repeated fan-out a no-op.
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(_deliveries).on_conflict_do_nothing(
            index_elements=["endpoint_id", "event_id"]
        )
    return sqlite.insert(_deliveries).on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])


# --- claim, send, record ----------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    body: str
    attempt: int
    url: str
    secrets: list[str]


async def claim(database: Database, *, limit: int, settings: Settings | None = None) -> list[Claimed]:
    """Take up to ``limit`` due deliveries of enabled endpoints (or ones whose lease ran out)."""
    async with unit_of_work(database) as session:
        return await _claim_in(session, limit, settings or get_settings())


async def _anything_due(database: Database) -> bool:
    now = clock.now()
    async with unit_of_work(database, write=False) as session:
        found = await session.scalar(
            select(_deliveries.c.id)
            .where(
                or_(
                    and_(_deliveries.c.status == "pending", _deliveries.c.next_attempt_at <= now),
                    and_(_deliveries.c.status == "sending", _deliveries.c.lease_until < now),
                )
            )
            .limit(1)
        )
    return found is not None


async def _claim_in(session: AsyncSession, limit: int, settings: Settings) -> list[Claimed]:
    now = clock.now()
    lease_until = now + timedelta(seconds=settings.webhook_lease_seconds)
    due = (
        select(_deliveries.c.id)
        .join(_endpoints, _endpoints.c.id == _deliveries.c.endpoint_id)
        .where(
            _endpoints.c.enabled.is_(True),
            or_(
                and_(_deliveries.c.status == "pending", _deliveries.c.next_attempt_at <= now),
                and_(_deliveries.c.status == "sending", _deliveries.c.lease_until < now),
            ),
        )
        .order_by(_deliveries.c.next_attempt_at)
        .limit(limit)
        .with_for_update(of=_deliveries, skip_locked=True)
    )
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return []
    rows = (
        await session.execute(
            update(_deliveries)
            .where(_deliveries.c.id.in_(ids))
            .values(status="sending", attempts=_deliveries.c.attempts + 1, lease_until=lease_until)
            .returning(
                _deliveries.c.id,
                _deliveries.c.endpoint_id,
                _deliveries.c.event_id,
                _deliveries.c.event_type,
                _deliveries.c.body,
                _deliveries.c.attempts,
            )
        )
    ).all()
    endpoint_ids = {row.endpoint_id for row in rows}
    endpoints = {
        endpoint.id: endpoint
        for endpoint in (
            await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id.in_(endpoint_ids)))
        ).all()
    }
    return [
        Claimed(
            delivery_id=row.id,
            endpoint_id=row.endpoint_id,
            event_id=row.event_id,
            event_type=row.event_type,
            body=row.body,
            attempt=row.attempts,
            url=endpoints[row.endpoint_id].url,
            secrets=signing_secrets(endpoints[row.endpoint_id]),
        )
        for row in rows
    ]


def signed_headers(claimed: Claimed, *, timestamp: int) -> dict[str, str]:
    """Both signature schemes; ``webhook-id`` is the event id on every attempt."""
    body = claimed.body.encode("utf-8")
    message_id = str(claimed.event_id)
    return {
        "X-VoucherTrack-Signature": rules.vouchertrack_signature(claimed.secrets, body),
        "X-VoucherTrack-Event": claimed.event_type,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": rules.standard_signature(claimed.secrets, message_id, timestamp, body),
    }


async def send(client: httpx.AsyncClient, claimed: Claimed, settings: Settings) -> network.Outcome:
    timestamp = int(clock.now().timestamp())
    return await network.post(
        client,
        claimed.url,
        claimed.body.encode("utf-8"),
        signed_headers(claimed, timestamp=timestamp),
        timeout=settings.webhook_timeout_seconds,
        allowed=rules.allowed_networks(settings.webhook_allowed_cidrs),
    )


async def record(
    database: Database, claimed: Claimed, outcome: network.Outcome, settings: Settings | None = None
) -> bool:
    """Write one attempt's outcome; ``False`` when another worker had taken the delivery over."""
    return (await record_many(database, [(claimed, outcome)], settings))[0]


async def record_many(
    database: Database,
    results: list[tuple[Claimed, network.Outcome]],
    settings: Settings | None = None,
) -> list[bool]:
    """Write attempts' outcomes (log row, next attempt or final state, endpoint health) in one
    transaction, each fenced by its attempt number: an outcome whose delivery another worker
    took over is dropped (``False``)."""
    settings = settings or get_settings()
    async with unit_of_work(database) as session:
        written = await _record_all(session, results, settings)
    _count(results, written, settings)
    return written


async def record_and_claim(
    database: Database, results: list[tuple[Claimed, network.Outcome]], *, limit: int, settings: Settings
) -> list[Claimed]:
    """The worker's turn in one transaction: record finished sends, claim up to ``limit`` more."""
    if not results and not await _anything_due(database):
        return []
    async with unit_of_work(database) as session:
        written = await _record_all(session, results, settings)
        claimed = await _claim_in(session, limit, settings) if limit > 0 else []
    _count(results, written, settings)
    return claimed


def _count(results: list[tuple[Claimed, network.Outcome]], written: list[bool], settings: Settings) -> None:
    """The committed outcomes, for ``/metrics``."""
    for (claimed, outcome), done in zip(results, written, strict=True):
        if done:
            final = outcome.gone or next_delay(settings, claimed.attempt, outcome.retry_after) is None
            metrics.webhook_attempt(
                succeeded=outcome.succeeded, final=final, attempt=claimed.attempt, event_id=claimed.event_id
            )


async def _record_all(
    session: AsyncSession, results: list[tuple[Claimed, network.Outcome]], settings: Settings
) -> list[bool]:
    # Endpoint rows are locked in one order by every worker, so two batches cannot deadlock.
    order = sorted(range(len(results)), key=lambda index: str(results[index][0].endpoint_id))
    written = [False] * len(results)
    for index in order:
        claimed, outcome = results[index]
        written[index] = await _record_in(session, claimed, outcome, settings)
    return written


async def _record_in(
    session: AsyncSession, claimed: Claimed, outcome: network.Outcome, settings: Settings
) -> bool:
    now = clock.now()
    values: dict[str, Any] = {
        "lease_until": None,
        "last_response_code": outcome.response_code,
        "last_error": outcome.error,
    }
    if outcome.succeeded:
        values.update(status="succeeded", delivered_at=now)
    else:
        delay = None if outcome.gone else next_delay(settings, claimed.attempt, outcome.retry_after)
        if delay is None:
            values.update(status="failed")
        else:
            values.update(status="pending", next_attempt_at=now + timedelta(seconds=delay))
    fenced = await session.execute(
        update(_deliveries)
        .where(
            _deliveries.c.id == claimed.delivery_id,
            _deliveries.c.attempts == claimed.attempt,
            _deliveries.c.status == "sending",
        )
        .values(**values)
        .returning(_deliveries.c.client_id)
    )
    row = fenced.first()
    if row is None:
        return False
    await session.execute(
        insert(_attempts).values(
            id=new_id(),
            delivery_id=claimed.delivery_id,
            endpoint_id=claimed.endpoint_id,
            attempt=claimed.attempt,
            succeeded=outcome.succeeded,
            response_code=outcome.response_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
            created_at=now,
        )
    )
    await _endpoint_health(session, row.client_id, claimed, outcome, now, settings)
    return True


def next_delay(settings: Settings, attempt: int, retry_after: float | None) -> float | None:
    return rules.next_delay(settings.webhook_retry_schedule, attempt, retry_after=retry_after)


async def _endpoint_health(
    session: AsyncSession,
    client_id: uuid.UUID,
    claimed: Claimed,
    outcome: network.Outcome,
    now: datetime,
    settings: Settings,
) -> None:
    """A success resets the failure clock; 410 disables at once; failing for longer than
    ``webhook_disable_after_hours`` disables. Disabling writes exactly one notice event."""
    endpoint = _endpoints.c
    if outcome.succeeded:
        await session.execute(
            update(_endpoints)
            .where(endpoint.id == claimed.endpoint_id, endpoint.failing_since.is_not(None))
            .values(failing_since=None)
        )
        return
    await session.execute(
        update(_endpoints)
        .where(endpoint.id == claimed.endpoint_id, endpoint.failing_since.is_(None))
        .values(failing_since=now)
    )
    condition: ColumnElement[bool]
    if outcome.gone:
        reason = "The receiver answered 410 Gone."
        condition = endpoint.enabled.is_(True)
    else:
        hours = settings.webhook_disable_after_hours
        reason = f"Every delivery failed for {hours:g} hours."
        condition = and_(endpoint.enabled.is_(True), endpoint.failing_since <= now - timedelta(hours=hours))
    disabled = (
        await session.execute(
            update(_endpoints)
            .where(endpoint.id == claimed.endpoint_id, condition)
            .values(enabled=False, disabled_at=now, disabled_reason=reason, updated_at=now)
            .returning(endpoint.name, endpoint.url)
        )
    ).first()
    if disabled is not None:
        log.warning("webhook.endpoint_disabled", endpoint_id=str(claimed.endpoint_id), reason=reason)
        await events.record(
            session,
            client_id,
            events.WEBHOOK_ENDPOINT_DISABLED,
            {
                "webhook_id": str(claimed.endpoint_id),
                "name": disabled.name,
                "url": disabled.url,
                "reason": reason,
                "last_response_code": outcome.response_code,
                "last_error": outcome.error,
                "disabled_at": clock.isoformat_z(now),
            },
        )


async def deliver(
    database: Database, client: httpx.AsyncClient, claimed: Claimed, settings: Settings | None = None
) -> network.Outcome:
    settings = settings or get_settings()
    outcome = await send(client, claimed, settings)
    await record(database, claimed, outcome, settings)
    return outcome


async def process_once(database: Database, client: httpx.AsyncClient) -> int:
    """Fan out new events, then send every due delivery once (tests, CLI); deliveries sent."""
    settings = get_settings()
    while await dispatch_once(database):
        pass
    sent = 0
    while True:
        batch = await claim(database, limit=settings.webhook_concurrency, settings=settings)
        if not batch:
            return sent
        await asyncio.gather(*(deliver(database, client, item, settings) for item in batch))
        sent += len(batch)


# --- the loop ---------------------------------------------------------------------------------


async def run(database: Database, stop: asyncio.Event) -> None:
    """Fan out and deliver until told to stop: up to ``webhook_concurrency`` sends at a time;
    finished sends are recorded together, one transaction per turn of the loop."""
    settings = get_settings()
    running: set[asyncio.Task[Any]] = set()
    finished: list[tuple[Claimed, network.Outcome]] = []

    async def send_one(client: httpx.AsyncClient, claimed: Claimed) -> None:
        try:
            finished.append((claimed, await send(client, claimed, settings)))
        except Exception as error:  # the claim expires and another attempt follows the lease
            log.error("webhook.send_error", delivery_id=str(claimed.delivery_id), error=repr(error))

    async with network.new_client() as client:
        last_dispatch = -1.0e9
        backlog = False
        while not stop.is_set():
            busy = False
            try:
                # New events are looked for every poll interval (at once while a backlog lasts).
                if backlog or time.monotonic() - last_dispatch >= settings.webhook_poll_seconds:
                    last_dispatch = time.monotonic()
                    dispatched = await dispatch_once(database)
                    backlog = dispatched >= DISPATCH_BATCH
                    busy = dispatched > 0
                batch, finished[:] = list(finished), []
                free = settings.webhook_concurrency - len(running)
                if batch or free > 0:
                    for item in await record_and_claim(database, batch, limit=free, settings=settings):
                        task = asyncio.create_task(send_one(client, item))
                        running.add(task)
                        task.add_done_callback(running.discard)
                        busy = True
            except Exception as error:
                log.error("webhook.worker_error", error=repr(error))
            if len(running) >= settings.webhook_concurrency:
                await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                await asyncio.sleep(BATCH_WAIT)  # let a few more finish: one transaction records them
            elif not busy and not finished:
                await _idle(stop, running, settings.webhook_poll_seconds)
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        if finished:
            await record_many(database, finished, settings)


async def _idle(stop: asyncio.Event, running: set[asyncio.Task[Any]], seconds: float) -> None:
    """Wait for a send to finish, the stop signal, or the poll interval."""
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({stopping, *running}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not stopping.done():
            stopping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopping
