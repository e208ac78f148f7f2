from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import Tenant
from voucherd.config import get_settings
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.models import WebhookEndpoint
from voucherd.webhooks import network
from voucherd.webhooks import service as webhooks
from voucherd.webhooks.schemas import EndpointInput


@pytest.fixture
def loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only tests allow loopback receivers (RELIABILITY W11)."""
    monkeypatch.setenv("VOUCHERD_WEBHOOK_ALLOWED_CIDRS", '["127.0.0.0/8"]')
    get_settings.cache_clear()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with network.new_client() as client:
        yield client


class FakeClock:
    """``core.clock.now`` under the test's control."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)

    def set(self, at: datetime) -> None:
        self.at = at


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(datetime(2026, 2, 1, 12, 0, 0, tzinfo=UTC))
    monkeypatch.setattr(clock, "_now", fake)
    return fake


async def make_endpoint(
    database: Database,
    tenant: Tenant,
    url: str,
    *,
    events: list[str] | None = None,
    name: str = "Test receiver",
    payload_format: str = "vouchertrack",
) -> tuple[WebhookEndpoint, str]:
    async with unit_of_work(database) as session:
        created = await webhooks.create_endpoint(
            session,
            tenant.principal,
            EndpointInput(name=name, url=url, events=events or ["*"], payload_format=payload_format),
        )
    return created.endpoint, created.secret
