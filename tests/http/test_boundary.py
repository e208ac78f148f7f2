"""The edge every application shares (``http/boundary.py``): what it refuses before a route runs,
the same on SQLite and PostgreSQL, each application answering in its own format."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.types import Message

from tests.conftest import Tenant
from tests.fixtures.processes import free_port
from tests.web.test_pages import landing
from voucherd.api.app import create_app
from voucherd.api.vouchertrack.integrations import UPLOAD_BODY_LIMIT
from voucherd.db import Database
from voucherd.http.boundary import DEFAULT_BODY_LIMIT, Refused, _checked_body

JSON_HEADERS = {"Content-Type": "application/json"}


class TestNul:
    @pytest.mark.parametrize("path", ["/redeem/A%00", "/c/a%00", "/redeem/A?ref=%00"])
    async def test_public_pages_answer_their_404(self, api: httpx.AsyncClient, path: str) -> None:
        response = await api.get(path)
        assert response.status_code == 404
        assert "Page not found" in response.text

    @pytest.mark.parametrize("path", ["/api/vouchers/A%00", "/api/campaigns?limit=1%00"])
    async def test_api_paths_and_queries_answer_422(
        self, api: httpx.AsyncClient, tenant: Tenant, path: str
    ) -> None:
        response = await api.get(path, headers=tenant.headers)
        assert response.status_code == 422
        assert response.json() == {
            "error": "Text must not contain the NUL character (U+0000).",
            "error_code": "invalid_input",
        }

    @pytest.mark.parametrize(
        ("path", "body"),
        [
            (
                "/api/campaigns",
                b'{"name": "Sale\\u0000", "discount_type": "percentage", "discount_value": 5}',
            ),
            ("/api/customers", b'{"email": "a@example.com", "metadata": {"note\\u0000": 1}}'),
            ("/api/customers", b'{"email": "a@example.com", "metadata": {"note": ["\\\\\\u0000"]}}'),
        ],
    )
    async def test_json_bodies_answer_422_and_change_nothing(
        self, api: httpx.AsyncClient, tenant: Tenant, path: str, body: bytes
    ) -> None:
        response = await api.post(path, content=body, headers={**tenant.headers, **JSON_HEADERS})
        assert response.status_code == 422
        assert response.json()["error_code"] == "invalid_input"
        listed = await api.get(path, headers=tenant.headers)
        assert listed.json()["total"] == 0

    async def test_an_escaped_backslash_before_u0000_is_text(
        self, api: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        body = b'{"name": "C:\\\\u0000", "discount_type": "percentage", "discount_value": 5}'
        response = await api.post("/api/campaigns", content=body, headers={**tenant.headers, **JSON_HEADERS})
        assert response.status_code == 201
        assert response.json()["name"] == "C:\\u0000"

    async def test_a_form_answers_the_pages_422(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        await landing(database, tenant)
        response = await api.post(
            "/c/summer",
            content=b"name=Ann%00&email=ann%40example.com&consent=yes",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 422
        assert "NUL character" in response.text

    async def test_an_escape_split_across_chunks_is_found(self) -> None:
        chunks = [b'{"name": "ab\\u00', b'00"}']

        async def receive() -> Message:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

        checked = _checked_body({"type": "http", "headers": []}, receive)
        await checked()
        with pytest.raises(Refused):
            await checked()


class TestBodyLimit:
    async def test_a_declared_length_over_the_limit_is_413_in_the_envelope(
        self, api: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        """RELIABILITY S8 (body 1 MB): over DEFAULT_BODY_LIMIT is a 413."""
        body = b'{"name": "' + b"x" * DEFAULT_BODY_LIMIT + b'"}'
        response = await api.post("/api/campaigns", content=body, headers={**tenant.headers, **JSON_HEADERS})
        assert response.status_code == 413
        assert response.json() == {
            "error": "The request body is larger than this route takes (1,000,000 bytes).",
            "error_code": "body_too_large",
        }

    async def test_a_chunked_body_is_cut_off_once_past_the_limit(
        self, api: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        sent = 0

        async def chunks() -> AsyncIterator[bytes]:
            nonlocal sent
            for _ in range(50):  # 5 MB in all, never declared
                sent += 1
                yield b" " * 100_000

        response = await api.post(
            "/api/campaigns", content=chunks(), headers={**tenant.headers, **JSON_HEADERS}
        )
        assert response.status_code == 413
        assert response.json()["error_code"] == "body_too_large"
        assert sent <= DEFAULT_BODY_LIMIT // 100_000 + 1  # the rest was never read

    async def test_the_recipient_upload_takes_more(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        path = f"/api/integrations/campaigns/{uuid.uuid4()}/recipients"
        padded = b'{"recipients": [], "note": "' + b"x" * 2 * DEFAULT_BODY_LIMIT + b'"}'
        response = await api.post(path, content=padded, headers={**tenant.headers, **JSON_HEADERS})
        assert response.status_code == 404  # read whole and answered: no such campaign
        over = b'{"recipients": [], "note": "' + b"x" * UPLOAD_BODY_LIMIT + b'"}'
        response = await api.post(path, content=over, headers={**tenant.headers, **JSON_HEADERS})
        assert response.status_code == 413
        assert response.json()["error_code"] == "body_too_large"

    async def test_a_page_form_answers_the_pages_413(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        await landing(database, tenant)
        response = await api.post(
            "/c/summer",
            content=b"name=" + b"A" * DEFAULT_BODY_LIMIT,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 413
        assert "<html" in response.text.lower()


class TestJsonWhateverTheContentType:
    @pytest.mark.parametrize(
        "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/octet-stream"]
    )
    async def test_the_readmes_curl_d_creates_a_campaign(
        self, api: httpx.AsyncClient, tenant: Tenant, content_type: str
    ) -> None:
        body = b'{"name": "January", "discount_type": "fixed", "discount_value": 10, "minimum_spend": 30}'
        response = await api.post(
            "/api/campaigns", content=body, headers={**tenant.headers, "Content-Type": content_type}
        )
        assert response.status_code == 201
        assert response.json()["name"] == "January"

    async def test_a_real_form_is_not_json(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await api.post(
            "/api/campaigns",
            data={"name": "January", "discount_type": "fixed"},
            headers=tenant.headers,
        )
        assert response.status_code == 422
        assert response.json()["error_code"] == "invalid_input"

    async def test_a_body_that_is_not_json_says_so(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await api.post(
            "/api/campaigns",
            content=b"name: January",
            headers={**tenant.headers, "Content-Type": "text/plain"},
        )
        assert response.status_code == 422
        assert response.json()["error"] == "The request body is not valid JSON."

    async def test_the_pages_take_their_forms(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        await landing(database, tenant)
        response = await api.post(
            "/c/summer", data={"name": "Ann", "email": "ann@example.com", "consent": "yes"}
        )
        assert response.status_code == 303


def _failing_app() -> FastAPI:
    """The host with a route that raises on each side: the host's own, VoucherTrack's, the pages'."""
    app = create_app(embedded_worker=False)

    async def fails() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/fails", fails)
    vouchertrack = dict(app.dialects)["/api"]
    vouchertrack.add_api_route("/fails", fails)
    pages = app.router.default
    assert isinstance(pages, FastAPI)
    pages.add_api_route("/page-fails", fails)
    return app


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real uvicorn (httptools, as ``voucherd serve``) on a free port, in a thread."""
    monkeypatch.setenv("VOUCHERD_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    port = free_port()
    config = uvicorn.Config(
        _failing_app(), host="127.0.0.1", port=port, http="httptools", log_level="critical"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    while not running.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join()


def _local_port(response: httpx.Response) -> int:
    address: tuple[str, int] = response.extensions["network_stream"].get_extra_info("client_addr")
    return address[1]


class TestKeepAliveAfter500:
    @pytest.mark.parametrize("path", ["/fails", "/api/fails", "/page-fails"])
    def test_the_next_request_is_answered_on_the_same_connection(self, server: str, path: str) -> None:
        with httpx.Client(base_url=server) as client:
            failed = client.get(path)
            assert failed.status_code == 500
            assert failed.headers.get("connection") != "close"
            after = client.get("/healthz")
            assert after.status_code == 200
            assert _local_port(after) == _local_port(failed)
