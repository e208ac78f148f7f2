"""GET/POST /api/domains, GET/PATCH /api/domains/{id}: sales pages by number, in VoucherCart's shape
(`id`, `name`, `url`); names as subdomains, unique across clients; any login lists its pages,
owners and keys manage them; another client's page is a 404."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant
from tests.fixtures.staff import log_in, login, make_member, make_page
from voucherd.accounts.service import Role
from voucherd.db import Database

URL = "http://127.0.0.1:8000/shop/{}/"


async def add(api: httpx.AsyncClient, tenant: Tenant, name: str) -> dict[str, object]:
    response = await api.post("/api/domains", json={"name": name}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestCreate:
    async def test_a_new_page_answers_as_vouchercart_shows_it(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        body = await add(api, tenant, "  Doe-Restaurants ")
        assert body == {"id": body["id"], "name": "doe-restaurants", "url": URL.format("doe-restaurants")}
        assert isinstance(body["id"], int)
        # the same object as the VoucherCart dialect's /domains, for a key of the client
        cart = await api.get("/vouchercart/v1/domains", headers={"Authorization": f"Bearer {tenant.api_key}"})
        assert cart.json() == {"status": "success", "domains": [body]}

    @pytest.mark.parametrize("name", ["", "-shop", "shop-", "a_b", "café", "x" * 64, "two words"])
    async def test_a_bad_name_is_422(self, api: httpx.AsyncClient, tenant: Tenant, name: str) -> None:
        response = await api.post("/api/domains", json={"name": name}, headers=tenant.headers)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "name"
        assert (await api.get("/api/domains", headers=tenant.headers)).json()["total"] == 0

    async def test_a_name_any_client_has_is_409(
        self, api: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await add(api, other_tenant, "taken")
        response = await api.post("/api/domains", json={"name": "TAKEN"}, headers=tenant.headers)
        assert response.status_code == 409
        assert response.json() == {
            "error": "The sales page 'taken' is taken; choose another name.",
            "error_code": "subdomain_taken",
        }
        assert (await api.get("/api/domains", headers=tenant.headers)).json()["total"] == 0

    async def test_a_retry_with_its_idempotency_key_makes_one_page(
        self, api: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        headers = {**tenant.headers, "Idempotency-Key": "page-1"}
        first = await api.post("/api/domains", json={"name": "once"}, headers=headers)
        again = await api.post("/api/domains", json={"name": "once"}, headers=headers)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert (await api.get("/api/domains", headers=tenant.headers)).json()["total"] == 1


class TestRead:
    async def test_owners_and_keys_see_every_page_members_theirs(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        # given three pages of the tenant, one of another client, and members given some
        front, back, spare = [await add(api, tenant, name) for name in ("front", "back", "spare")]
        await add(api, other_tenant, "elsewhere")
        await make_member(database, tenant, "owner@example.com", Role.OWNER, ["front"])
        await make_member(database, tenant, "manager@example.com", Role.MANAGER, ["front", "back"])
        await make_member(database, tenant, "counter@example.com", Role.STAFF, ["back"])
        owner = await login(api, "owner@example.com", "front")
        manager = await login(api, "manager@example.com", "back")
        counter = await login(api, "counter@example.com", "back")
        # when / then
        seen = {}
        for who, headers in (
            ("key", tenant.headers),
            ("owner", owner.headers),
            ("manager", manager.headers),
            ("counter", counter.headers),
        ):
            response = await api.get("/api/domains", headers=headers)
            assert response.status_code == 200, response.text
            seen[who] = response.json()["data"]
        assert seen == {
            "key": [front, back, spare],
            "owner": [front, back, spare],
            "manager": [front, back],
            "counter": [back],
        }
        full = await api.get("/api/domains?limit=2&page=2", headers=tenant.headers)
        assert full.json() == {"data": [spare], "page": 2, "limit": 2, "total": 3, "has_more": False}
        one = await api.get(f"/api/domains/{back['id']}", headers=owner.headers)
        assert one.json() == back
        # reading one page, and every change, is for owners
        for response in (
            await api.get(f"/api/domains/{back['id']}", headers=manager.headers),
            await api.post("/api/domains", json={"name": "mine"}, headers=manager.headers),
            await api.patch(f"/api/domains/{back['id']}", json={"name": "mine"}, headers=counter.headers),
        ):
            assert response.status_code == 403
            assert response.json()["error_code"] == "permission_denied"

    async def test_another_clients_page_is_404(
        self, api: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = await add(api, other_tenant, "theirs")
        for number in (theirs["id"], 999_999):
            for response in (
                await api.get(f"/api/domains/{number}", headers=tenant.headers),
                await api.patch(f"/api/domains/{number}", json={"name": "mine"}, headers=tenant.headers),
            ):
                assert response.status_code == 404, response.text
                assert response.json() == {
                    "error": f"No sales page of yours has domainId {number}.",
                    "error_code": "domain_not_found",
                }
        assert (await api.get(f"/api/domains/{theirs['id']}", headers=other_tenant.headers)).json() == theirs


class TestRename:
    async def test_a_renamed_page_moves_its_address_and_logins(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # given a page with a member logged in on it
        page = await add(api, tenant, "old-name")
        await make_member(database, tenant, "ann@example.com", Role.STAFF, ["old-name"])
        session = await login(api, "ann@example.com", "old-name")
        # when
        response = await api.patch(
            f"/api/domains/{page['id']}", json={"name": "New-Name"}, headers=tenant.headers
        )
        # then
        assert response.status_code == 200, response.text
        assert response.json() == {"id": page["id"], "name": "new-name", "url": URL.format("new-name")}
        assert (await api.get(f"/api/domains/{page['id']}", headers=tenant.headers)).json() == response.json()
        await login(api, "ann@example.com", "new-name")
        assert (await log_in(api, "ann@example.com", "old-name")).status_code == 401
        assert (await api.get("/api/domains", headers=session.headers)).status_code == 200
        # the same name again changes nothing
        same = await api.patch(
            f"/api/domains/{page['id']}", json={"name": "new-name"}, headers=tenant.headers
        )
        assert same.json() == response.json()

    async def test_a_taken_or_bad_name_changes_nothing(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        page = await add(api, tenant, "mine")
        await make_page(database, other_tenant, "theirs")
        taken = await api.patch(f"/api/domains/{page['id']}", json={"name": "theirs"}, headers=tenant.headers)
        assert (taken.status_code, taken.json()["error_code"]) == (409, "subdomain_taken")
        bad = await api.patch(f"/api/domains/{page['id']}", json={"name": "no way"}, headers=tenant.headers)
        assert (bad.status_code, bad.json()["field"]) == (422, "name")
        missing = await api.patch(f"/api/domains/{page['id']}", json={}, headers=tenant.headers)
        assert (missing.status_code, missing.json()["field"]) == (422, "name")
        assert (await api.get(f"/api/domains/{page['id']}", headers=tenant.headers)).json() == page


async def test_no_credentials_is_401(api: httpx.AsyncClient) -> None:
    for response in (
        await api.get("/api/domains"),
        await api.post("/api/domains", json={"name": "x"}),
        await api.post("/api/domains", content=b"{broken"),
        await api.get("/api/domains/1"),
        await api.patch("/api/domains/1", json={"name": "x"}),
    ):
        assert response.status_code == 401
        assert response.json()["error_code"] == "unauthenticated"


async def test_the_account_routes_document_their_answers(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/api/openapi.json")).json()["paths"]
    documented = {
        f"{method.upper()} {path}": sorted(operation["responses"])
        for path, operations in paths.items()
        if path.startswith(("/keys", "/staff/{", "/staff", "/domains")) and path != "/staff/me/password"
        for method, operation in operations.items()
    }
    assert documented == {
        "POST /keys": ["201", "401", "403", "413", "422"],
        "GET /keys": ["200", "401", "403", "422"],
        "DELETE /keys/{api_key_id}": ["204", "401", "403", "404", "409", "422"],
        "GET /staff": ["200", "401", "403", "422"],
        "POST /staff": ["201", "401", "403", "409", "413", "422"],
        "GET /staff/{staff_id}": ["200", "401", "403", "404", "422"],
        "PATCH /staff/{staff_id}": ["200", "401", "403", "404", "409", "413", "422"],
        "DELETE /staff/{staff_id}": ["204", "401", "403", "404", "409", "422"],
        "GET /domains": ["200", "401", "422"],  # any login
        "POST /domains": ["201", "401", "403", "409", "413", "422"],
        "GET /domains/{domain_id}": ["200", "401", "403", "404", "422"],
        "PATCH /domains/{domain_id}": ["200", "401", "403", "404", "409", "413", "422"],
    }
    assert "password_hash" not in str(paths)
