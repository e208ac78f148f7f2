"""GET/POST /api/staff, GET/PATCH/DELETE /api/staff/{id}: members by number, never a password
hash; a new role, a new password, a page taken away or removal ends their sessions at once; the
last owner stays; RELIABILITY S7 (a PATCH changes only what it may); another client's member 404."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Tenant
from tests.fixtures.staff import PASSWORD, log_in, login, make_member, make_page, refresh, session_works
from voucherd.accounts.service import Role
from voucherd.db import Database, unit_of_work
from voucherd.models import SalesPage, Staff

NEW = {"email": "Ann@Example.com", "password": "ten chars!", "fullName": "Ann Smith", "role": "manager"}


async def pages(database: Database, tenant: Tenant, *names: str) -> list[int]:
    return [(await make_page(database, tenant, name)).number for name in names]


async def add(api: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await api.post("/api/staff", json={**NEW, **body}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def row(database: Database, number: int) -> Staff:
    async with unit_of_work(database, write=False) as session:
        found = await session.scalar(select(Staff).where(Staff.number == number))
    assert found is not None
    return found


class TestCreate:
    async def test_a_new_member_logs_in_on_the_pages_given(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # given two sales pages
        front, back = await pages(database, tenant, "front", "back")
        # when
        body = await add(api, tenant, domainIds=[back, front, front])
        # then
        assert body == {
            "id": body["id"],
            "email": "Ann@example.com",
            "fullName": "Ann Smith",
            "role": "manager",
            "domainIds": [front, back],
            "created_at": body["created_at"],
            "updated_at": body["created_at"],
        }
        assert isinstance(body["id"], int)
        stored = await row(database, body["id"])
        assert stored.password_hash.startswith("$argon2id$")  # RELIABILITY S9: argon2id hashes
        assert stored.password_hash not in str(body)
        await login(api, "ann@example.com", "back", password="ten chars!")
        await login(api, "ann@example.com", "front", password="ten chars!")

    async def test_snake_case_names_and_defaults(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        snake = {"email": "bo@example.com", "password": "ten chars!", "full_name": "Bo", "domain_ids": []}
        made = await api.post("/api/staff", json=snake, headers=tenant.headers)
        assert made.status_code == 201, made.text
        assert (made.json()["fullName"], made.json()["role"], made.json()["domainIds"]) == ("Bo", "staff", [])
        minimal = {"email": "cy@example.com", "password": "ten chars!", "fullName": "Cy"}
        made = await api.post("/api/staff", json=minimal, headers=tenant.headers)
        assert (made.status_code, made.json()["role"]) == (201, "staff")

    @pytest.mark.parametrize(
        ("change", "status", "field"),
        [
            ({"password": "nine char"}, 422, "password"),
            ({"email": "not-an-email"}, 422, "email"),
            ({"fullName": "   "}, 422, "fullName"),
            ({"role": "admin"}, 422, "role"),
            ({"domainIds": [2**31]}, 422, "domainIds.0"),
            ({"email": None}, 422, "email"),
        ],
    )
    async def test_bad_input_is_422_and_makes_nothing(
        self,
        api: httpx.AsyncClient,
        database: Database,
        tenant: Tenant,
        change: dict[str, Any],
        status: int,
        field: str,
    ) -> None:
        response = await api.post("/api/staff", json={**NEW, **change}, headers=tenant.headers)
        assert response.status_code == status, response.text
        assert response.json()["field"] == field
        assert (await api.get("/api/staff", headers=tenant.headers)).json()["total"] == 0

    async def test_a_short_password_says_how_long(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await api.post("/api/staff", json={**NEW, "password": "short"}, headers=tenant.headers)
        assert response.status_code == 422
        assert "at least 10 characters" in response.json()["error"]

    async def test_an_email_is_one_login_per_client(
        self, api: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await add(api, tenant)
        taken = await api.post("/api/staff", json={**NEW, "email": "ann@EXAMPLE.com"}, headers=tenant.headers)
        assert taken.status_code == 409
        assert taken.json() == {
            "error": "This client already has a login with this email.",
            "error_code": "staff_email_taken",
        }
        # another client may have a login with the same email
        await add(api, other_tenant)

    async def test_another_clients_page_is_not_given(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        [theirs] = await pages(database, other_tenant, "theirs")
        response = await api.post("/api/staff", json={**NEW, "domainIds": [theirs]}, headers=tenant.headers)
        assert response.status_code == 422
        assert response.json()["field"] == "domainIds"
        assert (
            response.json()["error"]
            == f"No sales page of yours has the id {theirs}; GET /domains lists them."
        )


class TestRead:
    async def test_list_and_get_never_show_a_hash(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        # given two members of the tenant and one of another client
        ann = await add(api, tenant)
        bo = await add(api, tenant, email="bo@example.com", fullName="Bo", role="owner")
        await add(api, other_tenant, email="zed@example.com")
        # when
        listed = await api.get("/api/staff", headers=tenant.headers)
        one = await api.get(f"/api/staff/{bo['id']}", headers=tenant.headers)
        # then
        assert listed.status_code == 200
        assert listed.json() == {"data": [ann, bo], "page": 1, "limit": 100, "total": 2, "has_more": False}
        assert one.json() == bo
        assert "argon2" not in listed.text + one.text
        second_page = await api.get("/api/staff?limit=1&page=2", headers=tenant.headers)
        assert second_page.json()["data"] == [bo]

    async def test_an_unknown_or_other_clients_member_is_404(
        self, api: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        theirs = await add(api, other_tenant)
        for number in (theirs["id"], 999_999, 2**31 - 1):
            for response in (
                await api.get(f"/api/staff/{number}", headers=tenant.headers),
                await api.patch(f"/api/staff/{number}", json={"fullName": "Mine"}, headers=tenant.headers),
                await api.delete(f"/api/staff/{number}", headers=tenant.headers),
            ):
                assert response.status_code == 404, response.text
                assert response.json() == {"error": "Staff member not found.", "error_code": "not_found"}
        assert (await api.get(f"/api/staff/{theirs['id']}", headers=other_tenant.headers)).json() == theirs
        for bad in ("0", "-1", str(2**31), "me", "1.5"):
            assert (await api.get(f"/api/staff/{bad}", headers=tenant.headers)).status_code == 422


class TestUpdate:
    async def test_name_and_email_change_and_sessions_stay(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # given a member logged in
        [shop] = await pages(database, tenant, "shop")
        ann = await add(api, tenant, domainIds=[shop])
        session = await login(api, "ann@example.com", "shop", password="ten chars!")
        # when
        response = await api.patch(
            f"/api/staff/{ann['id']}",
            json={"fullName": "Ann Jones", "email": "ann.jones@example.com"},
            headers=tenant.headers,
        )
        # then
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["fullName"], body["email"], body["role"]) == (
            "Ann Jones",
            "ann.jones@example.com",
            "manager",
        )
        assert body["updated_at"] >= ann["updated_at"]
        assert await session_works(api, session)
        await login(api, "ann.jones@example.com", "shop", password="ten chars!")
        assert (await log_in(api, "ann@example.com", "shop", password="ten chars!")).status_code == 401

    async def test_s7_a_patch_changes_only_what_it_may(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        # given a member
        ann = await add(api, tenant)
        before = await row(database, ann["id"])
        # when a PATCH sends what no request changes
        response = await api.patch(
            f"/api/staff/{ann['id']}",
            json={
                "id": 1,
                "number": 1,
                "client_id": str(other_tenant.client_id),
                "clientId": 1,
                "password_hash": "$argon2id$forged",
                "token_generation": 99,
                "created_at": "2020-01-01T00:00:00Z",
                "updated_at": "2020-01-01T00:00:00Z",
                "deleted_at": "2020-01-01T00:00:00Z",
                "email_key": "x@example.com",
            },
            headers=tenant.headers,
        )
        # then nothing changes
        assert response.status_code == 200, response.text
        after = await row(database, ann["id"])
        fields = ("id", "number", "client_id", "email", "email_key", "full_name", "role", "password_hash",
                  "token_generation", "created_at", "deleted_at")  # fmt: skip
        assert [getattr(after, f) for f in fields] == [getattr(before, f) for f in fields]
        assert "argon2" not in response.text
        # nor when it sends nulls
        nulls = {"email": None, "password": None, "fullName": None, "role": None, "domainIds": None}
        assert (
            await api.patch(f"/api/staff/{ann['id']}", json=nulls, headers=tenant.headers)
        ).status_code == 200
        again = await row(database, ann["id"])
        assert [getattr(again, f) for f in fields] == [getattr(before, f) for f in fields]

    @pytest.mark.parametrize(
        "change",
        [{"role": "staff"}, {"password": "another long one"}, {"domainIds": []}],
        ids=["role", "password", "page taken away"],
    )
    async def test_a_change_of_power_or_access_ends_the_members_sessions(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, change: dict[str, Any]
    ) -> None:
        # given a member logged in twice
        [shop] = await pages(database, tenant, "shop")
        ann = await add(api, tenant, domainIds=[shop])
        first = await login(api, "ann@example.com", "shop", password="ten chars!")
        second = await login(api, "ann@example.com", "shop", password="ten chars!")
        assert await session_works(api, first)
        # when
        response = await api.patch(f"/api/staff/{ann['id']}", json=change, headers=tenant.headers)
        # then every session of theirs has ended
        assert response.status_code == 200, response.text
        for session in (first, second):
            assert not await session_works(api, session)
            assert (await refresh(api, session)).status_code == 401
        if "password" in change:
            await login(api, "ann@example.com", "shop", password="another long one")
            assert (await log_in(api, "ann@example.com", "shop", password="ten chars!")).status_code == 401

    async def test_a_page_given_keeps_the_sessions(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        front, back = await pages(database, tenant, "front", "back")
        ann = await add(api, tenant, domainIds=[front])
        session = await login(api, "ann@example.com", "front", password="ten chars!")
        response = await api.patch(
            f"/api/staff/{ann['id']}", json={"domainIds": [front, back]}, headers=tenant.headers
        )
        assert response.json()["domainIds"] == [front, back]
        assert await session_works(api, session)
        assert (await refresh(api, session)).status_code == 200
        await login(api, "ann@example.com", "back", password="ten chars!")

    async def test_an_email_taken_is_409_and_changes_nothing(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        ann = await add(api, tenant)
        await add(api, tenant, email="bo@example.com")
        response = await api.patch(
            f"/api/staff/{ann['id']}",
            json={"email": "BO@example.com", "fullName": "Changed"},
            headers=tenant.headers,
        )
        assert response.status_code == 409
        assert response.json()["error_code"] == "staff_email_taken"
        after = await row(database, ann["id"])
        assert (after.email, after.full_name) == ("Ann@example.com", "Ann Smith")

    async def test_only_owners_change_roles(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # given a manager and a counter member, both logged in
        await make_page(database, tenant, "shop")
        manager = await make_member(database, tenant, "manager@example.com", Role.MANAGER, ["shop"])
        counter = await make_member(database, tenant, "counter@example.com", Role.STAFF, ["shop"])
        as_manager = await login(api, "manager@example.com", "shop")
        as_counter = await login(api, "counter@example.com", "shop")
        # when they try to promote themselves or each other
        for who, target in ((as_manager, manager), (as_manager, counter), (as_counter, counter)):
            for response in (
                await api.patch(f"/api/staff/{target.number}", json={"role": "owner"}, headers=who.headers),
                await api.get("/api/staff", headers=who.headers),
                await api.post("/api/staff", json=NEW, headers=who.headers),
                await api.delete(f"/api/staff/{target.number}", headers=who.headers),
            ):
                # then
                assert response.status_code == 403, response.text
                assert response.json()["error_code"] == "permission_denied"
        assert [(await row(database, m.number)).role for m in (manager, counter)] == ["manager", "staff"]
        assert await session_works(api, as_manager)


class TestLastOwner:
    async def test_the_last_owner_is_neither_demoted_nor_removed(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # given one owner, logged in
        await make_page(database, tenant, "shop")
        owner = await make_member(database, tenant, "owner@example.com", Role.OWNER, ["shop"])
        session = await login(api, "owner@example.com", "shop")
        # when they demote or remove themselves (or an API key does)
        for headers in (session.headers, tenant.headers):
            demoted = await api.patch(f"/api/staff/{owner.number}", json={"role": "manager"}, headers=headers)
            removed = await api.delete(f"/api/staff/{owner.number}", headers=headers)
            # then
            for response in (demoted, removed):
                assert response.status_code == 409, response.text
                assert response.json()["error_code"] == "last_owner"
        after = await row(database, owner.number)
        assert (after.role, after.deleted_at, after.token_generation) == ("owner", None, 0)
        assert await session_works(api, session)
        # with a second owner, the first may step down
        second = await add(api, tenant, role="owner", email="second@example.com")
        stepped = await api.patch(
            f"/api/staff/{owner.number}", json={"role": "manager"}, headers=session.headers
        )
        assert stepped.status_code == 200
        assert not await session_works(api, session)
        refused = await api.delete(f"/api/staff/{second['id']}", headers=tenant.headers)
        assert refused.json()["error_code"] == "last_owner"

    @pytest.mark.concurrency
    async def test_two_owners_demoting_each_other_at_once_leave_one(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # given two owners
        first = await add(api, tenant, role="owner", email="first@example.com")
        second = await add(api, tenant, role="owner", email="second@example.com")
        # when each is demoted at the same time
        answers = await asyncio.gather(
            api.patch(f"/api/staff/{first['id']}", json={"role": "staff"}, headers=tenant.headers),
            api.patch(f"/api/staff/{second['id']}", json={"role": "staff"}, headers=tenant.headers),
        )
        # then one is refused and one owner is left
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        roles = sorted([(await row(database, m["id"])).role for m in (first, second)])
        assert roles == ["owner", "staff"]


class TestRemove:
    async def test_removal_ends_the_sessions_and_frees_the_email(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # given a member logged in
        [shop] = await pages(database, tenant, "shop")
        ann = await add(api, tenant, domainIds=[shop])
        session = await login(api, "ann@example.com", "shop", password="ten chars!")
        # when
        response = await api.delete(f"/api/staff/{ann['id']}", headers=tenant.headers)
        # then
        assert response.status_code == 204
        assert response.content == b""
        assert not await session_works(api, session)
        assert (await refresh(api, session)).status_code == 401
        assert (await log_in(api, "ann@example.com", "shop", password="ten chars!")).status_code == 401
        assert (await api.get(f"/api/staff/{ann['id']}", headers=tenant.headers)).status_code == 404
        assert (await api.delete(f"/api/staff/{ann['id']}", headers=tenant.headers)).status_code == 404
        assert (await api.get("/api/staff", headers=tenant.headers)).json()["total"] == 0
        assert (await row(database, ann["id"])).deleted_at is not None  # kept, as removed
        # the email may log in again, as a new member with a new number
        again = await add(api, tenant, domainIds=[shop], password=PASSWORD)
        assert again["id"] != ann["id"]
        await login(api, "ann@example.com", "shop")
        async with unit_of_work(database, write=False) as session_:
            assert (await session_.scalar(select(SalesPage).where(SalesPage.number == shop))) is not None

    async def test_no_credentials_is_401(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        for response in (
            await api.get("/api/staff"),
            await api.post("/api/staff", json=NEW),
            await api.post("/api/staff", content=b"{broken"),
            await api.get("/api/staff/1"),
            await api.patch("/api/staff/1", json={"role": "owner"}),
            await api.delete("/api/staff/1"),
        ):
            assert response.status_code == 401
            assert response.json()["error_code"] == "unauthenticated"
