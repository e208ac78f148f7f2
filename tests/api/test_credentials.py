"""RELIABILITY S9: a missing, invalid or expired credential is a 401 on every authenticated
operation of every dialect, on both databases (the missing one is also
tests/api/test_app.py::test_401_comes_before_422_on_every_authenticated_operation)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest

from tests.api.vouchercart.test_accounts import log_in, register
from tests.conftest import Tenant
from voucherd.accounts import tokens
from voucherd.api.app import create_app
from voucherd.config import get_settings
from voucherd.core import clock
from voucherd.db import Database


@pytest.fixture
async def api(database: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """The app without rate limits: the per-IP ones come before the credential (S2), and this
    test asks some 1,000 times from one IP."""
    monkeypatch.setenv("VOUCHERD_RATE_LIMITS_ENABLED", "false")
    get_settings.cache_clear()
    transport = httpx.ASGITransport(app=create_app(embedded_worker=False), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test") as client:
        yield client


async def test_an_invalid_or_expired_credential_is_401_everywhere(
    api: httpx.AsyncClient, tenant: Tenant
) -> None:
    await register(api)
    login = await log_in(api)
    claims = jwt.decode(login["accessToken"], options={"verify_signature": False})
    expired = jwt.encode(
        {**claims, "exp": int(clock.now().timestamp()) - 1}, tokens.secret_key(), algorithm=tokens.ALGORITHM
    )
    revoked_key = tenant.api_key[:-1] + ("A" if tenant.api_key[-1] != "A" else "B")  # its checksum fails
    member = str(tenant.principal.subject.id)
    credentials = {
        "expired access token": {"Authorization": f"Bearer {expired}"},
        "token signed by another key": {
            "Authorization": "Bearer " + jwt.encode(claims, "another-secret-of-at-least-32-bytes!!", "HS256")
        },
        "mutated API key": {"X-API-Key": revoked_key, "Authorization": f"Bearer {revoked_key}"},
        "unknown well-formed key": {"X-API-Key": "vd_live_" + "a" * 38},
        "wrong Voucherify pair": {"X-App-Id": member, "X-App-Token": revoked_key},
    }
    document = (await api.get("/openapi.json")).json()
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not operation.get("security"):
                continue  # an open operation (VoucherCart's register, authorize...)
            url = re.sub(r"\{[^}]+\}", "0190f1d2-0000-7000-8000-000000000000", path)
            for what, headers in credentials.items():
                response = await api.request(method, url, json={}, headers=headers)
                assert response.status_code == 401, f"{what}: {method.upper()} {path}: {response.text}"
            checked += 1
    assert checked > 30
    assert (
        await api.get("/vouchercart/v1/domains", headers={"Authorization": f"Bearer {login['accessToken']}"})
    ).status_code != 401
