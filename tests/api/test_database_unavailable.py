"""A database that cannot be reached (down, restarting, failing over) is a 503 with
``Retry-After`` in every dialect's envelope, not a 500: a balancer or a checkout tries again."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from sqlalchemy.exc import InterfaceError, OperationalError

from tests.conftest import Tenant
from tests.fixtures.processes import free_port
from voucherd.accounts import service as accounts
from voucherd.api.app import create_app
from voucherd.db import Database, set_database
from voucherd.db.engine import create_database
from voucherd.db.errors import is_unavailable


async def test_every_dialect_answers_503_while_the_database_refuses_connections(
    database: Database, tenant: Tenant
) -> None:
    # given a valid key, and then a database on a port where nothing listens
    unreachable = create_database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/voucherd")
    set_database(unreachable)
    accounts._cache.clear()
    app = create_app(embedded_worker=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test") as client:
            # when each dialect is asked for something
            native = await client.get("/api/webhook/validate/SUMMER20-X7K3M2", headers=tenant.headers)
            cart = await client.get(
                "/vouchercart/v1/coupons", headers={"Authorization": f"Bearer {tenant.api_key}"}
            )
            voucherify = await client.get(
                "/voucherify/v1/vouchers",
                headers={"X-App-Id": str(tenant.principal.subject.id), "X-App-Token": tenant.api_key},
            )
    finally:
        set_database(database)
        await unreachable.dispose()
    # then each says so in its own envelope, with a Retry-After
    for response in (native, cart, voucherify):
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "1"
    assert native.json()["error_code"] == "database_unavailable"
    assert (cart.json()["status"], cart.json()["code"]) == ("failed", "database_unavailable")
    assert (voucherify.json()["code"], voucherify.json()["key"]) == (503, "service_unavailable")


def _raised_from(cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as error:
            raise RuntimeError("wrapped") from error
    except RuntimeError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (ConnectionResetError(104, "reset"), True),
        (asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"), True),
        (asyncpg.CannotConnectNowError("the database system is in recovery mode"), True),
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), True),
        (asyncpg.TargetServerAttributeNotMatched("none of the hosts match read-write"), True),
        (asyncpg.InterfaceError("connection is closed"), True),
        (OperationalError("SELECT 1", {}, Exception("gone"), connection_invalidated=True), True),
        (_raised_from(ConnectionRefusedError(111, "refused")), True),
        # asyncpg's connect timeout and command_timeout (a black-holed line)
        (TimeoutError(), True),
        (_raised_from(TimeoutError()), True),
        # statements that failed on a live database are ours to fix: 500
        (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), False),
        (asyncpg.UniqueViolationError("duplicate key"), False),
        (asyncpg.InterfaceError("cannot perform operation: another operation is in progress"), False),
        (InterfaceError("SELECT 1", {}, Exception("misuse")), False),
        (OperationalError("INSERT", {}, Exception("database is locked")), False),
        (ValueError("bad"), False),
    ],
)
def test_what_counts_as_the_database_being_unavailable(error: BaseException, unavailable: bool) -> None:
    assert is_unavailable(error) is unavailable
