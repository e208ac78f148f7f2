"""The Voucherify dialect's transport through the official SDK 6.1.1 and plain HTTP: the key pair,
the error object, dated versions, list limits, raw paths, async actions."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import voucherify
from voucherify.exceptions import NotFoundException, UnauthorizedException

from tests.api.voucherify.conftest import Served, other_tenant
from voucherd.db import unit_of_work
from voucherd.db.engine import create_database
from voucherd.jobs import service as jobs

ERROR_KEYS = {"code", "key", "message", "details", "request_id"}


def test_the_sdk_lists_and_gets_async_actions(served: Served) -> None:
    async def enqueue() -> str:
        database = create_database(served.db_url, pool=False)
        try:
            async with unit_of_work(database) as session:
                job = await jobs.enqueue(
                    session, kind="generate_codes", client_id=served.tenant.client_id, payload={}, total=10
                )
                return job.id.hex
        finally:
            await database.dispose()

    job_id = asyncio.run(enqueue())
    with served.client() as client:
        api = voucherify.AsyncActionsApi(client)
        listed = api.list_async_actions(limit=10)
        assert listed.object == "list"
        assert listed.data_ref == "async_actions"
        assert [action.id for action in listed.async_actions] == [f"aa_{job_id}"]
        action = api.get_async_action(f"aa_{job_id}")
        assert (action.type, action.status, action.progress) == ("CAMPAIGN.VOUCHERS_GENERATE", "ENQUEUED", 0)
        with pytest.raises(NotFoundException) as missing:
            api.get_async_action("aa_00000000000000000000000000000000")
    body = json.loads(missing.value.body)
    assert set(body) >= ERROR_KEYS
    assert (body["code"], body["key"], body["resource_type"]) == (404, "not_found", "async_action")


def test_another_clients_async_action_is_not_found(served: Served) -> None:
    stranger = other_tenant(served)
    headers = {"X-App-Id": str(stranger.principal.subject.id), "X-App-Token": stranger.api_key}
    with httpx.Client(base_url=served.url) as http:
        assert http.get("/v1/async-actions", headers=headers).json()["async_actions"] == []
        assert http.get("/v1/async-actions/aa_nothing", headers=headers).status_code == 404


def test_a_wrong_pair_is_401_with_the_error_object(served: Served) -> None:
    configuration = voucherify.Configuration(
        host=served.url,
        api_key={"X-App-Id": str(served.tenant.principal.subject.id), "X-App-Token": "vd_live_x"},
    )
    with voucherify.ApiClient(configuration) as client, pytest.raises(UnauthorizedException) as refused:
        voucherify.AsyncActionsApi(client).list_async_actions()
    body = json.loads(refused.value.body)
    assert (body["code"], body["key"]) == (401, "unauthorized")
    assert set(body) >= ERROR_KEYS
    stranger = other_tenant(served)
    with httpx.Client(base_url=served.url) as http:
        mixed = {"X-App-Id": str(stranger.principal.subject.id), "X-App-Token": served.tenant.api_key}
        assert http.get("/v1/async-actions", headers=mixed).status_code == 401
        assert http.get("/v1/async-actions").status_code == 401


def test_dated_versions_are_checked_and_echoed(served: Served) -> None:
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        plain = http.get("/v1/async-actions")
        assert plain.status_code == 200
        assert plain.headers["X-Voucherify-API-Version"] == "v2018-08-01"
        named = http.get("/v1/async-actions", headers={"X-Voucherify-API-Version": "v2018-08-01"})
        assert named.status_code == 200
        unknown = http.get("/v1/async-actions", headers={"X-Voucherify-API-Version": "v2099-01-01"})
        assert unknown.status_code == 400
        assert unknown.json()["key"] == "invalid_api_version"
        assert unknown.headers["X-Voucherify-API-Version"] == "v2018-08-01"


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_limits_out_of_range_are_invalid_query_params(served: Served, limit: str) -> None:
    """RELIABILITY S8 (page size 100): limit 101 is refused (Voucherify answers 400 here)."""
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        answer = http.get("/v1/async-actions", params={"limit": limit})
    assert answer.status_code == 400
    assert answer.json()["key"] == "invalid_query_params"


def test_an_encoded_slash_stays_in_its_segment(served: Served) -> None:
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        answer = http.get("/v1/async-actions/aa_A%2FB%201")
    assert answer.status_code == 404
    assert answer.json()["resource_id"] == "aa_A/B 1"
