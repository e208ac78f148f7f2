"""`/api/integrations/webhooks`: the documented create call, management, SSRF refusals (W9, W10),
the delivery log and redelivery, on both databases."""

from __future__ import annotations

import ipaddress
import json
import socket
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.receiver import running_receiver
from tests.webhooks.test_rules import BAD_HOSTS
from voucherd.db import Database, unit_of_work
from voucherd.events import service as events
from voucherd.models import WebhookEndpoint
from voucherd.webhooks import delivery, network

BASE = "/api/integrations/webhooks"
DOCUMENTED = {
    "name": "Zapier - New Leads",
    "url": "https://hooks.zapier.com/hooks/catch/123/abc",
    "events": ["lead.captured", "voucher.redeemed"],
}


async def endpoint_count(database: Database) -> int:
    async with unit_of_work(database) as session:
        return await session.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0


class TestManagement:
    async def test_the_documented_create_call(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        # the document authenticates with ?api_key=
        response = await api.post(BASE, params={"api_key": tenant.api_key}, json=DOCUMENTED)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["name"] == "Zapier - New Leads"
        assert body["url"] == "https://hooks.zapier.com/hooks/catch/123/abc"
        assert body["events"] == ["lead.captured", "voucher.redeemed"]
        assert body["enabled"] is True
        assert body["secret"].startswith("whsec_")
        # the secret is shown once
        listed = await api.get(BASE, params={"api_key": tenant.api_key})
        assert listed.status_code == 200
        [item] = listed.json()["data"]
        assert item["id"] == body["id"]
        assert "secret" not in item
        fetched = await api.get(f"{BASE}/{body['id']}", headers=tenant.headers)
        assert "secret" not in fetched.json()

    async def test_update_events_url_and_enabled_then_delete(
        self, api: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = (await api.post(BASE, headers=tenant.headers, json=DOCUMENTED)).json()
        url = f"{BASE}/{created['id']}"
        response = await api.patch(
            url,
            headers=tenant.headers,
            json={"events": ["*"], "url": "https://example.com/hook", "enabled": False},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["events"], body["url"], body["enabled"]) == (["*"], "https://example.com/hook", False)
        assert body["disabled_reason"] == "Disabled by the client."
        enabled = (await api.patch(url, headers=tenant.headers, json={"enabled": True})).json()
        assert (enabled["enabled"], enabled["disabled_reason"]) == (True, None)
        assert (await api.delete(url, headers=tenant.headers)).status_code == 204
        assert (await api.get(url, headers=tenant.headers)).status_code == 404

    async def test_another_clients_webhook_is_not_found(
        self, api: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        created = (await api.post(BASE, headers=tenant.headers, json=DOCUMENTED)).json()
        url = f"{BASE}/{created['id']}"
        for method in ("GET", "PATCH", "DELETE"):
            response = await api.request(method, url, headers=other_tenant.headers, json={"enabled": False})
            assert response.status_code == 404, method
            assert response.json()["error"] == "Webhook not found."
        assert (await api.get(BASE, headers=other_tenant.headers)).json()["data"] == []
        assert (await api.get(url, headers=tenant.headers)).json()["enabled"] is True

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            (
                {**DOCUMENTED, "events": ["voucher.exploded"]},
                "events",
                "'voucher.exploded' is not an event type",
            ),
            ({**DOCUMENTED, "events": []}, "events", "events must be a non-empty list"),
            ({"url": DOCUMENTED["url"], "events": ["*"]}, "name", "name: Field required"),
            ({**DOCUMENTED, "url": "hooks.zapier.com/abc"}, "url", "url must start with https://"),
        ],
    )
    async def test_bad_input_is_a_422_that_says_what_to_fix(
        self,
        api: httpx.AsyncClient,
        tenant: Tenant,
        database: Database,
        body: dict[str, Any],
        field: str,
        message: str,
    ) -> None:
        response = await api.post(BASE, headers=tenant.headers, json=body)
        assert response.status_code == 422
        assert response.json()["field"] == field
        assert message in response.json()["error"]
        assert await endpoint_count(database) == 0

    async def test_without_a_key_401(self, api: httpx.AsyncClient) -> None:
        assert (await api.get(BASE)).status_code == 401

    async def test_rotation_returns_a_new_secret_and_keeps_the_old_one_for_the_overlap(
        self, api: httpx.AsyncClient, tenant: Tenant, database: Database
    ) -> None:
        created = (await api.post(BASE, headers=tenant.headers, json=DOCUMENTED)).json()
        response = await api.post(f"{BASE}/{created['id']}/rotate-secret", headers=tenant.headers)
        assert response.status_code == 200, response.text
        rotated = response.json()
        assert rotated["secret"].startswith("whsec_")
        assert rotated["secret"] != created["secret"]
        assert rotated["previous_secret_expires_at"] is not None
        async with unit_of_work(database) as session:
            endpoint = await session.get(WebhookEndpoint, uuid.UUID(created["id"]))
            assert endpoint is not None
            assert delivery.signing_secrets(endpoint) == [rotated["secret"], created["secret"]]


class TestOutboundAddresses:
    @pytest.mark.parametrize(
        "url",
        [f"http://{host}/hook" for host in BAD_HOSTS]
        + ["file:///etc/passwd", "gopher://example.com/", "http://a@127.0.0.1/", "http://a@example.com/"],
    )
    async def test_w9_refused_at_registration_with_no_connection(
        self,
        api: httpx.AsyncClient,
        tenant: Tenant,
        database: Database,
        monkeypatch: pytest.MonkeyPatch,
        url: str,
    ) -> None:
        connections: list[Any] = []
        original = socket.socket.connect

        def recording_connect(self: socket.socket, address: Any) -> Any:
            if isinstance(address, tuple) and address[1] in (80, 443):
                connections.append(address)
            return original(self, address)

        monkeypatch.setattr(socket.socket, "connect", recording_connect)
        response = await api.post(BASE, headers=tenant.headers, json={**DOCUMENTED, "url": url})
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "url"
        assert connections == []
        assert await endpoint_count(database) == 0

    async def test_w11_loopback_is_refused_by_default(
        self, api: httpx.AsyncClient, tenant: Tenant, database: Database
    ) -> None:
        with running_receiver() as receiver:
            response = await api.post(BASE, headers=tenant.headers, json={**DOCUMENTED, "url": receiver.url})
        assert response.status_code == 422
        assert response.json()["error_code"] == "webhook_url_not_allowed"

    async def test_w10_dns_rebinding_is_caught_at_connect(
        self,
        api: httpx.AsyncClient,
        tenant: Tenant,
        database: Database,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # given a name that resolves to a public address at registration, to 127.0.0.1 after
        answers = iter([[ipaddress.ip_address("93.184.216.34")]])

        async def stub_resolve(host: str, port: int) -> list[Any]:
            return next(answers, [ipaddress.ip_address("127.0.0.1")])

        monkeypatch.setattr(network, "resolve", stub_resolve)
        with running_receiver() as receiver:
            port = receiver.port
            response = await api.post(
                BASE, headers=tenant.headers, json={**DOCUMENTED, "url": f"http://rebind.test:{port}/hook"}
            )
            assert response.status_code == 201, response.text
            async with unit_of_work(database) as session:
                await events.record(session, tenant.client_id, events.LEAD_CAPTURED, {"email": "a@b.c"})
            # when the worker sends
            async with network.new_client() as http:
                await delivery.process_once(database, http)
        # then nothing reached the internal address
        assert receiver.requests == []
        log = (await api.get(f"{BASE}/{response.json()['id']}/attempts", headers=tenant.headers)).json()
        [attempt] = log["data"]
        assert attempt["status"] == "failed"
        assert attempt["error"].startswith("refused: url must point to a public address")


@pytest.mark.usefixtures("loopback_allowed")
class TestDeliveryLog:
    async def test_log_and_redeliver_with_the_same_event_id(
        self, api: httpx.AsyncClient, tenant: Tenant, database: Database
    ) -> None:
        with running_receiver() as receiver:
            created = (
                await api.post(BASE, headers=tenant.headers, json={**DOCUMENTED, "url": receiver.url})
            ).json()
            async with unit_of_work(database) as session:
                await events.record(
                    session,
                    tenant.client_id,
                    events.LEAD_CAPTURED,
                    {"lead_id": "l1", "email": "customer@example.com", "campaign_name": "Summer Sale"},
                )
            async with network.new_client() as http:
                await delivery.process_once(database, http)
                deliveries = (
                    await api.get(f"{BASE}/{created['id']}/deliveries", headers=tenant.headers)
                ).json()
                [item] = deliveries["data"]
                assert (item["status"], item["attempts"], item["event"]) == ("succeeded", 1, "lead.captured")
                again = await api.post(
                    f"{BASE}/{created['id']}/deliveries/{item['id']}/redeliver", headers=tenant.headers
                )
                assert again.status_code == 202
                assert again.json()["status"] == "pending"
                await delivery.process_once(database, http)
        assert len(receiver.requests) == 2
        ids = {request.headers["webhook-id"] for request in receiver.requests}
        assert ids == {item["event_id"]}
        log = (await api.get(f"{BASE}/{created['id']}/attempts", headers=tenant.headers)).json()
        assert [(a["attempt"], a["status"], a["response_code"]) for a in log["data"]] == [
            (2, "succeeded", 200),
            (1, "succeeded", 200),
        ]
        assert all(isinstance(a["duration_ms"], int) for a in log["data"])
        body = receiver.requests[0].body
        assert body.startswith(b'{"event":"lead.captured","timestamp":"')
        # the redelivery is the same body: created_at (the event's, not the attempt's) included
        assert receiver.requests[1].body == body
        parsed = json.loads(body)
        created_at = parsed["data"].pop("created_at")
        assert created_at.startswith(parsed["timestamp"].removesuffix("Z") + ".")
        assert parsed["data"] == {
            "lead_id": "l1",
            "email": "customer@example.com",
            "campaign_name": "Summer Sale",
        }

    async def test_deliveries_and_attempts_walk_by_cursor_newest_first(
        self, api: httpx.AsyncClient, tenant: Tenant, database: Database
    ) -> None:
        with running_receiver() as receiver:
            created = (
                await api.post(BASE, headers=tenant.headers, json={**DOCUMENTED, "url": receiver.url})
            ).json()
            async with unit_of_work(database) as session:
                for number in range(7):
                    await events.record(
                        session, tenant.client_id, events.LEAD_CAPTURED, {"lead_id": f"l{number}"}
                    )
            async with network.new_client() as http:
                while await delivery.process_once(database, http):
                    pass
        assert len(receiver.requests) == 7
        for listing in ("deliveries", "attempts"):
            url = f"{BASE}/{created['id']}/{listing}"
            everything = (await api.get(f"{url}?limit=100", headers=tenant.headers)).json()["data"]
            key = "id" if listing == "deliveries" else "delivery_id"  # one attempt each here
            walked: list[str] = []
            cursor = None
            while True:
                query = f"limit=3&after={cursor}" if cursor else "limit=3"
                body = (await api.get(f"{url}?{query}", headers=tenant.headers)).json()
                assert (body["total"], body["has_more"]) == (7, body["next_cursor"] is not None)
                walked.extend(item[key] for item in body["data"])
                cursor = body["next_cursor"]
                if cursor is None:
                    break
            assert walked == [item[key] for item in everything]
            assert len(set(walked)) == 7

    async def test_unknown_delivery_is_404(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        created = (await api.post(BASE, headers=tenant.headers, json=DOCUMENTED)).json()
        response = await api.post(
            f"{BASE}/{created['id']}/deliveries/{uuid.uuid4()}/redeliver", headers=tenant.headers
        )
        assert response.status_code == 404
        assert response.json()["error"] == "Webhook delivery not found."
