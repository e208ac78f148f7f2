"""POST/GET/DELETE /api/keys: a key shown once and stored as a hash, listed without it, revoked at
once (RELIABILITY S5), never by itself; owners and keys only; another client's key is a 404."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Tenant
from tests.fixtures.staff import login, make_member, make_page
from voucherd.accounts import keys
from voucherd.accounts import service as accounts
from voucherd.accounts.service import Role
from voucherd.db import Database, unit_of_work
from voucherd.models import ApiKey


async def create(api: httpx.AsyncClient, tenant: Tenant, name: str = "Shop checkout") -> dict[str, str]:
    response = await api.post("/api/keys", json={"name": name}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestCreate:
    async def test_the_key_is_shown_once_and_stored_as_its_hash(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # when
        body = await create(api, tenant)
        # then
        assert list(body) == [
            "api_key_id",
            "api_key",
            "name",
            "prefix",
            "created_at",
            "publishable",
            "allowed_origins",
        ]
        assert body["name"] == "Shop checkout"
        assert keys.is_well_formed(body["api_key"])
        assert body["api_key"].startswith(body["prefix"])
        assert body["prefix"] == body["api_key"][:16]
        assert body["created_at"].endswith("Z")
        async with unit_of_work(database, write=False) as session:
            stored = await session.scalar(select(ApiKey).where(ApiKey.prefix == body["prefix"]))
        assert stored is not None
        assert str(stored.id) == body["api_key_id"]
        assert stored.key_hash == keys.digest(body["api_key"])
        assert body["api_key"] not in repr(stored.__dict__)
        # the new key acts for the same client
        new = {"X-API-Key": body["api_key"]}
        listed = await api.get("/api/keys", headers=new)
        assert listed.status_code == 200
        assert body["api_key"] not in listed.text

    @pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 201}, {"name": 5}])
    async def test_a_name_is_needed(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, body: dict[str, object]
    ) -> None:
        response = await api.post("/api/keys", json=body, headers=tenant.headers)
        assert response.status_code == 422
        assert response.json()["error_code"] == "invalid_input"
        assert response.json()["field"] == "name"
        async with unit_of_work(database, write=False) as session:
            assert len((await session.scalars(select(ApiKey))).all()) == 1  # the tenant's own


class TestList:
    async def test_every_key_without_its_secret_revoked_ones_too(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        # given a second key, revoked
        second = await create(api, tenant, "Old till")
        assert (
            await api.delete(f"/api/keys/{second['api_key_id']}", headers=tenant.headers)
        ).status_code == 204
        # when
        response = await api.get("/api/keys", headers=tenant.headers)
        # then
        assert response.status_code == 200
        body = response.json()
        assert (body["page"], body["limit"], body["total"], body["has_more"]) == (1, 100, 2, False)
        first, old = body["data"]
        assert first == {
            "api_key_id": str(tenant.principal.subject.id),
            "name": "default",
            "prefix": tenant.api_key[:16],
            "created_at": first["created_at"],
            "revoked": False,
            "revoked_at": None,
            "publishable": False,
            "allowed_origins": None,
        }
        assert (old["api_key_id"], old["name"], old["revoked"]) == (second["api_key_id"], "Old till", True)
        assert old["revoked_at"].endswith("Z")
        assert tenant.api_key not in response.text
        assert second["api_key"] not in response.text
        assert keys.digest(tenant.api_key) not in response.text
        # another client sees only its own
        theirs = await api.get("/api/keys", headers=other_tenant.headers)
        assert [k["api_key_id"] for k in theirs.json()["data"]] == [str(other_tenant.principal.subject.id)]


class TestRevoke:
    async def test_a_revoked_key_stops_at_once(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        # given a second key, in use (so its principal is in the one-second cache)
        second = await create(api, tenant)
        headers = {"X-API-Key": second["api_key"]}
        assert (await api.get("/api/campaigns", headers=headers)).status_code == 200
        # when
        response = await api.delete(f"/api/keys/{second['api_key_id']}", headers=tenant.headers)
        # then
        assert response.status_code == 204
        assert response.content == b""
        refused = await api.get("/api/campaigns", headers=headers)
        assert refused.status_code == 401
        assert (
            await api.get("/api/campaigns", headers={"Authorization": f"Bearer {second['api_key']}"})
        ).status_code == 401
        # revoking again changes nothing
        assert (
            await api.delete(f"/api/keys/{second['api_key_id']}", headers=tenant.headers)
        ).status_code == 204

    async def test_a_key_may_not_revoke_itself(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        response = await api.delete(f"/api/keys/{tenant.principal.subject.id}", headers=tenant.headers)
        assert response.status_code == 409
        assert response.json()["error_code"] == "api_key_in_use"
        assert "another key" in response.json()["error"]
        assert (await api.get("/api/campaigns", headers=tenant.headers)).status_code == 200
        async with unit_of_work(database, write=False) as session:
            assert (await session.get(ApiKey, tenant.principal.subject.id)).revoked_at is None  # type: ignore[union-attr]

    async def test_a_resolution_during_the_revocation_is_forgotten_at_commit(
        self, database: Database, tenant: Tenant, api: httpx.AsyncClient
    ) -> None:
        # given a revocation under way, not committed yet
        async with unit_of_work(database) as session:
            await accounts.revoke_key(
                session, (await _principal_of_other_key(database, tenant)), tenant.principal.subject.id
            )
            # when another request of this process resolves the key meanwhile (it reads the old row)
            async with unit_of_work(database, write=False) as reader:
                await accounts.authenticate(reader, tenant.api_key, cache_ttl=60)
            assert accounts.cached_principal(tenant.api_key) is not None
        # then the commit forgets it: the key is refused at once, not after the cache time
        assert accounts.cached_principal(tenant.api_key) is None
        assert (await api.get("/api/campaigns", headers=tenant.headers)).status_code == 401

    async def test_another_clients_key_is_not_found(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = other_tenant.principal.subject.id
        response = await api.delete(f"/api/keys/{theirs}", headers=tenant.headers)
        assert response.status_code == 404
        assert response.json()["error_code"] == "not_found"
        assert (await api.get("/api/campaigns", headers=other_tenant.headers)).status_code == 200


async def _principal_of_other_key(database: Database, tenant: Tenant) -> accounts.Principal:
    async with unit_of_work(database) as session:
        issued = await accounts.create_api_key(session, tenant.client_id, name="admin")
        client = await accounts.get_client(session, tenant.client_id)
    return accounts.principal_of_key(client, issued.api_key)


class TestWhoMay:
    async def test_owners_may_managers_and_staff_may_not(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # given a member of each role
        await make_page(database, tenant, "the-shop")
        for role in (Role.OWNER, Role.MANAGER, Role.STAFF):
            await make_member(database, tenant, f"{role}@example.com", role, ["the-shop"])
        owner, manager, counter = [
            await login(api, f"{role}@example.com", "the-shop")
            for role in (Role.OWNER, Role.MANAGER, Role.STAFF)
        ]
        # an owner makes, lists and revokes keys
        made = await api.post("/api/keys", json={"name": "By the owner"}, headers=owner.headers)
        assert made.status_code == 201
        assert (await api.get("/api/keys", headers=owner.headers)).json()["total"] == 2
        for other in (manager, counter):
            for response in (
                await api.post("/api/keys", json={"name": "No"}, headers=other.headers),
                await api.get("/api/keys", headers=other.headers),
                await api.delete(f"/api/keys/{made.json()['api_key_id']}", headers=other.headers),
            ):
                assert response.status_code == 403, response.text
                assert response.json()["error_code"] == "permission_denied"
        assert (await api.get("/api/keys", headers=tenant.headers)).json()["total"] == 2
        revoked = await api.delete(f"/api/keys/{made.json()['api_key_id']}", headers=owner.headers)
        assert revoked.status_code == 204

    async def test_no_credentials_is_401(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        for response in (
            await api.post("/api/keys", json={"name": "x"}),
            await api.post("/api/keys", content=b"{broken"),
            await api.get("/api/keys"),
            await api.delete(f"/api/keys/{tenant.principal.subject.id}"),
        ):
            assert response.status_code == 401
            assert response.json()["error_code"] == "unauthenticated"


async def test_revocation_holds_under_concurrent_use(api: httpx.AsyncClient, tenant: Tenant) -> None:
    """Requests with a key racing its revocation: every one after the revocation's answer is a 401."""
    second = await create(api, tenant)
    headers = {"X-API-Key": second["api_key"]}

    async def use() -> None:
        for _ in range(5):
            await api.get("/api/keys", headers=headers)

    users = asyncio.gather(*(use() for _ in range(4)))
    assert (await api.delete(f"/api/keys/{second['api_key_id']}", headers=tenant.headers)).status_code == 204
    await users
    assert (await api.get("/api/keys", headers=headers)).status_code == 401


async def test_a_publishable_key_names_its_origins(api: httpx.AsyncClient, tenant: Tenant) -> None:
    made = await api.post(
        "/api/keys",
        json={"name": "Shop widget", "publishable": True, "allowed_origins": ["https://Shop.example/"]},
        headers=tenant.headers,
    )
    assert made.status_code == 201, made.text
    assert (made.json()["publishable"], made.json()["allowed_origins"]) == (True, ["https://shop.example"])
    for body in (
        {"name": "No origins", "publishable": True},
        {"name": "Bad origin", "publishable": True, "allowed_origins": ["shop.example/path"]},
        {"name": "Origins for a secret key", "allowed_origins": ["https://shop.example"]},
    ):
        refused = await api.post("/api/keys", json=body, headers=tenant.headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "allowed_origins"
    # A publishable key works on client-side endpoints only.
    key = made.json()["api_key"]
    assert (await api.get("/api/keys", headers={"X-API-Key": key})).status_code == 401
