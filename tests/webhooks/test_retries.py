"""RELIABILITY W4 and W5 on a fake clock, with a real receiver on 127.0.0.1 (both databases)."""

from __future__ import annotations

import itertools

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.receiver import Answer, Received, running_receiver
from tests.webhooks.conftest import FakeClock, make_endpoint
from voucherd.config import get_settings
from voucherd.db import Database, unit_of_work
from voucherd.events import service as events
from voucherd.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from voucherd.webhooks import delivery

pytestmark = pytest.mark.usefixtures("loopback_allowed")


async def record_event(database: Database, tenant: Tenant, number: int = 1) -> None:
    async with unit_of_work(database) as session:
        await events.record(
            session,
            tenant.client_id,
            events.VOUCHER_REDEEMED,
            {"voucher_code": f"CODE-{number}", "currency": "GBP", "transaction_amount_minor": 4599},
        )


async def the_delivery(database: Database) -> WebhookDelivery:
    async with unit_of_work(database) as session:
        return (await session.scalars(select(WebhookDelivery))).one()


async def attempts_of(database: Database) -> list[WebhookAttempt]:
    async with unit_of_work(database) as session:
        return list((await session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempt))).all())


async def drive(
    database: Database, http: httpx.AsyncClient, fake_clock: FakeClock, *, steps: int = 1000
) -> int:
    """Run the worker, jumping the clock to each next attempt, until nothing is pending."""
    sent = 0
    for _ in range(steps):
        sent += await delivery.process_once(database, http)
        async with unit_of_work(database) as session:
            due = await session.scalar(
                select(func.min(WebhookDelivery.next_attempt_at))
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.status == "pending", WebhookEndpoint.enabled.is_(True))
            )
        if due is None:
            return sent
        fake_clock.set(max(due, fake_clock.at))
    raise AssertionError("deliveries still pending")


def configure(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"VOUCHERD_{name.upper()}", value)
    get_settings.cache_clear()


