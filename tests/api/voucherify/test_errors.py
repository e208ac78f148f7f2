"""The dialect's refusals: client-side error answers carry the CORS headers of a publishable
origin, so a browser can read the error object."""

from __future__ import annotations

import httpx
import pytest
from voucherify.exceptions import ForbiddenException

from tests.api.voucherify.conftest import Served
from tests.api.voucherify.test_client_side import SHOP, client_side, publishable, redeem_body
from tests.api.voucherify.test_redemptions import codes_of, stack


def test_client_side_errors_name_a_publishable_origin(served: Served) -> None:
    (code,) = codes_of(served)
    key_id, key = publishable(served, SHOP)
    pair = {"X-Client-Application-Id": key_id, "X-Client-Token": key}
    with pytest.raises(ForbiddenException) as refused:
        client_side(served, key_id, key).redeem_stacked_discounts_client_side(SHOP, redeem_body(code))
    assert refused.value.headers is not None
    assert refused.value.headers["Access-Control-Allow-Origin"] == SHOP
    with httpx.Client(base_url=served.url) as http:
        refusals = {
            "wrong key": http.post(
                "/client/v1/validations",
                json=stack(code),
                headers={**pair, "X-Client-Token": "nope", "Origin": SHOP},
            ),
            "bad body": http.post(
                "/client/v1/validations", json={"redeemables": []}, headers={**pair, "Origin": SHOP}
            ),
            "redeem not allowed": http.post(
                "/client/v1/redemptions", json=stack(code), headers={**pair, "Origin": SHOP}
            ),
            "wrong method": http.post("/client/v1/nothing-here", json={}, headers={**pair, "Origin": SHOP}),
        }
        for why, answer in refusals.items():
            assert answer.status_code >= 400, why
            assert answer.headers.get("Access-Control-Allow-Origin") == SHOP, why
            assert answer.headers.get("Vary") == "Origin", why
            assert answer.json()["request_id"], why
        assert [answer.status_code for answer in refusals.values()] == [401, 400, 403, 405]
        stranger = http.post(
            "/client/v1/redemptions", json=stack(code), headers={**pair, "Origin": "https://evil.example"}
        )
        assert stranger.status_code == 401
        assert "Access-Control-Allow-Origin" not in stranger.headers
        server_side = http.get("/v1/vouchers", headers={"Origin": SHOP})
        assert server_side.status_code == 401
        assert "Access-Control-Allow-Origin" not in server_side.headers
        limited = [
            http.post("/client/v1/validations", json=stack(code), headers={**pair, "Origin": SHOP})
            for _ in range(9)
        ][-1]
        assert limited.status_code == 429
        assert limited.headers["Access-Control-Allow-Origin"] == SHOP
