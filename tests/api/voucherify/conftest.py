"""A real voucherd (uvicorn, in a thread) on the test's database, and the official Voucherify SDK
configured against it with one of the test client's API keys, exactly as a user configures it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
import voucherify

from tests.conftest import Tenant, make_tenant
from tests.fixtures.smtp import free_port
from voucherd.api.app import create_app
from voucherd.config import get_settings
from voucherd.db import set_database
from voucherd.db.engine import create_database


@dataclass(frozen=True)
class Served:
    url: str  # the SDK's host: http://127.0.0.1:PORT/voucherify
    tenant: Tenant
    db_url: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-App-Id": str(self.tenant.principal.subject.id), "X-App-Token": self.tenant.api_key}

    def client(self) -> voucherify.ApiClient:
        configuration = voucherify.Configuration(
            host=self.url, api_key={"X-App-Id": self.headers["X-App-Id"], "X-App-Token": self.tenant.api_key}
        )
        return voucherify.ApiClient(configuration)


async def _tenant(url: str, name: str) -> Tenant:
    database = create_database(url, pool=False)
    try:
        return await make_tenant(database, name)
    finally:
        await database.dispose()


@pytest.fixture
def served(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setenv("VOUCHERD_DATABASE_URL", db_url)
    get_settings.cache_clear()
    set_database(None)
    tenant = asyncio.run(_tenant(db_url, "SDK Shop"))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(embedded_worker=False), host="127.0.0.1", port=port, log_level="critical")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield Served(f"http://127.0.0.1:{port}/voucherify", tenant, db_url)
    finally:
        server.should_exit = True
        thread.join()
        set_database(None)


def other_tenant(served: Served) -> Tenant:
    return asyncio.run(_tenant(served.db_url, "Other SDK Shop"))
