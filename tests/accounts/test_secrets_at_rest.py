"""RELIABILITY S4: a database dump holds no plaintext API key, password or refresh token (hashes
only), and a failure's log line never prints a whole code or key; on both databases. The dump is
the real one: ``pg_dump`` on PostgreSQL, ``sqlite3``'s ``iterdump`` of the file on SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.api.vouchercart.test_accounts import V1, log_in, register
from tests.api.vouchercart.test_giftcards import money_code
from tests.conftest import Tenant
from tests.fixtures.shops import open_shop
from voucherd.accounts import keys, tokens
from voucherd.db import Database
from voucherd.giftcards import holds
from voucherd.http.errors import error_text

PASSWORD = "N14kYm8Wz1BACcg2"  # the seed's register curl (tests/api/vouchercart/test_accounts.py)


def _without_prefix(secret: str) -> str:
    """A key or refresh token without its type tag (a password has none). Not a split at ``_``:
    a token's random part is URL-safe base64 and may hold one, leaving a character or two."""
    for prefix in (keys.LIVE, keys.TEST, tokens.REFRESH_PREFIX):
        if secret.startswith(prefix):
            return secret.removeprefix(prefix)
    return secret


def _dump(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        with sqlite3.connect(parsed.database) as connection:
            return "\n".join(connection.iterdump())
    target = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(
        ["pg_dump", "--data-only", target], check=True, capture_output=True, text=True
    ).stdout


async def test_a_dump_holds_no_key_password_or_refresh_token(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    await register(api)
    first = await log_in(api)
    rotated = await api.put(
        f"{V1}/refresh", data={"accessToken": first["accessToken"], "refreshToken": first["refreshToken"]}
    )
    assert rotated.status_code == 200, rotated.text
    secrets = {
        "api key": tenant.api_key,
        "password": PASSWORD,
        "refresh token": first["refreshToken"],
        "rotated refresh token": rotated.json()["refreshToken"],
    }
    url = database.url
    await database.engine.dispose()  # every write on disk (SQLite's WAL checkpointed on close)
    dump = await asyncio.to_thread(_dump, url)
    assert "api_keys" in dump  # the tables are in it, rows and all
    assert "restaurant@example.com" in dump
    assert "$argon2id$" in dump  # the password is there as its hash
    for what, secret in secrets.items():
        assert secret not in dump, what
        assert _without_prefix(secret) not in dump, what  # nor its secret part on its own


async def test_a_failure_on_a_path_with_a_code_logs_no_whole_code(
    api: httpx.AsyncClient,
    database: Database,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shop = await open_shop(database, tenant, "log-shop")
    code = await money_code(api, shop)

    async def fails(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(holds, "details", fails)
    capsys.readouterr()
    response = await api.get(f"/api/giftcards/{code}", headers=shop.headers)
    assert response.status_code == 500
    output = capsys.readouterr().out
    failed = [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert [line["path"] for line in failed if line["event"] == "request.failed"] == [
        "GET /api/giftcards/{code}"
    ]
    assert code not in output
    assert tenant.api_key not in output


async def test_a_database_error_is_logged_without_its_parameters(database: Database) -> None:
    """An error the database raises is logged by its driver's message, without the statement's
    bound values (a code, an email)."""
    with pytest.raises(DBAPIError) as raised:
        async with database.engine.connect() as connection:
            await connection.execute(
                text("SELECT no_such_column WHERE 1 = :code"), {"code": "SECRET-CODE-1234"}
            )
    assert "SECRET-CODE-1234" in str(raised.value)  # SQLAlchemy's own text carries it
    logged = error_text(raised.value)
    assert "SECRET-CODE-1234" not in logged
    assert "no_such_column" in logged
