"""The application's own middleware: every response names its request, and so does every log
line written while serving it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
import structlog
from fastapi import FastAPI

from voucherd.api.app import create_app
from voucherd.http.request_id import MAX_REQUEST_ID_LENGTH

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def app() -> FastAPI:
    app = create_app(embedded_worker=False)

    @app.get("/logs-something")
    async def _logs_something() -> dict[str, bool]:
        structlog.get_logger("test").info("test.served")
        return {"ok": True}

    @app.get("/fails")
    async def _fails() -> None:
        raise RuntimeError("boom")

    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test") as client:
        yield client


def _log_lines(output: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]


async def test_each_response_carries_a_new_request_id(client: httpx.AsyncClient) -> None:
    ids = [(await client.get("/healthz")).headers["X-Request-Id"] for _ in range(3)]
    assert all(GENERATED.fullmatch(request_id) for request_id in ids)
    assert len(set(ids)) == 3


async def test_the_callers_request_id_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "checkout-7f3a"})
    assert response.headers["X-Request-Id"] == "checkout-7f3a"
    assert response.headers.get_list("X-Request-Id") == ["checkout-7f3a"]


@pytest.mark.parametrize(
    "sent", ["x" * (MAX_REQUEST_ID_LENGTH + 1), "caf\u00e9", "tab\tinside"], ids=["long", "latin-1", "tab"]
)
async def test_an_unusable_request_id_is_replaced(client: httpx.AsyncClient, sent: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": sent.encode("latin-1")})
    assert GENERATED.fullmatch(response.headers["X-Request-Id"])


async def test_log_lines_written_while_serving_carry_the_request_id(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = await client.get("/logs-something", headers={"X-Request-Id": "order-42"})
    served = [line for line in _log_lines(capsys.readouterr().out) if line["event"] == "test.served"]
    assert response.status_code == 200
    assert [line["request_id"] for line in served] == ["order-42"]

    structlog.get_logger("test").info("test.outside")
    outside = [line for line in _log_lines(capsys.readouterr().out) if line["event"] == "test.outside"]
    assert len(outside) == 1
    assert "request_id" not in outside[0]


async def test_an_unexpected_error_answers_500_naming_the_request(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = await client.get("/fails", headers={"X-Request-Id": "order-43"})
    assert response.status_code == 500
    assert response.json() == {
        "error": "Internal error; it has been logged.",
        "error_code": "internal_error",
        "request_id": "order-43",
    }
    output = capsys.readouterr().out
    failed = [line for line in _log_lines(output) if line["event"] == "request.failed"]
    assert [line["request_id"] for line in failed] == ["order-43"]
    # one line of JSON says what failed; the traceback is for debug level only
    assert failed[0]["error_type"] == "RuntimeError"
    assert failed[0]["error"] == "boom"
    assert failed[0]["path"] == "GET /fails"
    assert "Traceback" not in output


async def test_api_answers_are_neither_sniffed_nor_stored(client: httpx.AsyncClient) -> None:
    for path in ("/api/campaigns", "/api/webhook/validate/X", "/vouchercart/v1/domains", "/api/openapi.json"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["cache-control"] == "no-store", path


async def test_the_root_document_describes_each_dialect_under_its_mount(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    own = (await client.get("/api/openapi.json")).json()
    cart = (await client.get("/vouchercart/v1/openapi.json")).json()
    voucherify = (await client.get("/voucherify/openapi.json")).json()
    assert own["servers"] == [{"url": "/api"}]
    assert cart["servers"] == [{"url": "/vouchercart/v1"}]
    assert voucherify["servers"] == [{"url": "/voucherify"}]
    assert {f"/api{path}" for path in own["paths"]} | {f"/vouchercart/v1{path}" for path in cart["paths"]} | {
        f"/voucherify{path}" for path in voucherify["paths"]
    } == set(document["paths"])
    redeem = document["paths"]["/api/webhook/redemption"]["post"]
    assert redeem["security"] == [{"APIKeyHeader": []}, {"APIKeyQuery": []}, {"Bearer": []}]
    assert document["paths"]["/vouchercart/v1/domains"]["get"]["security"] == [{"Bearer": []}]
    assert document["paths"]["/vouchercart/v1/register"]["post"]["security"] == []
    assert set(document["components"]["securitySchemes"]) == {
        "APIKeyHeader",
        "APIKeyQuery",
        "Bearer",
        "AppId",
        "AppToken",
    }
    validations = document["paths"]["/voucherify/v1/validations"]["post"]
    assert validations["security"] == [{"AppId": [], "AppToken": []}]
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/api/docs")).status_code == 200
    assert (await client.get("/vouchercart/v1/docs")).status_code == 200
    assert (await client.get("/voucherify/docs")).status_code == 200


async def test_each_side_answers_unknown_paths_in_its_own_format(client: httpx.AsyncClient) -> None:
    api = await client.get("/api/no-such-thing")
    assert api.status_code == 404
    assert api.json()["error_code"] == "http_error"
    page = await client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/api/campaigns", "GET, POST"),
        ("PUT", "/api/campaigns", "GET, POST"),
        ("PUT", "/api/campaigns/0190f1d2-0000-7000-8000-000000000000", "DELETE, GET, PATCH"),
        ("DELETE", "/api/webhook/redemption", "POST"),
        ("POST", "/vouchercart/v1/domains", "GET"),
    ],
)
async def test_a_wrong_method_lists_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed


async def test_401_comes_before_422_on_every_authenticated_operation(client: httpx.AsyncClient) -> None:
    """RELIABILITY S9: a missing credential is a 401 on every authenticated operation."""
    document = (await client.get("/openapi.json")).json()
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not operation.get("security"):
                continue  # an open operation (VoucherCart's register, authorize...)
            url = re.sub(r"\{[^}]+\}", "0190f1d2-0000-7000-8000-000000000000", path) + "?page=nope&limit=-1"
            response = await client.request(
                method, url, content=b'{"broken', headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 401, (
                f"{method.upper()} {path}: {response.status_code} {response.text}"
            )
            checked += 1
    assert checked > 30
