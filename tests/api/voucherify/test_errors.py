"""The dialect's refusals: every 4xx and 5xx is the error object with the request's id (the error
table walked, and every kind of refusal of the served app), and client-side error answers carry
the CORS headers of a publishable origin, so a browser can read it."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re

import httpx
import pytest
from fastapi import Request
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from voucherify.exceptions import ForbiddenException

import voucherd
from tests.api.voucherify.conftest import Served
from tests.api.voucherify.test_client_side import SHOP, client_side, publishable, redeem_body
from tests.api.voucherify.test_redemptions import codes_of, stack
from voucherd.api.voucherify import errors
from voucherd.api.voucherify.app import create_voucherify_app
from voucherd.config import get_settings
from voucherd.core.errors import DomainError, NotFound
from voucherd.http.ratelimit import RateLimited, RateLimiter


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


def _all_domain_errors() -> list[type[DomainError]]:
    for module in pkgutil.walk_packages(voucherd.__path__, "voucherd."):
        importlib.import_module(module.name)
    found: list[type[DomainError]] = []
    pending = [DomainError]
    while pending:
        category = pending.pop()
        found.append(category)
        pending.extend(category.__subclasses__())
    return found


@pytest.mark.parametrize("error", _all_domain_errors(), ids=lambda error: error.__qualname__)
def test_every_domain_error_is_a_4xx_error_object(error: type[DomainError]) -> None:
    """The error table, walked: whatever a service raises answers the error object, with the
    request's id, and a 4xx (a domain error is never a server failure)."""
    request = Request(
        {"type": "http", "method": "GET", "path": "/", "headers": [], "state": {"request_id": "r1"}}
    )
    answer = errors.render(request, error("Something to act on."))
    body = json.loads(bytes(answer.body))
    if error is not DomainError:
        assert 400 <= answer.status_code < 500, error
    assert body["code"] == answer.status_code
    assert re.fullmatch(r"[a-z][a-z0-9_]*", body["key"]), body["key"]
    assert body["message"] == errors.MESSAGES.get(answer.status_code, "Error")
    assert body["details"] == "Something to act on."
    assert body["request_id"] == "r1"


async def test_every_installed_handler_answers_the_error_object() -> None:
    """Each handler of the dialect, with an error of its kind: the error object with the
    request's id, except the 429, which is seed 004's body exactly."""
    app = create_voucherify_app(RateLimiter(get_settings()))
    samples: dict[object, Exception] = {
        DomainError: NotFound("Cannot find voucher with id X"),
        RequestValidationError: RequestValidationError([{"loc": ("body", "order"), "msg": "bad"}]),
        StarletteHTTPException: StarletteHTTPException(404, "Not Found"),
        Exception: RuntimeError("boom"),
        RateLimited: RateLimited(5),
    }
    handlers = {
        kind: handler
        for kind, handler in app.exception_handlers.items()
        if kind is not WebSocketRequestValidationError  # no websockets here
    }
    assert set(handlers) == set(samples)
    for kind, handler in handlers.items():
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/v1/x",
            "headers": [],
            "state": {"request_id": "r1"},
        }
        answer = await handler(Request(scope), samples[kind])
        body = json.loads(bytes(answer.body))
        assert answer.status_code >= 400
        if kind is RateLimited:
            assert body == {"code": 429, "message": "Too many requests hit the API too quickly."}
            continue
        assert set(body) >= {"code", "key", "message", "details", "request_id"}, kind
        assert (body["code"], body["request_id"]) == (answer.status_code, "r1"), kind


def test_every_refusal_of_the_served_app_carries_the_error_object(served: Served) -> None:
    (code,) = codes_of(served)
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        http.post(
            "/v1/vouchers",
            json={
                "code": "TAKEN-1",
                "type": "DISCOUNT_VOUCHER",
                "discount": {"type": "AMOUNT", "amount_off": 100},
            },
        )
        refusals = {
            "no key": (http.get("/v1/vouchers", headers={"X-App-Token": ""}), 401, "unauthorized"),
            "bad json": (
                http.post("/v1/validations", content=b"{", headers={"Content-Type": "application/json"}),
                400,
                "invalid_payload",
            ),
            "bad limit": (http.get("/v1/vouchers", params={"limit": 0}), 400, "invalid_query_params"),
            "bad version": (
                http.get("/v1/vouchers", headers={"X-Voucherify-API-Version": "v1"}),
                400,
                "invalid_api_version",
            ),
            "unknown voucher": (http.get("/v1/vouchers/NO-SUCH"), 404, "not_found"),
            "unknown route": (http.get("/v1/nothing-here"), 404, "not_found"),
            "wrong method": (http.patch("/v1/validations"), 405, "method_not_allowed"),
            "taken code": (
                http.post(
                    "/v1/vouchers/TAKEN-1",
                    json={"type": "DISCOUNT_VOUCHER", "discount": {"type": "AMOUNT", "amount_off": 100}},
                ),
                409,
                "duplicate_found",
            ),
            "used up": (
                http.post("/v1/redemptions", json=stack(code, code)),
                400,
                "quantity_exceeded",
            ),
            "too large": (
                http.post(
                    "/v1/validations",
                    content=b"{" + b" " * 2_000_000 + b"}",
                    headers={"Content-Type": "application/json"},
                ),
                413,
                "payload_too_large",
            ),
        }
        for why, (answer, status, key) in refusals.items():
            body = answer.json()
            assert (answer.status_code, body["key"]) == (status, key), (why, body)
            assert body["code"] == status, why
            assert body["message"] == errors.MESSAGES[status], why
            assert isinstance(body["details"], str), why
            assert body["request_id"] == answer.headers["X-Request-Id"], why