class TestSchedule:
    async def test_always_500_makes_exactly_the_scheduled_attempts(
        self,
        database: Database,
        tenant: Tenant,
        http: httpx.AsyncClient,
        fake_clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # given a receiver that always fails, and the default multi-day schedule
        configure(monkeypatch, webhook_disable_after_hours="10000")
        schedule = get_settings().webhook_retry_schedule
        with running_receiver(lambda _r, _n: Answer(500)) as receiver:
            await make_endpoint(database, tenant, receiver.url)
            await record_event(database, tenant)
            # when the worker runs through the days
            await drive(database, http, fake_clock)
        # then 1 + len(schedule) attempts, each gap the schedule's within 10%, then given up
        attempts = await attempts_of(database)
        assert len(receiver.requests) == len(attempts) == len(schedule) + 1
        gaps = [(b.created_at - a.created_at).total_seconds() for a, b in itertools.pairwise(attempts)]
        for gap, planned in zip(gaps, schedule, strict=True):
            assert planned * 0.9 <= gap <= planned * 1.1
        assert (await the_delivery(database)).status == "failed"
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
        assert len({r.headers["webhook-signature"] for r in receiver.requests}) == len(attempts)

    async def test_success_at_attempt_k_stops_after_k_requests(
        self, database: Database, tenant: Tenant, http: httpx.AsyncClient, fake_clock: FakeClock
    ) -> None:
        with running_receiver(lambda _r, n: Answer(200 if n == 3 else 503)) as receiver:
            await make_endpoint(database, tenant, receiver.url)
            await record_event(database, tenant)
            await drive(database, http, fake_clock)
        assert len(receiver.requests) == 3
        stored = await the_delivery(database)
        assert (stored.status, stored.attempts, stored.last_response_code) == ("succeeded", 3, 200)
        assert [(a.succeeded, a.response_code) for a in await attempts_of(database)] == [
            (False, 503),
            (False, 503),
            (True, 200),
        ]

    async def test_410_disables_the_endpoint_after_one_attempt_with_one_notice(
        self, database: Database, tenant: Tenant, http: httpx.AsyncClient, fake_clock: FakeClock
    ) -> None:
        with running_receiver(lambda _r, _n: Answer(410)) as receiver:
            endpoint, _ = await make_endpoint(database, tenant, receiver.url, events=["voucher.redeemed"])
            await record_event(database, tenant, 1)
            await drive(database, http, fake_clock)
            await record_event(database, tenant, 2)  # a later event is not fanned out to it
            fake_clock.advance(86400)
            await drive(database, http, fake_clock)
        assert len(receiver.requests) == 1
        async with unit_of_work(database) as session:
            stored = await session.get(WebhookEndpoint, endpoint.id)
            assert stored is not None
            assert stored.enabled is False
            assert stored.disabled_reason == "The receiver answered 410 Gone."
            notices = await session.scalar(
                select(func.count()).select_from(Event).where(Event.type == events.WEBHOOK_ENDPOINT_DISABLED)
            )
        assert notices == 1

    async def test_a_redirect_is_a_failure_and_is_not_followed(
        self, database: Database, tenant: Tenant, http: httpx.AsyncClient, fake_clock: FakeClock
    ) -> None:
        with running_receiver() as internal:
            redirect = Answer(302, headers={"Location": internal.url})
            with running_receiver(lambda _r, n: redirect if n == 1 else Answer(200)) as receiver:
                await make_endpoint(database, tenant, receiver.url)
                await record_event(database, tenant)
                await delivery.process_once(database, http)
        assert internal.requests == []
        assert len(receiver.requests) == 1
        stored = await the_delivery(database)
        assert (stored.status, stored.last_response_code) == ("pending", 302)
        assert stored.last_error == "HTTP 302 (redirects are not followed)"

    async def test_retry_after_is_honoured(
        self, database: Database, tenant: Tenant, http: httpx.AsyncClient, fake_clock: FakeClock
    ) -> None:
        with running_receiver(lambda _r, _n: Answer(429, headers={"Retry-After": "120"})) as receiver:
            await make_endpoint(database, tenant, receiver.url)
            await record_event(database, tenant)
            await delivery.process_once(database, http)
        stored = await the_delivery(database)
        assert len(receiver.requests) == 1
        assert (stored.next_attempt_at - fake_clock.at).total_seconds() >= 120

    async def test_a_hung_receiver_is_cut_at_the_timeout(
        self,
        database: Database,
        tenant: Tenant,
        http: httpx.AsyncClient,
        fake_clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        configure(monkeypatch, webhook_timeout_seconds="0.5")
        with running_receiver(lambda _r, _n: Answer(200, delay=2.0)) as receiver:
            await make_endpoint(database, tenant, receiver.url)
            await record_event(database, tenant)
            await delivery.process_once(database, http)
        [attempt] = await attempts_of(database)
        assert len(receiver.requests) == 1
        assert attempt.succeeded is False
        assert attempt.error == "timed out after 0.5 s"
        assert attempt.duration_ms >= 500
        assert (await the_delivery(database)).status == "pending"


class TestDisableAfterDays:
    async def test_five_days_of_failures_disable_with_exactly_one_notice(
        self,
        database: Database,
        tenant: Tenant,
        http: httpx.AsyncClient,
        fake_clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # given retries every 4 hours and a receiver that always fails
        configure(monkeypatch, webhook_retry_schedule=str([4 * 3600.0] * 100))
        with running_receiver(lambda _r, _n: Answer(500)) as receiver:
            endpoint, _ = await make_endpoint(database, tenant, receiver.url)
            await record_event(database, tenant)
            start = fake_clock.at
            await drive(database, http, fake_clock)
        async with unit_of_work(database) as session:
            stored = await session.get(WebhookEndpoint, endpoint.id)
            assert stored is not None
            assert stored.disabled_at is not None
            notices = await session.scalar(
                select(func.count()).select_from(Event).where(Event.type == events.WEBHOOK_ENDPOINT_DISABLED)
            )
        # then it was disabled once 120 hours of failures had passed, with one notice
        assert stored.enabled is False
        assert (stored.disabled_at - start).total_seconds() >= 120 * 3600
        assert (stored.disabled_at - start).total_seconds() < 125 * 3600
        assert notices == 1
        assert (await the_delivery(database)).status == "pending"  # kept for when it is enabled again

    async def test_one_success_resets_the_clock(
        self,
        database: Database,
        tenant: Tenant,
        http: httpx.AsyncClient,
        fake_clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # given retries every 4 hours; the receiver fails, except once about 100 hours in
        configure(monkeypatch, webhook_retry_schedule=str([4 * 3600.0] * 100))
        start = fake_clock.at
        successes: list[int] = []

        def behaviour(_request: Received, count: int) -> Answer:
            hours = (fake_clock.at - start).total_seconds() / 3600
            if hours >= 100 and not successes:
                successes.append(count)
                return Answer(200)
            return Answer(500)

        with running_receiver(behaviour) as receiver:
            endpoint, _ = await make_endpoint(database, tenant, receiver.url)
            await record_event(database, tenant, 1)
            for _step in range(100):
                had_success = bool(successes)
                await delivery.process_once(database, http)
                if successes and not had_success:
                    await record_event(database, tenant, 2)  # and the failures go on
                fake_clock.advance(3 * 3600)
        async with unit_of_work(database) as session:
            stored = await session.get(WebhookEndpoint, endpoint.id)
            assert stored is not None
            assert stored.disabled_at is not None
        # then it was disabled 120 hours after the success, not 120 hours after the start
        assert len(successes) == 1
        assert stored.enabled is False
        hours = (stored.disabled_at - start).total_seconds() / 3600
        assert 220 <= hours <= 235
        assert len(receiver.requests) < 100
