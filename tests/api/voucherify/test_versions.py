"""The Voucherify API version pinned per client: used when a request names none, refused when
not served, set with ``voucherd clients set-api-version``."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import voucherify

from tests.api.voucherify.conftest import Served
from tests.fixtures.processes import env_for, run
from voucherd.accounts import api_versions
from voucherd.accounts import service as accounts
from voucherd.core.errors import InvalidInput
from voucherd.db import unit_of_work
from voucherd.db.engine import create_database

LATER = "v2099-01-01"  # a version a later release would serve


def pin(served: Served, version: str) -> None:
    async def set_it() -> None:
        database = create_database(served.db_url, pool=False)
        try:
            async with unit_of_work(database) as session:
                await accounts.set_api_version(session, served.tenant.client_id, version)
        finally:
            await database.dispose()

    asyncio.run(set_it())


def test_a_request_naming_no_version_gets_the_clients_pinned_one(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served.client() as client:
        answer = voucherify.AsyncActionsApi(client).list_async_actions_with_http_info()
        assert answer.headers is not None
        assert answer.headers["x-voucherify-api-version"] == "v2018-08-01"  # nothing pinned: ours
    with pytest.raises(InvalidInput):
        pin(served, LATER)  # not served (yet)
    monkeypatch.setattr(api_versions, "SERVED", frozenset({api_versions.PINNED, LATER}))
    pin(served, LATER)
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        assert http.get("/v1/async-actions").headers["X-Voucherify-API-Version"] == LATER
        named = http.get("/v1/async-actions", headers={"X-Voucherify-API-Version": "v2018-08-01"})
        assert named.headers["X-Voucherify-API-Version"] == "v2018-08-01"
        unknown = http.get("/v1/async-actions", headers={"X-Voucherify-API-Version": "v1999-01-01"})
        assert (unknown.status_code, unknown.json()["key"]) == (400, "invalid_api_version")


def test_the_cli_pins_a_served_version_and_refuses_another(served: Served) -> None:
    env = env_for(served.db_url)
    client_id = str(served.tenant.client_id)
    refused = run(["clients", "set-api-version", client_id, "v1999-01-01"], env)
    assert refused.returncode == 2
    assert "is not served" in refused.stderr
    done = run(["clients", "set-api-version", client_id, "v2018-08-01"], env)
    assert done.returncode == 0, done.stderr
    assert "v2018-08-01" in done.stdout
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        assert http.get("/v1/async-actions").headers["X-Voucherify-API-Version"] == "v2018-08-01"
