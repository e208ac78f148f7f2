"""RELIABILITY S5: key format, checksum before lookup, hashes only, revocation within a second."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Tenant
from voucherd.accounts import keys
from voucherd.accounts import service as accounts
from voucherd.core.errors import Unauthenticated
from voucherd.db import Database, unit_of_work
from voucherd.models import ApiKey


def test_format_is_prefix_32_base62_and_6_checksum() -> None:
    for test in (False, True):
        key = keys.generate(test=test)
        assert re.fullmatch(r"vd_(live|test)_[0-9A-Za-z]{38}", key)
        assert keys.is_well_formed(key)


def test_checksum_rejects_every_mutated_key() -> None:
    key = keys.generate()
    rejected = 0
    for i in range(10_000):
        position = len(keys.LIVE) + i % (len(key) - len(keys.LIVE))
        replacement = keys.ALPHABET[(keys.ALPHABET.index(key[position]) + 1 + i // 38) % 62]
        if replacement == key[position]:
            replacement = keys.ALPHABET[(keys.ALPHABET.index(replacement) + 1) % 62]
        mutated = key[:position] + replacement + key[position + 1 :]
        rejected += not keys.is_well_formed(mutated)
    assert rejected == 10_000


def _forbid_queries(session: AsyncSession) -> None:
    async def no_query(*args: object, **kwargs: object) -> None:
        raise AssertionError("queried the database")

    session.execute = no_query  # type: ignore[method-assign]


async def test_malformed_key_is_refused_before_any_query(database: Database, tenant: Tenant) -> None:
    key = tenant.api_key[:-1] + ("x" if tenant.api_key[-1] != "x" else "y")
    async with unit_of_work(database, write=False) as session:
        _forbid_queries(session)
        with pytest.raises(Unauthenticated):
            await accounts.authenticate(session, key, cache_ttl=1)


@pytest.mark.parametrize("sent", [None, "", "   "], ids=["absent", "empty", "blank"])
async def test_a_missing_key_is_asked_for_before_any_query(
    database: Database, api: httpx.AsyncClient, sent: str | None
) -> None:
    async with unit_of_work(database, write=False) as session:
        _forbid_queries(session)
        with pytest.raises(Unauthenticated) as refused:
            await accounts.authenticate(session, sent, cache_ttl=1)
    assert str(refused.value) == Unauthenticated.default_message
    headers = {} if sent is None else {"X-API-Key": sent}
    response = await api.get("/api/webhook/validate/ANYCODE", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == Unauthenticated.default_message


async def test_a_key_with_spaces_around_it_is_the_key(
    database: Database, tenant: Tenant, api: httpx.AsyncClient
) -> None:
    async with unit_of_work(database, write=False) as session:
        principal = await accounts.authenticate(session, f"  {tenant.api_key} ", cache_ttl=0)
    assert principal == tenant.principal
    response = await api.get("/api/campaigns", headers={"X-API-Key": f" {tenant.api_key}\t"})
    assert response.status_code == 200


async def test_only_hash_and_prefix_are_stored(database: Database, tenant: Tenant) -> None:
    async with unit_of_work(database, write=False) as session:
        values = []
        for table in ("api_keys", "clients"):
            for row in (await session.execute(text(f"SELECT * FROM {table}"))).all():  # noqa: S608
                values.extend(str(value) for value in row)
        dump = " ".join(values)
        stored = (await session.scalars(select(ApiKey))).one()
    assert tenant.api_key not in dump
    assert tenant.api_key[len(keys.LIVE) :] not in dump
    assert stored.prefix == tenant.api_key[:16]
    assert stored.key_hash == keys.digest(tenant.api_key)


async def test_revocation_takes_effect_within_the_cache_time(
    database: Database, tenant: Tenant, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(accounts.time, "monotonic", lambda: now[0])
    assert (await api.get("/api/campaigns", headers=tenant.headers)).status_code == 200
    # another server process revokes the key (this one's cache is not told)
    async with unit_of_work(database) as session:
        await session.execute(update(ApiKey).values(revoked_at=ApiKey.created_at))
    now[0] += 0.5
    assert (await api.get("/api/campaigns", headers=tenant.headers)).status_code == 200
    now[0] += 0.6  # past the 1 s the cache may trust a key
    assert (await api.get("/api/campaigns", headers=tenant.headers)).status_code == 401


async def test_revoking_here_is_immediate(database: Database, tenant: Tenant, api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/campaigns", headers=tenant.headers)).status_code == 200
    async with unit_of_work(database) as session:
        await accounts.revoke_api_key(session, tenant.principal.subject.id)
    assert (await api.get("/api/campaigns", headers=tenant.headers)).status_code == 401


def test_a_lookup_that_began_before_a_revocation_is_not_remembered() -> None:
    """A request that read the key's row before a revocation committed must not put it back in
    the cache after the revocation cleared it (the stale entry would be trusted for a cache time)."""
    principal = accounts.api_key_principal(
        client_id=uuid.uuid4(), client_name="Shop", currency="GBP", timezone="UTC", api_key_id=uuid.uuid4()
    )
    began = accounts.cache_epoch()
    accounts._cache.clear()  # the revocation commits meanwhile
    accounts.remember("vd_live_stale", principal, 60, since=began)
    assert accounts.cached_principal("vd_live_stale") is None
    accounts.remember("vd_live_fresh", principal, 60, since=accounts.cache_epoch())
    assert accounts.cached_principal("vd_live_fresh") == principal
