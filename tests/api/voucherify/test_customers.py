"""Customers (``CustomersApi``) through the official SDK 6.1.1 against a real server, on both
databases: the upsert by source_id, get/update/delete by id or source_id, the list's filters and
pages, and a client that sees only its own customers."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import voucherify
from pydantic import ValidationError
from voucherify.exceptions import NotFoundException, UnauthorizedException

from tests.api.voucherify.conftest import Served, other_tenant

ERROR_KEYS = {"code", "key", "message", "details", "request_id"}


def _create(api: voucherify.CustomersApi, **fields: object) -> voucherify.CustomersCreateResponseBody:
    return api.create_customer(voucherify.CustomersCreateRequestBody(**fields))


def test_the_sdk_creates_and_gets_a_customer_by_id_and_by_source_id(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CustomersApi(client)
        created = _create(
            api,
            source_id="crm-1",
            name="Ada Lovelace",
            email="ada@example.com",
            phone="555-0100 ext. 7",
            description="Counts",
            birthdate=date(1815, 12, 10),
            address=voucherify.CustomersCreateRequestBodyAddress(
                city="London",
                state="Greater London",
                line_1="12 St James's Square",
                line_2="Flat 2",
                country="GB",
                postal_code="SW1Y 4JH",
            ),
            metadata={"tier": "gold"},
        )
        assert created.id is not None
        assert created.id.startswith("cust_")
        assert created.object == "customer"
        assert (created.source_id, created.name) == ("crm-1", "Ada Lovelace")
        assert created.email == "ada@example.com"
        assert (created.phone, created.description, created.birthdate) == (
            "555-0100 ext. 7",
            "Counts",
            date(1815, 12, 10),
        )
        assert created.address is not None
        assert (created.address.city, created.address.line_1, created.address.postal_code) == (
            "London",
            "12 St James's Square",
            "SW1Y 4JH",
        )
        assert created.metadata == {"tier": "gold"}
        assert created.referrals is not None
        assert created.referrals.total == 0
        for key in (created.id, "crm-1"):
            got = api.get_customer(key)
            assert (got.id, got.source_id, got.name) == (created.id, "crm-1", "Ada Lovelace")
            assert got.address is not None
            assert got.address.country == "GB"
            assert got.created_at is not None
            assert got.updated_at is not None


def test_a_second_create_with_the_same_source_id_updates_the_customer(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CustomersApi(client)
        first = _create(api, source_id="crm-2", name="Grace", email="grace@example.com")
        again = _create(api, source_id="crm-2", name="Grace Hopper", phone="+1 202 555 0100")
        assert again.id == first.id
        assert (again.name, again.email) == ("Grace Hopper", "grace@example.com")
        assert again.phone == "+1 202 555 0100"
        assert api.list_customers().total == 1
        other = _create(api, name="Without source id")
        assert other.id != first.id
        assert other.source_id is None
        assert api.list_customers().total == 2


def test_an_update_keeps_the_fields_left_out(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CustomersApi(client)
        created = _create(
            api,
            source_id="crm/3 x",
            name="Alan",
            email="alan@example.com",
            description="Computes",
            address=voucherify.CustomersCreateRequestBodyAddress(city="Manchester", postal_code="M1 1AA"),
            metadata={"a": 1},
        )
        updated = api.update_customer(
            "crm/3 x",  # a source_id with a slash and a space, percent-encoded by the SDK
            voucherify.CustomersUpdateRequestBody(
                email="turing@example.com",
                address=voucherify.CustomersUpdateRequestBodyAddress(line_1="Bletchley Park"),
            ),
        )
        assert updated.id == created.id
        assert (updated.name, updated.description) == ("Alan", "Computes")
        assert updated.email == "turing@example.com"
        assert updated.address is not None
        assert (updated.address.city, updated.address.line_1, updated.address.postal_code) == (
            "Manchester",
            "Bletchley Park",
            "M1 1AA",
        )
        assert updated.metadata == {"a": 1}
        assert updated.updated_at is not None
        assert created.updated_at is not None
        assert updated.updated_at >= created.updated_at
        renamed = voucherify.CustomersUpdateRequestBody(name="Alan Turing")
        by_id = api.update_customer(created.id or "", renamed)
        assert (by_id.name, by_id.email, by_id.source_id) == ("Alan Turing", "turing@example.com", "crm/3 x")
        with pytest.raises(NotFoundException):
            api.update_customer("nobody", voucherify.CustomersUpdateRequestBody(name="X"))


def test_a_deleted_customer_is_gone_and_its_source_id_free_again(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CustomersApi(client)
        created = _create(api, source_id="crm-4", name="Erased", email="erased@example.com")
        assert api.delete_customer(created.id or "") is None
        for key in (created.id or "", "crm-4"):
            with pytest.raises(NotFoundException) as missing:
                api.get_customer(key)
        body = json.loads(missing.value.body)
        assert set(body) >= ERROR_KEYS
        assert (body["code"], body["key"], body["resource_type"], body["resource_id"]) == (
            404,
            "not_found",
            "customer",
            "crm-4",
        )
        with pytest.raises(NotFoundException):
            api.delete_customer("crm-4")
        assert api.list_customers().total == 0
        again = _create(api, source_id="crm-4", name="Someone new")
        assert again.id != created.id


def test_the_list_filters_orders_and_pages(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CustomersApi(client)
        london = voucherify.CustomersCreateRequestBodyAddress(city="London")
        ada = _create(api, source_id="c-1", name="Ada", email="ada@example.com", address=london)
        time.sleep(0.02)
        middle = datetime.now(UTC)
        time.sleep(0.02)
        bob = _create(api, source_id="c-2", name="Bob", email="bob@example.com", address=london)
        cyd = _create(api, source_id="c-3", name="Cyd", email="cyd@example.com")

        listed = api.list_customers()
        assert (listed.object, listed.data_ref) == ("list", "customers")
        assert (listed.total, listed.has_more) == (3, False)
        assert [c.id for c in listed.customers or []] == [cyd.id, bob.id, ada.id]  # newest first

        first = api.list_customers(limit=2, page=1)
        assert [c.id for c in first.customers or []] == [cyd.id, bob.id]
        assert (first.total, first.has_more) == (3, True)
        second = api.list_customers(limit=2, page=2)
        assert [c.id for c in second.customers or []] == [ada.id]
        assert (second.total, second.has_more) == (3, False)
        assert api.list_customers(limit=2, page=5).customers == []

        def ids(**query: object) -> list[str | None]:
            return [c.id for c in api.list_customers(**query).customers or []]  # type: ignore[arg-type]

        assert ids(email="BOB@example.com") == [bob.id]
        assert ids(city="london") == [bob.id, ada.id]
        assert ids(name="Cyd") == [cyd.id]
        assert ids(city="London", name="Ada") == [ada.id]
        assert ids(created_at_after=middle) == [cyd.id, bob.id]
        assert ids(created_at_before=middle) == [ada.id]
        assert ids(updated_at_after=middle + timedelta(hours=1)) == []
        assert ids(updated_at_before=middle + timedelta(hours=1)) == [cyd.id, bob.id, ada.id]
        assert ids(order="created_at") == [ada.id, bob.id, cyd.id]
        assert ids(order="-source_id") == [cyd.id, bob.id, ada.id]
        filtered = api.list_customers(city="London", limit=1)
        assert (filtered.total, filtered.has_more) == (2, True)


def test_a_limit_out_of_range_is_400(served: Served) -> None:
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        for query in (
            "limit=0",
            "limit=101",
            "page=0",
            "page=100001",
            "limit=x",
            "order=email",
            "created_at[before]=soon",
        ):
            answer = http.get(f"/v1/customers?{query}")
            assert answer.status_code == 400, query
            body = answer.json()
            assert set(body) >= ERROR_KEYS
            assert (body["code"], body["key"]) == (400, "invalid_query_params"), query
        # the message says the range, whichever end was passed
        for query in ("page=0", "page=100001"):
            details = http.get(f"/v1/customers?{query}").json()["details"]
            assert details == "page must be between 1 and 100000.", query


def test_a_malformed_customer_is_400_and_stores_nothing(served: Served) -> None:
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        for payload in ({"name": 5}, {"birthdate": "10 Dec 1815"}, {"address": "London"}, {"metadata": []}):
            answer = http.post("/v1/customers", json=payload)
            assert answer.status_code == 400, payload
            assert answer.json()["key"] == "invalid_payload"
        assert http.post("/v1/customers", json={"email": "not an email"}).status_code == 400
        assert http.get("/v1/customers").json()["total"] == 0
        # null means "not given"; unknown fields are ignored
        given = {"source_id": "n-1", "name": "N", "gift": None, "extra": {"x": 1}}
        made = http.post("/v1/customers", json=given)
        assert made.status_code == 200
        kept = http.post("/v1/customers", json={"source_id": "n-1", "name": None, "birthdate": "2000-01-02"})
        assert (kept.json()["name"], kept.json()["birthdate"]) == ("N", "2000-01-02")
        # an empty string clears
        cleared = http.put("/v1/customers/n-1", json={"name": "", "birthdate": ""}).json()
        assert (cleared["name"], cleared["birthdate"], cleared["source_id"]) == (None, None, "n-1")


def test_another_clients_customers_are_not_found(served: Served) -> None:
    with served.client() as client:
        created = _create(voucherify.CustomersApi(client), source_id="mine", name="Mine")
    stranger = other_tenant(served)
    headers = {"X-App-Id": str(stranger.principal.subject.id), "X-App-Token": stranger.api_key}
    configuration = voucherify.Configuration(host=served.url, api_key=headers)
    with voucherify.ApiClient(configuration) as client:
        theirs_api = voucherify.CustomersApi(client)
        for key in (created.id or "", "mine"):
            with pytest.raises(NotFoundException):
                theirs_api.get_customer(key)
        listed_sdk = theirs_api.list_customers()
        assert (listed_sdk.customers, listed_sdk.total) == ([], 0)
    with httpx.Client(base_url=served.url, headers=headers) as http:
        for key in (created.id, "mine"):
            assert http.get(f"/v1/customers/{key}").status_code == 404
            assert http.put(f"/v1/customers/{key}", json={"name": "Theirs"}).status_code == 404
            assert http.delete(f"/v1/customers/{key}").status_code == 404
        listed = http.get("/v1/customers").json()
        assert (listed["customers"], listed["total"]) == ([], 0)
        # the same source_id is another customer for another client
        theirs = http.post("/v1/customers", json={"source_id": "mine", "name": "Theirs"}).json()
        assert theirs["id"] != created.id
    with served.client() as client:
        assert voucherify.CustomersApi(client).get_customer("mine").name == "Mine"


def test_customers_need_the_key_pair(served: Served) -> None:
    configuration = voucherify.Configuration(
        host=served.url,
        api_key={"X-App-Id": str(served.tenant.principal.subject.id), "X-App-Token": "vd_live_x"},
    )
    with voucherify.ApiClient(configuration) as client, pytest.raises(UnauthorizedException):
        voucherify.CustomersApi(client).list_customers()
    with httpx.Client(base_url=served.url) as http:
        for method, path in (
            ("GET", "/v1/customers"),
            ("POST", "/v1/customers"),
            ("GET", "/v1/customers/x"),
            ("PUT", "/v1/customers/x"),
            ("DELETE", "/v1/customers/x"),
        ):
            answer = http.request(method, path, json={"name": "x"} if method in ("POST", "PUT") else None)
            assert answer.status_code == 401, (method, path)
            assert answer.json()["key"] == "unauthorized"


def test_the_sdk_refuses_a_limit_above_100_before_sending(served: Served) -> None:
    with served.client() as client, pytest.raises(ValidationError):
        voucherify.CustomersApi(client).list_customers(limit=101)
