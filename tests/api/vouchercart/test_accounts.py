"""VoucherCart's accounts (seed 003): register, user-domains, authorize, refresh, domains, as the
seed's curl sends them (forms) and as JSON; RELIABILITY S12 (tokens we must refuse) and S13
(refresh rotation, reuse)."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select

from tests.conftest import Tenant
from voucherd.accounts import tokens
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.models import Client, RefreshToken, SalesPage, Staff

V1 = "/vouchercart/v1"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# The seed's register curl, with the '&' it lacks before fullName; curl -d sends it as typed.
REGISTER = (
    "email=restaurant@example.com&password=N14kYm8Wz1BACcg2&fullName=John+Doe&companyName=Doe+Restaurants"
    "&subdomain=doe-restaurants&phone=555-555-555&country=US&timezone=EST&cardNumber=4111111111111111"
    "&cardCvv=123&cardExpiryMonth=10&cardExpiryYear=2020&cardHolderName=John+Doe"
)


def basic(email: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


async def register(api: httpx.AsyncClient, body: str = REGISTER) -> dict[str, Any]:
    response = await api.post(f"{V1}/register", content=body, headers=FORM)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def log_in(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.post(
        f"{V1}/authorize",
        content="subdomain=doe-restaurants",
        headers={**FORM, **basic("restaurant@example.com", "N14kYm8Wz1BACcg2")},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_register_answers_the_documented_body_and_keeps_no_card(
    api: httpx.AsyncClient, database: Database
) -> None:
    body = await register(api)
    assert list(body) == ["status", "clientId", "domainId"]
    assert body["status"] == "created"
    assert isinstance(body["clientId"], int)
    assert isinstance(body["domainId"], int)
    async with unit_of_work(database, write=False) as session:
        client = await session.scalar(select(Client).where(Client.number == body["clientId"]))
        page = await session.scalar(select(SalesPage).where(SalesPage.number == body["domainId"]))
        owner = await session.scalar(select(Staff))
        assert client is not None
        assert page is not None
        assert owner is not None
        assert (client.name, client.currency, client.timezone) == ("Doe Restaurants", "USD", "EST")
        assert (page.name, page.client_id) == ("doe-restaurants", client.id)
        assert (owner.email, owner.full_name, owner.role) == ("restaurant@example.com", "John Doe", "owner")
        assert owner.password_hash.startswith("$argon2id$")
        stored = " ".join(repr(row.__dict__) for row in (client, page, owner))
    assert "4111111111111111" not in stored
    assert "N14kYm8Wz1BACcg2" not in stored


async def test_register_refuses_what_a_person_must_fix(api: httpx.AsyncClient) -> None:
    await register(api)
    taken = await api.post(f"{V1}/register", content=REGISTER.replace("restaurant@", "other@"), headers=FORM)
    assert taken.status_code == 409
    assert taken.json() == {
        "status": "failed",
        "error": "The sales page 'doe-restaurants' is taken; choose another subdomain.",
        "code": "subdomain_taken",
    }
    short = await api.post(f"{V1}/register", json={"email": "a@example.com", "password": "short",
                                                     "fullName": "A", "companyName": "A Co"})  # fmt: skip
    assert (short.status_code, short.json()["code"]) == (422, "invalid_input")
    assert "at least 10 characters" in short.json()["error"]
    bad = await api.post(f"{V1}/register", json={"email": "not-an-email", "password": "long enough pw",
                                                   "fullName": "A", "companyName": "A Co"})  # fmt: skip
    assert bad.status_code == 422
    assert "email" in bad.json()["error"]
    missing = await api.post(f"{V1}/register", json={"email": "b@example.com"})
    assert missing.status_code == 422
    assert missing.json()["error"] == "password is required."
    # without a subdomain one is made from the company name (JSON works as forms do)
    cafe = {
        "email": "c@example.com",
        "password": "long enough pw",
        "fullName": "C",
        "companyName": "Café Rouge & Co",
    }
    made = await api.post(f"{V1}/register", json=cafe)
    assert made.status_code == 201
    domains = await api.get(f"{V1}/user-domains", params={"email": "C@example.com"})
    assert domains.json()["domains"][0]["name"] == "cafe-rouge-co"


async def test_user_domains_and_domains(api: httpx.AsyncClient, tenant: Tenant) -> None:
    body = await register(api)
    found = await api.get(f"{V1}/user-domains?email=restaurant@example.com")
    assert found.status_code == 200
    assert found.json() == {
        "status": "success",
        "domains": [
            {
                "id": body["domainId"],
                "name": "doe-restaurants",
                "url": "http://127.0.0.1:8000/shop/doe-restaurants/",
            }
        ],
    }
    unknown = await api.get(f"{V1}/user-domains?email=nobody@example.com")
    assert unknown.json() == {"status": "success", "domains": []}
    login = await log_in(api)
    mine = await api.get(f"{V1}/domains", headers={"Authorization": f"Bearer {login['accessToken']}"})
    assert mine.json() == found.json()
    # an API key is a bearer token here too: another client's key sees none of these pages
    theirs = await api.get(f"{V1}/domains", headers={"Authorization": f"Bearer {tenant.api_key}"})
    assert theirs.json() == {"status": "success", "domains": []}
    refused = await api.get(f"{V1}/domains")
    assert refused.status_code == 401
    assert refused.json()["status"] == "failed"


async def test_authorize_answers_the_documented_body_and_refuses_alike(api: httpx.AsyncClient) -> None:
    await register(api)
    login = await log_in(api)
    assert list(login) == ["accessToken", "identifiedBy", "profile", "refreshToken", "status"]
    assert login["status"] == "authenticated"
    assert login["refreshToken"].startswith("RT")
    profile = {"email": "restaurant@example.com", "fullName": "John Doe", "locale": "en"}
    assert login["profile"] == {**profile, "id": login["profile"]["id"]}
    assert isinstance(login["profile"]["id"], int)
    claims = jwt.decode(login["accessToken"], options={"verify_signature": False})
    assert claims["jti"] == login["identifiedBy"]
    assert isinstance(claims["exp"], int)
    assert claims["exp"] - claims["iat"] == 86400
    assert claims["user"] == login["profile"]["id"]

    async def attempt(email: str, password: str, subdomain: str = "doe-restaurants") -> httpx.Response:
        return await api.post(
            f"{V1}/authorize", data={"subdomain": subdomain}, headers=basic(email, password)
        )

    wrong = [
        await attempt("restaurant@example.com", "wrong password"),
        await attempt("nobody@example.com", "N14kYm8Wz1BACcg2"),
        await attempt("restaurant@example.com", "N14kYm8Wz1BACcg2", "no-such-page"),
    ]
    assert {(r.status_code, r.text) for r in wrong} == {
        (
            401,
            '{"status":"failed","error":"The email, password or sales page is not right.",'
            '"code":"login_refused"}',
        )
    }


async def test_logins_are_rate_limited_per_account(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RELIABILITY S9 (failed logins): per-account limit, default 10/minute, not 5 in 15 min."""
    monkeypatch.setenv("VOUCHERD_RATE_LIMIT_LOGIN_PER_ACCOUNT", "3/minute")
    from voucherd.config import get_settings

    get_settings.cache_clear()
    await register(api)
    statuses = []
    for _ in range(4):
        response = await api.post(
            f"{V1}/authorize",
            data={"subdomain": "doe-restaurants"},
            headers=basic("Restaurant@example.com", "x"),
        )
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429]
    assert response.headers["Retry-After"]


