"""The settings pages over the app (both databases): owners only; API keys shown once, working on
the API and stopped by a revocation; publishable keys' origins; webhooks with their secret, their
delivery log, a redelivery and a rotation; staff invited with a first password, given a new role
and deactivated (the last owner stays); sales pages; the timezone and currency; the branding on
the public pages, the shop and a sent mail. Each form: CSRF, a bad value beside its field that
changes nothing, and every client-set text escaped."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from PIL import Image
from sqlalchemy import func, select

import voucherd.worker  # noqa: F401 - registers the job handlers
from tests.conftest import Tenant
from tests.fixtures.factories import add_codes, add_delivery, make_campaign
from tests.fixtures.receiver import Answer, Received, running_receiver
from tests.fixtures.smtp import SmtpServer, read, voucher_mail
from tests.web.dashboard.conftest import post
from tests.web.test_staff import csrf_of
from voucherd.api.app import create_app
from voucherd.config import get_settings
from voucherd.db import Database, unit_of_work
from voucherd.jobs import runner
from voucherd.mail.service import enqueue_voucher_mail
from voucherd.models import ApiKey, Client, SalesPage, Staff, WebhookAttempt, WebhookEndpoint
from voucherd.web.dashboard import settings
from voucherd.webhooks import delivery, network

BASE = "/dashboard/settings"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAGES = [
    "",
    "/keys",
    "/webhooks",
    "/webhooks/new",
    "/staff",
    "/pages",
    "/business",
    "/branding",
]
POSTS = [
    "/keys",
    "/webhooks",
    "/staff",
    "/pages",
    "/business",
    "/branding/accent",
    "/branding/logo/remove",
]


def no_raw(html: str) -> None:
    """No client-set tag survives unescaped."""
    assert "<script>alert" not in html
    assert "<img src=x" not in html


def secret_of(html: str) -> str:
    found = re.search(r'<textarea id="secret"[^>]*>([^<]+)</textarea>', html)
    assert found is not None, html
    return found.group(1)


async def count(database: Database, model: Any, *where: Any) -> int:
    async with unit_of_work(database, write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def client_row(database: Database, tenant: Tenant) -> Client:
    async with unit_of_work(database, write=False) as session:
        found = await session.get(Client, tenant.client_id)
        assert found is not None
        return found


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOUCHERD_WEBHOOK_ALLOWED_CIDRS", '["127.0.0.0/8"]')
    get_settings.cache_clear()


@pytest.fixture
async def visitor(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(embedded_worker=False), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test") as client:
        yield client


class TestRoles:
    @pytest.mark.parametrize("path", PAGES)
    async def test_an_owner_sees_every_settings_page(self, owner: httpx.AsyncClient, path: str) -> None:
        page = await owner.get(BASE + path)
        assert page.status_code == 200, page.text
        assert 'href="/dashboard/settings" aria-current="page"' in page.text

    async def test_a_manager_and_a_counter_login_get_the_403_page_everywhere(
        self, manager: httpx.AsyncClient, clerk: httpx.AsyncClient, database: Database
    ) -> None:
        for client in (manager, clerk):
            for path in PAGES:
                refused = await client.get(BASE + path)
                assert refused.status_code == 403, path
                assert "Not allowed for your login" in refused.text
        for path in POSTS:
            refused = await post(manager, BASE + path, {"name": "x", "accent": "#000000"})
            assert refused.status_code == 403, path
            assert "may not change the business" in refused.text
        assert await count(database, ApiKey) == 1  # the tenant's own key only

    async def test_every_settings_route_refuses_a_manager(self, manager: httpx.AsyncClient) -> None:
        ids = {"key_id": uuid.uuid4(), "endpoint_id": uuid.uuid4(), "delivery_id": uuid.uuid4(), "number": 1}
        routes = [route for route in settings.router.routes if isinstance(route, APIRoute)]
        assert len(routes) > 20
        for route in routes:
            path = "/dashboard" + route.path.format(**ids)
            for method in route.methods:
                if method == "GET":
                    refused = await manager.get(path)
                else:
                    refused = await post(manager, path, {"name": "x"})
                assert refused.status_code == 403, (method, path)
                assert "may not change the business" in refused.text

    async def test_the_index_links_each_part(self, owner: httpx.AsyncClient) -> None:
        index = (await owner.get(BASE)).text
        for path in PAGES[1:]:
            if path != "/webhooks/new":
                assert f'href="{BASE}{path}"' in index

    async def test_a_form_without_its_token_changes_nothing(
        self, owner: httpx.AsyncClient, database: Database
    ) -> None:
        for path in POSTS:
            refused = await owner.post(BASE + path, data={"name": "k", "csrf_token": "forged"})
            assert refused.status_code == 403, path
            assert "This form has expired" in refused.text
        assert await count(database, ApiKey) == 1
        assert await count(database, SalesPage) == 1


class TestApiKeys:
    async def test_a_key_is_shown_once_works_on_the_api_and_stops_when_revoked(
        self, owner: httpx.AsyncClient, api: httpx.AsyncClient, database: Database
    ) -> None:
        made = await post(owner, f"{BASE}/keys", {"name": f"Till {SCRIPT}", "kind": "secret"})
        assert made.status_code == 201, made.text
        key = secret_of(made.text)
        assert key.startswith("vd_live_")
        assert made.headers["cache-control"] == "no-store, private"
        assert 'data-copy="secret"' in made.text
        assert "Till &lt;script&gt;alert(1)&lt;/script&gt;" in made.text
        no_raw(made.text)
        listed = await owner.get(f"{BASE}/keys")
        assert key not in listed.text  # never shown again
        assert key[:16] in listed.text  # its visible prefix is
        assert "Till &lt;script&gt;" in listed.text
        no_raw(listed.text)
        bearer = {"Authorization": f"Bearer {key}"}
        assert (await api.get("/api/keys", headers=bearer)).status_code == 200
        async with unit_of_work(database, write=False) as session:
            row = await session.scalar(select(ApiKey).where(ApiKey.name.startswith("Till")))
        assert row is not None
        revoked = await post(owner, f"{BASE}/keys/{row.id}/revoke", form_page=f"{BASE}/keys")
        assert revoked.status_code == 303
        assert revoked.headers["location"] == f"{BASE}/keys?done=revoked"
        assert (await api.get("/api/keys", headers=bearer)).status_code == 401
        after = await owner.get(revoked.headers["location"])
        assert "The key is revoked" in after.text
        assert "Revoked" in after.text

    async def test_a_key_without_a_name_is_refused_beside_its_field(
        self, owner: httpx.AsyncClient, database: Database
    ) -> None:
        refused = await post(owner, f"{BASE}/keys", {"name": "  ", "kind": "secret"})
        assert refused.status_code == 422
        assert 'id="name-error"' in refused.text
        assert "name must be 1 to 200 characters" in refused.text
        assert await count(database, ApiKey) == 1

    async def test_publishable_keys_take_origins_that_can_be_changed(
        self, owner: httpx.AsyncClient, database: Database
    ) -> None:
        bad = await post(
            owner,
            f"{BASE}/keys",
            {"name": "Shop page", "kind": "publishable", "origins": f"https://shop.example\n{IMG}"},
        )
        assert bad.status_code == 422
        assert 'id="pk_origins-error"' in bad.text
        assert "is not an origin" in bad.text
        no_raw(bad.text)
        assert await count(database, ApiKey) == 1
        made = await post(
            owner,
            f"{BASE}/keys",
            {
                "name": "Shop page",
                "kind": "publishable",
                "origins": "https://shop.example\nhttps://b.example",
            },
        )
        assert made.status_code == 201
        assert secret_of(made.text).startswith("vd_live_")
        async with unit_of_work(database, write=False) as session:
            key = await session.scalar(select(ApiKey).where(ApiKey.publishable.is_(True)))
        assert key is not None
        assert key.allowed_origins == ["https://b.example", "https://shop.example"]
        form = await owner.get(f"{BASE}/keys/{key.id}/origins")
        assert form.status_code == 200
        assert (
            "https://shop.example\nhttps://b.example" in form.text
            or "https://b.example\nhttps://shop.example" in form.text
        )
        url = f"{BASE}/keys/{key.id}/origins"
        refused = await post(owner, url, {"origins": "ftp://nope"}, form_page=url)
        assert refused.status_code == 422
        saved = await post(owner, url, {"origins": "https://new.example"}, form_page=url)
        assert saved.status_code == 303
        async with unit_of_work(database, write=False) as session:
            changed = await session.get(ApiKey, key.id)
        assert changed is not None
        assert changed.allowed_origins == ["https://new.example"]
        listed = await owner.get(f"{BASE}/keys")
        assert "https://new.example" in listed.text


class TestWebhooks:
    async def test_create_with_events_log_redeliver_and_rotate(
        self,
        owner: httpx.AsyncClient,
        api: httpx.AsyncClient,
        database: Database,
        tenant: Tenant,
        loopback: None,
    ) -> None:
        def first_fails(request: Received, number: int) -> Answer:
            return Answer(status=500 if number == 1 else 200)

        campaign = await make_campaign(database, tenant)
        await add_codes(database, tenant, campaign, ["SUMMER20-X7K3M2"])
        with running_receiver(first_fails) as receiver:
            new = await owner.get(f"{BASE}/webhooks/new")
            assert 'value="voucher.redeemed"' in new.text
            url = f"{receiver.url}?x={IMG}"
            made = await post(
                owner,
                f"{BASE}/webhooks",
                {"name": f"Till {SCRIPT}", "url": url, "events": ["voucher.redeemed", "lead.captured"]},  # type: ignore[dict-item]
            )
            assert made.status_code == 201, made.text
            secret = secret_of(made.text)
            assert secret.startswith("whsec_")
            no_raw(made.text)
            async with unit_of_work(database, write=False) as session:
                endpoint = (await session.scalars(select(WebhookEndpoint))).one()
            assert endpoint.events == ["voucher.redeemed", "lead.captured"]
            listed = await owner.get(f"{BASE}/webhooks")
            assert secret not in listed.text
            assert "Till &lt;script&gt;" in listed.text
            no_raw(listed.text)
            # a redemption's event: the first attempt fails (500)
            redeemed = await api.post(
                "/api/webhook/redemption",
                headers=tenant.headers,
                json={"code": "SUMMER20-X7K3M2", "transaction_amount": 45.99, "order_reference": "A1"},
            )
            assert redeemed.status_code == 201
            async with network.new_client() as http:
                assert await delivery.process_once(database, http) == 1
                page = await owner.get(f"{BASE}/webhooks/{endpoint.id}")
                assert page.status_code == 200
                assert secret not in page.text
                no_raw(page.text)
                assert "voucher.redeemed" in page.text
                assert ">Failed<" in page.text
                assert '<td class="number" data-label="Response">500</td>' in page.text
                delivery_id = re.search(r"/deliveries/([0-9a-f-]+)/redeliver", page.text)
                assert delivery_id is not None
                again = await post(
                    owner,
                    f"{BASE}/webhooks/{endpoint.id}/deliveries/{delivery_id.group(1)}/redeliver",
                    form_page=f"{BASE}/webhooks/{endpoint.id}",
                )
                assert again.status_code == 303
                assert await delivery.process_once(database, http) == 1
            assert len(receiver.requests) == 2
            assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
        log = await owner.get(f"{BASE}/webhooks/{endpoint.id}?done=redelivered")
        assert "queued" in log.text
        assert ">Delivered<" in log.text
        assert '<td class="number" data-label="Response">200</td>' in log.text
        assert await count(database, WebhookAttempt) == 2
        rotated = await post(
            owner, f"{BASE}/webhooks/{endpoint.id}/rotate", form_page=f"{BASE}/webhooks/{endpoint.id}"
        )
        assert rotated.status_code == 200
        new_secret = secret_of(rotated.text)
        assert new_secret.startswith("whsec_")
        assert new_secret != secret
        async with unit_of_work(database, write=False) as session:
            stored = await session.get(WebhookEndpoint, endpoint.id)
        assert stored is not None
        assert (stored.secret, stored.previous_secret) == (new_secret, secret)

    async def test_the_delivery_log_is_paginated(
        self, owner: httpx.AsyncClient, database: Database, tenant: Tenant, loopback: None
    ) -> None:
        from tests.webhooks.conftest import make_endpoint

        endpoint, _ = await make_endpoint(database, tenant, "http://127.0.0.1:9/hook")
        async with unit_of_work(database) as session:
            for number in range(30):
                await add_delivery(
                    session,
                    tenant.client_id,
                    endpoint.id,
                    event_type="voucher.created",
                    error=f"refused {number} {SCRIPT}",
                    duration_ms=3,
                )
        first = await owner.get(f"{BASE}/webhooks/{endpoint.id}")
        assert "Page 1 of 2 (30)" in first.text
        assert first.text.count("/redeliver") == 25
        no_raw(first.text)
        second = await owner.get(f"{BASE}/webhooks/{endpoint.id}?page=2")
        assert second.text.count("/redeliver") == 5

    async def test_a_bad_change_changes_nothing_and_delete_removes_it(
        self, owner: httpx.AsyncClient, database: Database, tenant: Tenant, loopback: None
    ) -> None:
        from tests.webhooks.conftest import make_endpoint

        endpoint, _ = await make_endpoint(database, tenant, "http://127.0.0.1:9/hook", name="Till")
        url = f"{BASE}/webhooks/{endpoint.id}"
        refused = await post(
            owner, url, {"name": "Renamed", "url": "http://10.0.0.1/x", "events": "*"}, form_page=url
        )
        assert refused.status_code == 422
        assert 'id="url-error"' in refused.text
        async with unit_of_work(database, write=False) as session:
            kept = await session.get(WebhookEndpoint, endpoint.id)
        assert kept is not None
        assert (kept.name, kept.url) == ("Till", "http://127.0.0.1:9/hook")
        no_events = await post(owner, url, {"name": "Renamed", "url": kept.url}, form_page=url)
        assert no_events.status_code == 422
        assert 'id="events-error"' in no_events.text
        saved = await post(
            owner, url, {"name": "Renamed", "url": kept.url, "events": "lead.captured"}, form_page=url
        )
        assert saved.status_code == 303
        async with unit_of_work(database, write=False) as session:
            changed = await session.get(WebhookEndpoint, endpoint.id)
        assert changed is not None
        assert (changed.name, changed.events, changed.enabled) == ("Renamed", ["lead.captured"], False)
        gone = await post(owner, f"{url}/delete", form_page=url)
        assert gone.status_code == 303
        assert await count(database, WebhookEndpoint) == 0

    async def test_another_clients_webhook_is_not_found(
        self, owner: httpx.AsyncClient, database: Database, other_tenant: Tenant, loopback: None
    ) -> None:
        from tests.webhooks.conftest import make_endpoint

        endpoint, _ = await make_endpoint(database, other_tenant, "http://127.0.0.1:9/hook")
        assert (await owner.get(f"{BASE}/webhooks/{endpoint.id}")).status_code == 404
        deleted = await post(owner, f"{BASE}/webhooks/{endpoint.id}/delete")
        assert deleted.status_code == 404
        assert await count(database, WebhookEndpoint) == 1


async def dashboard_login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    form = await client.get("/dashboard/login")
    return await client.post(
        "/dashboard/login",
        data={"csrf_token": csrf_of(form.text), "email": email, "password": password, "next": "/dashboard/"},
    )


class TestStaff:
    async def test_an_invited_login_works_until_its_role_changes_and_it_is_deactivated(
        self, owner: httpx.AsyncClient, visitor: httpx.AsyncClient, database: Database
    ) -> None:
        async with unit_of_work(database, write=False) as session:
            page = await session.scalar(select(SalesPage.number).where(SalesPage.name == "the-shop"))
        made = await post(
            owner,
            f"{BASE}/staff",
            {"full_name": f"Mia {SCRIPT}", "email": "mia@example.com", "role": "manager", "pages": str(page)},
        )
        assert made.status_code == 201, made.text
        password = secret_of(made.text)
        assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", password)
        assert "Mia &lt;script&gt;" in made.text
        no_raw(made.text)
        listed = await owner.get(f"{BASE}/staff")
        assert password not in listed.text
        assert "Mia &lt;script&gt;" in listed.text
        no_raw(listed.text)
        # the new login logs in, as a manager
        assert (await dashboard_login(visitor, "mia@example.com", password)).status_code == 303
        assert (await visitor.get("/dashboard/")).status_code == 200
        async with unit_of_work(database, write=False) as session:
            mia = await session.scalar(select(Staff).where(Staff.email == "mia@example.com"))
        assert mia is not None
        url = f"{BASE}/staff/{mia.number}"
        member = await owner.get(url)
        assert member.status_code == 200
        no_raw(member.text)
        # a new role ends her session
        changed = await post(
            owner, url, {"full_name": "Mia Lane", "role": "staff", "pages": str(page)}, form_page=url
        )
        assert changed.status_code == 303
        assert (await visitor.get("/dashboard/")).status_code == 303
        assert (await dashboard_login(visitor, "mia@example.com", password)).status_code == 303
        assert (await visitor.get("/staff/")).status_code == 200
        # deactivated: her login ends, and she cannot log in again
        removed = await post(owner, f"{url}/remove", form_page=url)
        assert removed.status_code == 303
        assert (await visitor.get("/staff/")).status_code == 303
        assert (await dashboard_login(visitor, "mia@example.com", password)).status_code == 401

    async def test_the_last_owner_is_neither_demoted_nor_removed(
        self, owner: httpx.AsyncClient, database: Database
    ) -> None:
        async with unit_of_work(database, write=False) as session:
            olive = await session.scalar(select(Staff).where(Staff.email == "olive@example.com"))
        assert olive is not None
        url = f"{BASE}/staff/{olive.number}"
        demoted = await post(owner, url, {"full_name": "Olive", "role": "manager"}, form_page=url)
        assert demoted.status_code == 409
        assert "This is the client&#39;s last owner" in demoted.text
        assert 'role="alert"' in demoted.text
        removed = await post(owner, f"{url}/remove", form_page=url)
        assert removed.status_code == 409
        assert "make another member an owner first" in removed.text
        async with unit_of_work(database, write=False) as session:
            kept = await session.get(Staff, olive.id)
        assert kept is not None
        assert (kept.role, kept.full_name, kept.deleted_at) == ("owner", "Sam Counter", None)
        assert (await owner.get(BASE)).status_code == 200  # still logged in

    async def test_bad_invitations_are_refused_beside_their_field(
        self, owner: httpx.AsyncClient, database: Database
    ) -> None:
        bad_email = await post(
            owner, f"{BASE}/staff", {"full_name": "Ann", "email": f"not-an-email{IMG}", "role": "staff"}
        )
        assert bad_email.status_code == 422
        assert 'id="email-error"' in bad_email.text
        no_raw(bad_email.text)
        bad_role = await post(
            owner, f"{BASE}/staff", {"full_name": "Ann", "email": "a@example.com", "role": "admin"}
        )
        assert bad_role.status_code == 422
        assert 'id="role-error"' in bad_role.text
        taken = await post(
            owner, f"{BASE}/staff", {"full_name": "Ann", "email": "olive@example.com", "role": "staff"}
        )
        assert taken.status_code == 409
        assert "already has a login with this email" in taken.text
        assert await count(database, Staff) == 1


class TestSalesPages:
    async def test_add_and_rename_with_bad_names_refused(
        self, owner: httpx.AsyncClient, database: Database
    ) -> None:
        bad = await post(owner, f"{BASE}/pages", {"name": f"soho{SCRIPT}"})
        assert bad.status_code == 422
        assert 'id="name-error"' in bad.text
        assert "soho&lt;script&gt;" in bad.text
        no_raw(bad.text)
        taken = await post(owner, f"{BASE}/pages", {"name": "the-shop"})
        assert taken.status_code == 409
        assert await count(database, SalesPage) == 1
        added = await post(owner, f"{BASE}/pages", {"name": "Soho"})
        assert added.status_code == 303
        listed = await owner.get(added.headers["location"])
        assert "/shop/soho/" in listed.text
        async with unit_of_work(database, write=False) as session:
            soho = await session.scalar(select(SalesPage).where(SalesPage.name == "soho"))
        assert soho is not None
        url = f"{BASE}/pages/{soho.number}"
        refused = await post(owner, url, {"name": "the-shop"}, form_page=url)
        assert refused.status_code == 409
        renamed = await post(owner, url, {"name": "soho-2"}, form_page=url)
        assert renamed.status_code == 303
        async with unit_of_work(database, write=False) as session:
            names = sorted((await session.scalars(select(SalesPage.name))).all())
        assert names == ["soho-2", "the-shop"]


class TestBusiness:
    async def test_name_timezone_and_currency_change_and_bad_values_change_nothing(
        self, owner: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        before = await client_row(database, tenant)
        form = await owner.get(f"{BASE}/business")
        assert f'value="{before.name}"' in form.text
        assert '<option value="Europe/London" selected>' in form.text
        assert '<option value="America/New_York">America/New York</option>' in form.text
        good = {"name": "Café Lune", "timezone": "Europe/Paris", "currency": "eur"}
        for field, value, shown in [
            ("timezone", "Mars/Olympus", "Unknown timezone"),
            ("currency", "EU", "ISO 4217"),
            ("name", "  ", "must not be empty"),
            ("name", "x" * 201, "at most 200 characters"),
        ]:
            bad = await post(owner, f"{BASE}/business", {**good, field: value})
            assert bad.status_code == 422, field
            assert f'id="{field}-error"' in bad.text, field
            assert shown in bad.text, field
            row = await client_row(database, tenant)
            assert (row.name, row.timezone, row.currency) == (before.name, "Europe/London", "GBP")
        saved = await post(owner, f"{BASE}/business", {**good, "name": "  Café Lune "})
        assert saved.status_code == 303
        row = await client_row(database, tenant)
        assert (row.name, row.timezone, row.currency) == ("Café Lune", "Europe/Paris", "EUR")
        page = (await owner.get(f"{BASE}/business")).text
        assert '<option value="Europe/Paris" selected>' in page
        assert "Café Lune · Dashboard" in page  # every login sees the new name at once


def png(size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


async def upload(
    owner: httpx.AsyncClient, data: bytes, name: str = "logo.png", kind: str = "image/png"
) -> Any:
    page = await owner.get(f"{BASE}/branding")
    return await owner.post(
        f"{BASE}/branding/logo",
        data={"csrf_token": csrf_of(page.text)},
        files={"logo": (name, data, kind)},
    )


class TestBranding:
    async def test_a_light_accent_is_refused_with_a_darker_one_suggested(
        self, owner: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        light = await post(owner, f"{BASE}/branding/accent", {"accent": "#FFD700"})
        assert light.status_code == 422
        assert 'id="accent-error"' in light.text
        assert "it needs 4.5:1" in light.text
        suggested = re.search(r"such as (#[0-9a-f]{6})", light.text)
        assert suggested is not None
        bad = await post(owner, f"{BASE}/branding/accent", {"accent": f"red{IMG}"})
        assert bad.status_code == 422
        no_raw(bad.text)
        assert (await client_row(database, tenant)).accent_color is None
        saved = await post(owner, f"{BASE}/branding/accent", {"accent": suggested.group(1)})
        assert saved.status_code == 303
        assert (await client_row(database, tenant)).accent_color == suggested.group(1)

    async def test_the_accent_shows_on_the_voucher_page_the_shop_and_a_sent_mail(
        self,
        owner: httpx.AsyncClient,
        api: httpx.AsyncClient,
        database: Database,
        tenant: Tenant,
        smtp_server: SmtpServer,
    ) -> None:
        assert (await post(owner, f"{BASE}/branding/accent", {"accent": "#7A1F5C"})).status_code == 303
        sheet = '<link rel="stylesheet" href="/brand/accent-7a1f5c.css">'
        css = await api.get("/brand/accent-7a1f5c.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert css.text == ":root{--accent:#7a1f5c}\n"
        assert (await api.get("/brand/accent-nothex.css")).status_code == 404
        campaign = await make_campaign(database, tenant)
        await add_codes(database, tenant, campaign, ["SUMMER20-X7K3M2"])
        voucher = await api.get("/redeem/SUMMER20-X7K3M2")
        assert voucher.status_code == 200
        assert sheet in voucher.text
        assert '<header class="brand-band">' in voucher.text
        assert "unsafe-inline" not in voucher.headers["content-security-policy"]
        assert " style=" not in voucher.text
        shop = await api.get("/shop/the-shop/")
        assert shop.status_code == 200
        assert sheet in shop.text
        assert " style=" not in shop.text
        # the mail: sent by the worker with the brand of the day
        async with unit_of_work(database) as session:
            await enqueue_voucher_mail(session, tenant.client_id, voucher_mail(), None)
        assert await runner.run_until_idle(database) == 1
        [message] = smtp_server.inbox.messages
        html = read(message).html
        assert "background:#7a1f5c;color:#ffffff" in html
        assert "color:#7a1f5c;" in html

    async def test_a_logo_is_checked_by_content_and_served_publicly(
        self, owner: httpx.AsyncClient, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        text = await upload(owner, b"<svg onload=alert(1)>", "logo.png", "image/png")
        assert text.status_code == 422
        assert "The logo must be a PNG, JPEG or WebP image." in text.text
        fake = await upload(owner, b"\x89PNG\r\n\x1a\n" + b"not really" * 10)
        assert fake.status_code == 422
        gif = io.BytesIO()
        Image.new("RGB", (4, 4)).save(gif, "GIF")
        refused = await upload(owner, gif.getvalue(), "logo.gif", "image/gif")
        assert refused.status_code == 422
        big = await upload(owner, b"\x89PNG\r\n\x1a\n" + bytes(600 * 1024))
        assert big.status_code in {413, 422}
        row = await client_row(database, tenant)
        assert row.logo_digest is None
        image = png()
        done = await upload(owner, image, "whatever.txt", "text/plain")  # the content decides
        assert done.status_code == 303, done.text
        row = await client_row(database, tenant)
        assert row.logo_type == "image/png"
        assert row.logo_digest is not None
        page = await owner.get(f"{BASE}/branding")
        logo_url = f"/brand/{row.number}/logo?v={row.logo_digest[:12]}"
        assert logo_url in page.text
        served = await api.get(logo_url)
        assert served.status_code == 200
        assert served.content == image
        assert served.headers["content-type"] == "image/png"
        assert "immutable" in served.headers["cache-control"]
        assert served.headers["x-content-type-options"] == "nosniff"
        assert (await api.get("/brand/999999/logo")).status_code == 404
        campaign = await make_campaign(database, tenant)
        await add_codes(database, tenant, campaign, ["SUMMER20-X7K3M2"])
        assert logo_url in (await api.get("/redeem/SUMMER20-X7K3M2")).text
        assert logo_url in (await api.get("/shop/the-shop/")).text
        removed = await post(owner, f"{BASE}/branding/logo/remove", form_page=f"{BASE}/branding")
        assert removed.status_code == 303
        assert (await api.get(logo_url)).status_code == 404
