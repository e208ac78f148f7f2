"""What an operator watches, in Prometheus terms (prometheus-client): the counters and histograms
each process keeps as it works, and the figures read from the database when ``/metrics`` is
scraped (queue depth and age, webhook backlog, the connection pools).

With several server processes (``voucherd serve --workers N``) prometheus-client's multiprocess
mode is on (``PROMETHEUS_MULTIPROC_DIR``, set by the CLI before any process starts): each process
writes its samples to a file there and a scrape sums them, so any process answers for all."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from voucherd.core import clock

if TYPE_CHECKING:
    from voucherd.db import Database

# Buckets from a fast validation (under a millisecond) to a slow upload.
_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Histogram(
    "voucherd_http_request_duration_seconds",
    "Requests by dialect, route template, method and status, with their duration.",
    ["dialect", "route", "method", "status"],
    buckets=_SECONDS,
)
CHECKOUT = Counter(
    "voucherd_checkout_total",
    "Validations and redemptions by outcome (ok, or the refusal's code).",
    ["action", "outcome"],
)
WEBHOOK_ATTEMPTS = Counter(
    "voucherd_webhook_attempts_total",
    "Webhook delivery attempts by outcome (succeeded, failed, retry) and attempt number.",
    ["outcome", "attempt"],
)
WEBHOOK_LAG = Histogram(
    "voucherd_webhook_delivery_lag_seconds",
    "From the event's commit to its delivery's success.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 7200.0, 86400.0),
)


_checkout_series: dict[tuple[str, str], Any] = {}  # bounded: outcomes are our error codes


def checkout(action: str, outcome: str) -> None:
    """One validation or redemption (each series' child looked up once: ``labels()`` costs
    some 3 us, on the checkout's path)."""
    series = _checkout_series.get((action, outcome))
    if series is None:
        series = _checkout_series[(action, outcome)] = CHECKOUT.labels(action, outcome)
    series.inc()


def webhook_attempt(*, succeeded: bool, final: bool, attempt: int, event_id: uuid.UUID) -> None:
    outcome = "succeeded" if succeeded else ("failed" if final else "retry")
    WEBHOOK_ATTEMPTS.labels(outcome, str(attempt)).inc()
    if succeeded:
        # Event ids are UUIDv7: their first 48 bits are the creation time in milliseconds, taken
        # in the transaction that wrote the event.
        WEBHOOK_LAG.observe(max(time.time() - (event_id.int >> 80) / 1000, 0.0))


class Snapshot:
    """Figures read once per scrape (``GaugeMetricFamily`` values), served beside the counters."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def gauge(
        self, name: str, documentation: str, labels: list[str], values: Iterable[tuple[list[str], float]]
    ) -> None:
        family = GaugeMetricFamily(name, documentation, labels=labels)
        for label_values, value in values:
            family.add_metric(label_values, value)
        self.families.append(family)

    def collect(self) -> list[Metric]:
        return self.families


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def exposition(snapshot: Snapshot) -> bytes:
    """The text format of every process's samples (or this one's) and the scrape's figures."""
    registry: Any
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_single(snapshot))


def _single(snapshot: Snapshot) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(snapshot)  # type: ignore[arg-type]
    return registry


async def snapshot(database: Database) -> Snapshot:
    """The figures of the whole installation, read now: jobs waiting or running (and the oldest
    one's age), webhook deliveries not yet done (and the oldest), this process's pool use."""
    from sqlalchemy import func, select

    from voucherd.db import unit_of_work
    from voucherd.models import Job, WebhookDelivery

    found = Snapshot()
    now = clock.now()
    async with unit_of_work(database, write=False) as session:
        jobs = (
            await session.execute(
                select(Job.kind, Job.status, func.count(), func.min(Job.created_at))
                .where(Job.status.in_(("queued", "running")))
                .group_by(Job.kind, Job.status)
            )
        ).all()
        deliveries = (
            await session.execute(
                select(WebhookDelivery.status, func.count(), func.min(WebhookDelivery.created_at))
                .where(WebhookDelivery.status.in_(("pending", "sending")))
                .group_by(WebhookDelivery.status)
            )
        ).all()
    found.gauge(
        "voucherd_jobs",
        "Background jobs queued or running.",
        ["kind", "status"],
        (([kind, status], count) for kind, status, count, _ in jobs),
    )
    found.gauge(
        "voucherd_jobs_oldest_age_seconds",
        "Age of the oldest job queued or running.",
        ["kind", "status"],
        (([kind, status], _age(now, oldest)) for kind, status, _, oldest in jobs),
    )
    found.gauge(
        "voucherd_webhook_deliveries_pending",
        "Webhook deliveries not yet done.",
        ["status"],
        (([status], count) for status, count, _ in deliveries),
    )
    found.gauge(
        "voucherd_webhook_deliveries_oldest_age_seconds",
        "Age of the oldest webhook delivery not yet done.",
        ["status"],
        (([status], _age(now, oldest)) for status, _, oldest in deliveries),
    )
    pool: Any = database.engine.pool
    found.gauge(
        "voucherd_db_pool_connections",
        "This process's database connections by pool and state.",
        ["pool", "state"],
        _pools(pool, database),
    )
    return found


def _age(now: datetime, then: datetime | None) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max((now - then).total_seconds(), 0.0)


def _pools(pool: Any, database: Database) -> list[tuple[list[str], float]]:
    values: list[tuple[list[str], float]] = []
    if hasattr(pool, "checkedout"):
        values += [(["sqlalchemy", "in_use"], pool.checkedout()), (["sqlalchemy", "idle"], pool.checkedin())]
    driver = database.driver_pool
    if driver is not None:
        size, idle = driver.get_size(), driver.get_idle_size()
        values += [(["checkout", "in_use"], size - idle), (["checkout", "idle"], idle)]
    return values