class TestS12TokensWeRefuse:
    """RELIABILITY S12: each of these answers 401 on an authenticated endpoint."""

    async def claims(self, api: httpx.AsyncClient) -> dict[str, Any]:
        await register(api)
        login = await log_in(api)
        return dict(jwt.decode(login["accessToken"], options={"verify_signature": False}))

    @pytest.mark.parametrize(
        "forge",
        [
            pytest.param(lambda c, k: jwt.encode(c, None, algorithm="none"), id="alg-none"),
            pytest.param(
                lambda c, k: jwt.encode(c, "another key of at least 32 bytes!!", "HS256"), id="other-key"
            ),
            pytest.param(
                lambda c, k: jwt.encode(c, k, "HS256", headers={"kid": "unknown"}), id="unknown-kid"
            ),
            pytest.param(
                lambda c, k: jwt.encode({**c, "exp": int(clock.now().timestamp()) - 1}, k, "HS256"),
                id="expired-1s-ago",
            ),
            pytest.param(
                lambda c, k: jwt.encode({**c, "nbf": int(clock.now().timestamp()) + 60}, k, "HS256"),
                id="future-nbf",
            ),
            pytest.param(
                lambda c, k: jwt.encode({x: v for x, v in c.items() if x != "exp"}, k, "HS256"), id="no-exp"
            ),
            pytest.param(lambda c, k: jwt.encode({**c, "aud": "client999999"}, k, "HS256"), id="wrong-aud"),
            pytest.param(lambda c, k: jwt.encode({**c, "iss": "someone-else"}, k, "HS256"), id="wrong-iss"),
            pytest.param(
                lambda c, k: jwt.encode({**c, "sub": str(uuid.uuid4())}, k, "HS256"), id="unknown-staff"
            ),
        ],
    )
    async def test_refused(self, api: httpx.AsyncClient, forge: Any) -> None:
        claims = await self.claims(api)
        good = jwt.encode(claims, tokens.secret_key(), "HS256")
        ok = await api.get(f"{V1}/domains", headers={"Authorization": f"Bearer {good}"})
        assert ok.status_code == 200  # the same claims, signed right, are accepted
        token = forge(claims, tokens.secret_key())
        refused = await api.get(f"{V1}/domains", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401, refused.text
        assert refused.json()["status"] == "failed"


class TestS13RefreshRotation:
    async def refresh(self, api: httpx.AsyncClient, access: str, refresh: str) -> httpx.Response:
        return await api.put(f"{V1}/refresh", data={"accessToken": access, "refreshToken": refresh})

    async def test_rotation_reuse_and_family_revocation(
        self, api: httpx.AsyncClient, database: Database
    ) -> None:
        await register(api)
        login = await log_in(api)
        r1 = login["refreshToken"]
        # R1 -> R2, with a new access token
        first = await self.refresh(api, login["accessToken"], r1)
        assert first.status_code == 200, first.text
        body = first.json()
        assert list(body) == ["accessToken", "identifiedBy", "refreshToken", "status"]
        assert body["status"] == "refreshed"
        r2 = body["refreshToken"]
        assert r2.startswith("RT")
        assert r2 != r1
        # R1 again within 5 s: the same R2 (a retry, two tabs)
        again = await self.refresh(api, login["accessToken"], r1)
        assert (again.status_code, again.json()["refreshToken"]) == (200, r2)
        # nothing is stored in clear
        async with unit_of_work(database, write=False) as session:
            hashes = set((await session.scalars(select(RefreshToken.token_hash))).all())
        assert r1 not in hashes
        assert r2 not in hashes
        assert tokens.digest(r2) in hashes
        # R1 again later: the family is revoked, R2 included
        with clock.frozen(clock.now() + timedelta(seconds=6)):
            late = await self.refresh(api, login["accessToken"], r1)
            assert late.status_code == 401
            assert "logged out" in late.json()["error"]
            assert (await self.refresh(api, body["accessToken"], r2)).status_code == 401
        # another login is another family, unaffected
        fresh = await log_in(api)
        assert (await self.refresh(api, fresh["accessToken"], fresh["refreshToken"])).status_code == 200

    async def test_a_refresh_token_goes_with_its_own_access_token(self, api: httpx.AsyncClient) -> None:
        await register(api)
        one, two = await log_in(api), await log_in(api)
        mixed = await self.refresh(api, two["accessToken"], one["refreshToken"])
        assert mixed.status_code == 401
        assert (await self.refresh(api, "not a token", one["refreshToken"])).status_code == 401
        assert (await self.refresh(api, one["accessToken"], "RTnope")).status_code == 401


async def test_the_key_file_is_made_once_and_kept(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from voucherd.config import get_settings

    monkeypatch.delenv("VOUCHERD_SECRET_KEY")
    monkeypatch.setenv("VOUCHERD_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    tokens.secret_key.cache_clear()
    made = tokens.secret_key()
    assert (tmp_path / "secret_key").read_bytes() == made
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    tokens.secret_key.cache_clear()
    assert tokens.secret_key() == made


async def test_a_password_change_ends_every_session(api: httpx.AsyncClient) -> None:
    await register(api)
    one, two = await log_in(api), await log_in(api)
    bearer = {"Authorization": f"Bearer {one['accessToken']}"}
    wrong = await api.post(
        "/api/staff/me/password",
        json={"current_password": "not it", "new_password": "a brand new password"},
        headers=bearer,
    )
    assert (wrong.status_code, wrong.json()["field"]) == (422, "current_password")
    changed = await api.post(
        "/api/staff/me/password",
        json={"current_password": "N14kYm8Wz1BACcg2", "new_password": "a brand new password"},
        headers=bearer,
    )
    assert changed.status_code == 204
    # every access token and refresh token of the member stops at once, this session's too
    for login in (one, two):
        token = {"Authorization": f"Bearer {login['accessToken']}"}
        assert (await api.get(f"{V1}/domains", headers=token)).status_code == 401
        refresh = await api.put(
            f"{V1}/refresh", data={"accessToken": login["accessToken"], "refreshToken": login["refreshToken"]}
        )
        assert refresh.status_code == 401
    # the new password logs in at once; the old one no longer does
    fresh = await api.post(
        f"{V1}/authorize",
        data={"subdomain": "doe-restaurants"},
        headers=basic("restaurant@example.com", "a brand new password"),
    )
    assert fresh.status_code == 200
    new_token = {"Authorization": f"Bearer {fresh.json()['accessToken']}"}
    assert (await api.get(f"{V1}/domains", headers=new_token)).status_code == 200
    old = await api.post(
        f"{V1}/authorize",
        data={"subdomain": "doe-restaurants"},
        headers=basic("restaurant@example.com", "N14kYm8Wz1BACcg2"),
    )
    assert old.status_code == 401


async def test_an_owner_sees_every_sales_page_as_on_our_api(api: httpx.AsyncClient) -> None:
    """An owner administers all the client's pages, also those not given to their login."""
    await register(api)
    owner = {"Authorization": f"Bearer {(await log_in(api))['accessToken']}"}
    added = await api.post("/api/domains", json={"name": "doe-terrace"}, headers=owner)
    assert added.status_code == 201, added.text
    listed = (await api.get(f"{V1}/domains", headers=owner)).json()
    assert [page["name"] for page in listed["domains"]] == ["doe-restaurants", "doe-terrace"]
    ours = (await api.get("/api/domains", headers=owner)).json()
    assert [page["name"] for page in ours["data"]] == ["doe-restaurants", "doe-terrace"]
