"""What an operator reads: /healthz, /readyz (the database, its schema, Redis) and /metrics in
Prometheus's text format, with its access rule."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from voucherd.config import get_settings
from voucherd.db import Database, unit_of_work


def samples(page: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def value(page: str, name: str, **labels: str) -> float:
    return samples(page).get((name, frozenset(labels.items())), 0.0)


async def test_health_and_readiness(api: httpx.AsyncClient, database: Database) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    async with unit_of_work(database) as session:
        current = await session.scalar(text("SELECT version_num FROM alembic_version"))
        await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        behind = await api.get("/readyz")
        assert behind.status_code == 503
        assert "schema is at 0001" in behind.json()["problems"][0]
        assert "voucherd migrate" in behind.json()["problems"][0]
        # A revision this code does not know is the next release's: this server stays ready
        # while the next one rolls out.
        async with unit_of_work(database) as session:
            await session.execute(text("UPDATE alembic_version SET version_num = '9999_next'"))
        assert (await api.get("/readyz")).status_code == 200
    finally:
        async with unit_of_work(database) as session:
            await session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})


@pytest.mark.parametrize(
    ("url", "status"), [("redis://127.0.0.1:6379/0", 200), ("redis://127.0.0.1:1/0", 503)]
)
async def test_readiness_needs_the_configured_redis(
    api: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch, url: str, status: int
) -> None:
    monkeypatch.setenv("VOUCHERD_REDIS_URL", url)
    monkeypatch.setenv("VOUCHERD_RATE_LIMITS_ENABLED", "false")
    get_settings.cache_clear()
    answer = await api.get("/readyz")
    assert answer.status_code == status
    if status == 503:
        assert answer.json()["problems"][0].startswith("redis unreachable")


async def test_metrics_count_requests_and_checkout_outcomes(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    campaign = await make_campaign(database, tenant)
    (code,) = await make_codes(database, tenant, campaign, 1)
    before = (await api.get("/metrics")).text
    labels = {
        "dialect": "vouchertrack",
        "route": "/webhook/validate/{code}",
        "method": "GET",
        "status": "200",
    }
    assert (await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)).status_code == 200
    assert (await api.get("/api/webhook/validate/NO-SUCH-CODE", headers=tenant.headers)).status_code == 404
    redeemed = await api.post(
        "/api/webhook/redemption", json={"code": code, "transaction_amount": 10}, headers=tenant.headers
    )
    assert redeemed.status_code == 201
    again = await api.post(
        "/api/webhook/redemption", json={"code": code, "transaction_amount": 10}, headers=tenant.headers
    )
    assert again.status_code == 409
    page = await api.get("/metrics")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    after = page.text

    def grew(name: str, **wanted: str) -> float:
        return value(after, name, **wanted) - value(before, name, **wanted)

    assert grew("voucherd_http_request_duration_seconds_count", **labels) == 1
    assert grew("voucherd_checkout_total", action="validate", outcome="ok") == 1
    assert grew("voucherd_checkout_total", action="validate", outcome="voucher_not_found") == 1
    assert grew("voucherd_checkout_total", action="redeem", outcome="ok") == 1
    assert grew("voucherd_checkout_total", action="redeem", outcome="voucher_exhausted") == 1
    assert value(after, "voucherd_db_pool_connections", pool="sqlalchemy", state="in_use") >= 0
    unknown = await api.get("/no/such/page")
    assert unknown.status_code == 404
    assert "unmatched" in (await api.get("/metrics")).text


async def test_metrics_are_closed_to_all_but_their_readers(
    api: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await api.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})).status_code == 404
    monkeypatch.setenv("VOUCHERD_METRICS", "off")
    get_settings.cache_clear()
    assert (await api.get("/metrics")).status_code == 404
    monkeypatch.setenv("VOUCHERD_METRICS", "token")
    monkeypatch.setenv("VOUCHERD_METRICS_TOKEN", "a-long-scrape-token-0123456789")
    get_settings.cache_clear()
    assert (await api.get("/metrics")).status_code == 404
    assert (
        await api.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"})
    ).status_code == 404
    allowed = await api.get("/metrics", headers={"Authorization": "Bearer a-long-scrape-token-0123456789"})
    assert allowed.status_code == 200
    assert "voucherd_checkout_total" in allowed.text or "voucherd_http_request" in allowed.text
