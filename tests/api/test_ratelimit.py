"""Rate limits: the documented 429, per key and per IP, in memory and shared through Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from tests.conftest import Tenant, make_tenant
from tests.fixtures.factories import add_codes, make_campaign
from tests.fixtures.processes import free_port
from voucherd.api.app import create_app
from voucherd.config import get_settings
from voucherd.db import Database

REDIS_URL = "redis://127.0.0.1:6379/0"
TOO_MANY = {"code": 429, "message": "Too many requests hit the API too quickly."}


def limit(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"VOUCHERD_RATE_LIMIT_{name.upper()}", value)
    get_settings.cache_clear()


class TestInMemory:
    async def test_webhook_management_over_the_limit_is_the_documented_429(
        self,
        api: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        limit(monkeypatch, webhooks="3/minute")
        statuses = [
            (await api.get("/api/integrations/webhooks", headers=tenant.headers)).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 200]
        refused = await api.get("/api/integrations/webhooks", headers=tenant.headers)
        assert refused.status_code == 429
        assert refused.json() == TOO_MANY
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # per key: another client's key still has its own allowance
        assert (await api.get("/api/integrations/webhooks", headers=other_tenant.headers)).status_code == 200

    async def test_the_default_webhook_limit_is_100_per_minute(self) -> None:
        assert get_settings().rate_limit_webhooks == "100/minute"
        assert get_settings().rate_limit_recipient_upload == "10/minute"
        assert get_settings().rate_limit_export == "60/minute"

    async def test_validation_is_limited_per_ip_before_the_key_is_checked(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        limit(monkeypatch, validation_per_ip="2/minute")
        campaign = await make_campaign(database, tenant)
        await add_codes(database, tenant, campaign, ["SUMMER20-X7K3M2"])
        url = "/api/webhook/validate/SUMMER20-X7K3M2"
        assert (await api.get(url, headers=tenant.headers)).status_code == 200
        assert (await api.get(url, headers={"X-API-Key": "wrong"})).status_code == 401
        refused = await api.get(url, headers=tenant.headers)
        assert (refused.status_code, refused.json()) == (429, TOO_MANY)

    async def test_validation_is_limited_per_key(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        limit(monkeypatch, validation_per_key="2/minute")
        other = await make_tenant(database, "Second Shop")
        url = "/api/webhook/validate/NOPE"
        assert [(await api.get(url, headers=tenant.headers)).status_code for _ in range(3)] == [404, 404, 429]
        assert (await api.get(url, headers=other.headers)).status_code == 404

    async def test_limits_can_be_turned_off(
        self, database: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        limit(monkeypatch, webhooks="1/minute")
        monkeypatch.setenv("VOUCHERD_RATE_LIMITS_ENABLED", "false")
        get_settings.cache_clear()
        app = create_app(embedded_worker=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test") as client:
            for _ in range(3):
                response = await client.get("/api/integrations/webhooks", headers=tenant.headers)
                assert response.status_code == 200

    async def test_each_application_counts_on_its_own_without_redis(
        self, database: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        limit(monkeypatch, webhooks="1/minute")
        for _ in range(2):
            app = create_app(embedded_worker=False)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test") as client:
                response = await client.get("/api/integrations/webhooks", headers=tenant.headers)
                assert response.status_code == 200


def redis_answers() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.crash
@pytest.mark.skipif(not redis_answers() and not os.environ.get("CI"), reason="needs Redis on 127.0.0.1:6379")
def test_two_server_processes_share_one_limit_through_redis(db_url: str, tmp_path: object) -> None:
    """Two `voucherd serve` processes against the real Redis: 5/minute is 5 across both."""
    import asyncio

    async def tenant() -> Tenant:
        from voucherd.db.engine import create_database

        database = create_database(db_url)
        try:
            return await make_tenant(database, f"Shop {uuid.uuid4().hex[:6]}")
        finally:
            await database.dispose()

    caller = asyncio.run(tenant())
    env = {
        **os.environ,
        "VOUCHERD_DATABASE_URL": db_url,
        "VOUCHERD_REDIS_URL": REDIS_URL,
        "VOUCHERD_RATE_LIMIT_WEBHOOKS": "5/minute",
        "VOUCHERD_EMBEDDED_WORKER": "false",
    }
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "voucherd.cli.main", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        with httpx.Client(timeout=10) as client:
            for port in ports:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        client.get(f"http://127.0.0.1:{port}/healthz")
                        break
                    except httpx.TransportError:
                        assert time.monotonic() < deadline, "server did not start"
                        time.sleep(0.2)
            statuses = [
                client.get(
                    f"http://127.0.0.1:{ports[n % 2]}/api/integrations/webhooks", headers=caller.headers
                ).status_code
                for n in range(8)
            ]
            refused = client.get(
                f"http://127.0.0.1:{ports[1]}/api/integrations/webhooks", headers=caller.headers
            )
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.wait(timeout=30)
    # alternating between the two processes, the sixth request is refused: one shared counter
    assert statuses == [200] * 5 + [429] * 3
    assert refused.json() == TOO_MANY
    assert int(refused.headers["Retry-After"]) >= 1
