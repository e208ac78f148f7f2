"""Client-side calls (seed 004): publishable keys from their origins only, validation always,
redemption only with the client's "danger zone" switched on, the application pair trusted as the
server, CORS preflight, and the per-IP limit with seed 004's 429 body."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import voucherify
from voucherify.exceptions import ForbiddenException, UnauthorizedException

from tests.api.voucherify.conftest import Served
from tests.api.voucherify.test_redemptions import codes_of, stack
from voucherd.accounts import service as accounts
from voucherd.db import unit_of_work
from voucherd.db.engine import create_database

SHOP = "https://shop.example"


def publishable(served: Served, *origins: str) -> tuple[str, str]:
    async def make() -> tuple[str, str]:
        database = create_database(served.db_url, pool=False)
        try:
            async with unit_of_work(database) as session:
                issued = await accounts.create_api_key(
                    session,
                    served.tenant.client_id,
                    name="shop",
                    publishable=True,
                    allowed_origins=list(origins),
                )
            return str(issued.api_key.id), issued.secret
        finally:
            await database.dispose()

    return asyncio.run(make())


def allow_client_side_redemption(served: Served) -> None:
    async def switch() -> None:
        database = create_database(served.db_url, pool=False)
        try:
            async with unit_of_work(database) as session:
                await accounts.set_client_side(session, served.tenant.client_id, redeem=True, publish=False)
        finally:
            await database.dispose()

    asyncio.run(switch())


def client_side(served: Served, key_id: str, key: str) -> voucherify.ClientSideApi:
    configuration = voucherify.Configuration(
        host=served.url, api_key={"X-Client-Application-Id": key_id, "X-Client-Token": key}
    )
    return voucherify.ClientSideApi(voucherify.ApiClient(configuration))


def validate_body(*codes: str) -> voucherify.ClientValidationsValidateRequestBody:
    return voucherify.ClientValidationsValidateRequestBody.from_dict(stack(*codes))


def redeem_body(*codes: str) -> voucherify.ClientRedemptionsRedeemRequestBody:
    return voucherify.ClientRedemptionsRedeemRequestBody.from_dict(stack(*codes))


def test_a_publishable_key_validates_from_its_origin_only(served: Served) -> None:
    (code,) = codes_of(served)
    key_id, key = publishable(served, SHOP)
    api = client_side(served, key_id, key)
    assert api.validate_stacked_discounts_client_side(SHOP, validate_body(code)).valid is True
    with pytest.raises(UnauthorizedException) as elsewhere:
        api.validate_stacked_discounts_client_side("https://evil.example", validate_body(code))
    assert json.loads(elsewhere.value.body)["key"] == "unauthorized"


def test_a_publishable_key_redeems_only_when_the_client_allows_it(served: Served) -> None:
    (code,) = codes_of(served)
    key_id, key = publishable(served, "*")
    api = client_side(served, key_id, key)
    with pytest.raises(ForbiddenException) as refused:
        api.redeem_stacked_discounts_client_side(SHOP, redeem_body(code))
    assert json.loads(refused.value.body)["key"] == "forbidden"
    allow_client_side_redemption(served)
    (child,) = api.redeem_stacked_discounts_client_side(SHOP, redeem_body(code)).redemptions
    assert child.result == "SUCCESS"


def test_the_application_pair_is_trusted_client_side(served: Served) -> None:
    (code,) = codes_of(served)
    api = client_side(served, served.headers["X-App-Id"], served.tenant.api_key)
    (child,) = api.redeem_stacked_discounts_client_side(SHOP, redeem_body(code)).redemptions
    assert child.result == "SUCCESS"


def test_a_publishable_key_is_refused_server_side(served: Served) -> None:
    (code,) = codes_of(served)
    key_id, key = publishable(served, SHOP)
    root = served.url.removesuffix("/voucherify")
    with httpx.Client() as http:
        server = http.post(
            f"{served.url}/v1/validations", json=stack(code), headers={"X-App-Id": key_id, "X-App-Token": key}
        )
        assert server.status_code == 401
        assert http.get(f"{root}/api/webhook/validate/{code}", headers={"X-API-Key": key}).status_code == 401
        assert (
            http.get(f"{root}/vouchercart/v1/domains", headers={"Authorization": f"Bearer {key}"}).status_code
            == 401
        )


def test_cors_preflight_and_answers_name_the_allowed_origin(served: Served) -> None:
    (code,) = codes_of(served)
    key_id, key = publishable(served, SHOP)
    preflight = {"Origin": SHOP, "Access-Control-Request-Method": "POST"}
    with httpx.Client(base_url=served.url) as http:
        known = http.options("/client/v1/validations", headers=preflight)
        assert known.status_code == 204
        assert known.headers["Access-Control-Allow-Origin"] == SHOP
        assert "X-Client-Token" in known.headers["Access-Control-Allow-Headers"]
        unknown = http.options(
            "/client/v1/validations", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert "Access-Control-Allow-Origin" not in unknown.headers
        answer = http.post(
            "/client/v1/validations",
            json=stack(code),
            headers={"X-Client-Application-Id": key_id, "X-Client-Token": key, "Origin": SHOP},
        )
        assert answer.status_code == 200
        assert answer.headers["Access-Control-Allow-Origin"] == SHOP


def test_client_side_calls_are_limited_per_ip_with_seed_004s_body(served: Served) -> None:
    (code,) = codes_of(served)
    key_id, key = publishable(served, SHOP)
    headers = {"X-Client-Application-Id": key_id, "X-Client-Token": key, "Origin": SHOP}
    with httpx.Client(base_url=served.url, headers=headers) as http:
        answers = [http.post("/client/v1/validations", json=stack(code)) for _ in range(11)]
    assert [answer.status_code for answer in answers[:10]] == [200] * 10
    assert answers[10].status_code == 429
    assert answers[10].json() == {"code": 429, "message": "Too many requests hit the API too quickly."}
    assert int(answers[10].headers["Retry-After"]) > 0
