"""Publications through the official SDK against a real server: a code or codes of a campaign
handed to one customer (upserted by source_id), never one code to two customers, the same from
query parameters, the list and its filters; the client-side publish."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import voucherify
from sqlalchemy import update
from voucherify.exceptions import BadRequestException, NotFoundException

from tests.api.voucherify.conftest import Served, other_tenant
from tests.api.voucherify.test_client_side import SHOP, publishable
from tests.api.voucherify.test_redemptions import codes_of
from voucherd.accounts import service as accounts
from voucherd.db import unit_of_work
from voucherd.db.engine import create_database
from voucherd.models import Campaign, Client


def body(**fields: object) -> voucherify.PublicationsCreateRequestBody:
    return voucherify.PublicationsCreateRequestBody.from_dict(fields)


def publish(client: voucherify.ApiClient, **fields: object) -> voucherify.PublicationsCreateResponseBody:
    return voucherify.PublicationsApi(client).create_publication(
        publications_create_request_body=body(**fields)
    )


def _change(served: Served, statement: object) -> None:
    async def run() -> None:
        database = create_database(served.db_url, pool=False)
        try:
            async with unit_of_work(database) as session:
                await session.execute(statement)  # type: ignore[call-overload]
        finally:
            await database.dispose()

    asyncio.run(run())
    accounts._cache.clear()


def test_a_code_is_published_to_a_customer_upserted_by_source_id(served: Served) -> None:
    (code,) = codes_of(served)
    with served.client() as client:
        made = publish(
            client,
            voucher=code,
            customer={"source_id": "ann-1", "name": "Ann", "email": "ann@example.com"},
            channel="Newsletter",
            metadata={"batch": "may"},
        )
        assert made.object == "publication"
        assert made.id.startswith("pub_")
        assert made.channel == "API"
        assert made.result == "SUCCESS"
        assert made.voucher.code == code
        assert made.voucher.holder_id == made.customer_id
        assert made.voucher.publish.count == 1
        assert made.vouchers_id == [made.voucher.id]
        assert made.vouchers is None
        assert made.customer.source_id == "ann-1"
        assert made.tracking_id == "ann-1"
        assert made.metadata == {"batch": "may"}
        customer = voucherify.CustomersApi(client).get_customer("ann-1")
        assert customer.id == made.customer_id
        assert customer.name == "Ann"
        # By id, again to the same customer: history grows, the holder stays.
        again = publish(client, voucher=code, customer={"id": made.customer_id})
        assert again.voucher.publish.count == 2
        assert again.customer_id == made.customer_id
        listed = voucherify.PublicationsApi(client).list_publications(voucher=code)
        assert listed.total == 2
        assert {item.channel for item in listed.publications} == {"Newsletter", "API"}


def test_a_code_is_never_published_to_two_customers(served: Served) -> None:
    (code,) = codes_of(served)
    with served.client() as client:
        publish(client, voucher=code, customer={"source_id": "ann"})
        with pytest.raises(voucherify.ApiException) as refused:
            publish(client, voucher=code, customer={"source_id": "bob"})
        assert refused.value.status == 409
        assert json.loads(refused.value.body)["key"] == "voucher_already_published"
        # Nothing changed: bob was not even created.
        with pytest.raises(NotFoundException):
            voucherify.CustomersApi(client).get_customer("bob")
        assert voucherify.PublicationsApi(client).list_publications().total == 1


def test_count_three_from_a_campaign_answers_vouchers(served: Served) -> None:
    codes = codes_of(served, 4, name="Spring")
    with served.client() as client:
        made = publish(client, campaign={"name": "Spring", "count": 3}, customer={"source_id": "ann"})
        assert made.voucher is None
        assert len(made.vouchers) == 3
        assert len(set(made.vouchers)) == 3
        assert set(made.vouchers) <= set(codes)
        assert len(made.vouchers_id) == 3
        assert all(voucher_id.startswith("v_") for voucher_id in made.vouchers_id)
        listed = voucherify.PublicationsApi(client).list_publications(campaign="Spring")
        assert listed.total == 1
        assert listed.publications[0].vouchers == made.vouchers


def test_a_static_pool_running_dry_is_no_voucher_suitable_for_publication(served: Served) -> None:
    codes_of(served, 2, name="Tiny")
    with served.client() as client:
        publish(client, campaign={"name": "Tiny"}, customer={"source_id": "ann"})
        with pytest.raises(BadRequestException) as dry:
            publish(client, campaign={"name": "Tiny", "count": 2}, customer={"source_id": "bob"})
        assert json.loads(dry.value.body)["key"] == "no_voucher_suitable_for_publication"
        publish(client, campaign={"name": "Tiny"}, customer={"source_id": "bob"})
        with pytest.raises(BadRequestException) as empty:
            publish(client, campaign={"name": "Tiny"}, customer={"source_id": "cy"})
        assert json.loads(empty.value.body)["key"] == "no_voucher_suitable_for_publication"
        assert voucherify.PublicationsApi(client).list_publications(campaign="Tiny").total == 2


def test_an_auto_update_campaign_makes_a_code_when_its_pool_is_empty(served: Served) -> None:
    (first,) = codes_of(served, 1, name="Grows")
    _change(served, update(Campaign).where(Campaign.name == "Grows").values(auto_update=True))
    with served.client() as client:
        made = publish(client, campaign={"name": "Grows", "count": 3}, customer={"source_id": "ann"})
        assert len(set(made.vouchers)) == 3
        assert first in made.vouchers


def test_join_once_gives_the_same_code_again(served: Served) -> None:
    codes_of(served, 3, name="Once")
    with served.client() as client:
        api = voucherify.PublicationsApi(client)
        first = api.create_publication(
            join_once=True,
            publications_create_request_body=body(campaign={"name": "Once"}, customer={"source_id": "a"}),
        )
        second = api.create_publication(
            join_once=True,
            publications_create_request_body=body(campaign={"name": "Once"}, customer={"source_id": "a"}),
        )
        assert second.voucher.code == first.voucher.code
        assert second.voucher.publish.count == 2


def test_create_publication_from_query_parameters(served: Served) -> None:
    (code,) = codes_of(served)
    codes_of(served, 2, name="Query")
    with served.client() as client:
        api = voucherify.PublicationsApi(client)
        made = api.create_publication1(
            customer=voucherify.Customer(source_id="q-1", name="Quinn", address={"city": "Leeds"}),
            voucher=code,
            metadata={"origin": {"page": "home"}},
        )
        assert made.voucher.code == code
        assert made.channel == "API"
        assert made.customer.source_id == "q-1"
        assert made.customer.address.city == "Leeds"
        from_campaign = api.create_publication1(
            customer=voucherify.Customer(source_id="q-2"),
            campaign=voucherify.CreatePublicationCampaign(name="Query"),
        )
        assert from_campaign.voucher.campaign == "Query"
        assert len(from_campaign.vouchers_id) == 1


def test_the_list_filters_by_campaign_customer_voucher_and_result(served: Served) -> None:
    (code,) = codes_of(served, name="One")
    codes_of(served, 3, name="Two")
    with served.client() as client:
        ann = publish(client, voucher=code, customer={"source_id": "ann"}, channel="Email")
        bob = publish(client, campaign={"name": "Two", "count": 2}, customer={"source_id": "bob"})
        api = voucherify.PublicationsApi(client)
        everything = api.list_publications()
        assert everything.object == "list"
        assert everything.data_ref == "publications"
        assert everything.total == 2
        assert [item.id for item in everything.publications] == [bob.id, ann.id]
        assert api.list_publications(customer=ann.customer_id).publications[0].id == ann.id
        assert api.list_publications(customer="bob").publications[0].id == bob.id
        assert api.list_publications(campaign="Two").total == 1
        assert api.list_publications(voucher=code).publications[0].channel == "Email"
        assert api.list_publications(result="SUCCESS").total == 2
        assert api.list_publications(result="FAILURE").total == 0
        assert api.list_publications(customer="nobody").total == 0
        paged = api.list_publications(limit=1, page=2)
        assert paged.total == 2
        assert [item.id for item in paged.publications] == [ann.id]
        assert [item.id for item in api.list_publications(order="created_at").publications] == [
            ann.id,
            bob.id,
        ]
        by_tracking = api.list_publications(order="-tracking_id").publications
        assert [item.id for item in by_tracking] == [bob.id, ann.id]
        assert api.list_publications(order="voucher_code").total == 2
        with httpx.Client(base_url=served.url, headers=served.headers) as http:
            wrong = http.get("/v1/publications", params={"order": "nonsense"})
            assert wrong.status_code == 400
            assert wrong.json()["key"] == "invalid_query_params"


def test_bad_publications_are_refused_and_change_nothing(served: Served) -> None:
    (code,) = codes_of(served)
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        for sent in (
            {"voucher": code},
            {"voucher": code, "customer": {"name": "no id"}},
            {"customer": {"source_id": "x"}},
            {"customer": {"source_id": "x"}, "voucher": code, "campaign": {"name": "Summer Sale"}},
            {"customer": {"source_id": "x"}, "campaign": {"name": "Summer Sale", "count": 51}},
        ):
            answer = http.post("/v1/publications", json=sent)
            assert answer.status_code == 400, sent
            assert answer.json()["key"] == "invalid_payload"
        unknown = http.post("/v1/publications", json={"voucher": "NOPE", "customer": {"source_id": "x"}})
        assert unknown.status_code == 404
        assert unknown.json()["resource_type"] == "voucher"
        assert http.get("/v1/publications").json()["total"] == 0
        assert http.get("/v1/customers/x").status_code == 404


def test_another_clients_codes_and_campaigns_are_not_found(served: Served) -> None:
    (code,) = codes_of(served, name="Mine")
    stranger = other_tenant(served)
    headers = {"X-App-Id": str(stranger.principal.subject.id), "X-App-Token": stranger.api_key}
    with httpx.Client(base_url=served.url, headers=headers) as http:
        by_code = http.post("/v1/publications", json={"voucher": code, "customer": {"source_id": "s"}})
        assert by_code.status_code == 404
        by_campaign = http.post(
            "/v1/publications", json={"campaign": {"name": "Mine"}, "customer": {"source_id": "s"}}
        )
        assert by_campaign.status_code == 404
        assert by_campaign.json()["resource_type"] == "campaign"
    with served.client() as client:
        made = publish(client, voucher=code, customer={"source_id": "ann"})
    with httpx.Client(base_url=served.url, headers=headers) as http:
        assert http.get("/v1/publications").json()["total"] == 0
        foreign = http.post("/v1/publications", json={"voucher": code, "customer": {"id": made.customer_id}})
        assert foreign.status_code == 404


def test_client_side_publish_needs_the_switch_for_a_publishable_key(served: Served) -> None:
    (code, other) = codes_of(served, 2)
    key_id, key = publishable(served, SHOP)
    sent = {"voucher": code, "customer": {"source_id": "web-1"}}
    client_headers = {"X-Client-Application-Id": key_id, "X-Client-Token": key, "Origin": SHOP}
    with httpx.Client(base_url=served.url) as http:
        refused = http.post("/client/v1/publish", json=sent, headers=client_headers)
        assert refused.status_code == 403
        assert refused.json()["key"] == "forbidden"
        with served.client() as client:
            assert voucherify.PublicationsApi(client).list_publications().total == 0
        app_pair = {
            "X-Client-Application-Id": served.headers["X-App-Id"],
            "X-Client-Token": served.tenant.api_key,
        }
        done = http.post("/client/v1/publish", json=sent, headers={**app_pair, "Origin": SHOP})
        assert done.status_code == 200
        parsed = voucherify.PublicationsCreateResponseBody.from_dict(done.json())
        assert parsed.voucher.code == code
        _change(
            served,
            update(Client).where(Client.id == served.tenant.client_id).values(client_side_publish=True),
        )
        allowed = http.post("/client/v1/publish", json={**sent, "voucher": other}, headers=client_headers)
        assert allowed.status_code == 200
        assert allowed.headers["Access-Control-Allow-Origin"] == SHOP
        assert voucherify.PublicationsCreateResponseBody.from_dict(allowed.json()).voucher.code == other


def test_a_source_id_publishes_once_and_answers_the_first_publication_again(served: Served) -> None:
    codes_of(served, 3, name="Tracked")
    with served.client() as client:
        first = publish(
            client, campaign={"name": "Tracked"}, customer={"source_id": "ann"}, source_id="crm-1"
        )
        assert first.source_id == "crm-1"
        again = publish(
            client, campaign={"name": "Tracked"}, customer={"source_id": "ann"}, source_id="crm-1"
        )
        assert again.id == first.id
        assert again.voucher.code == first.voucher.code
        assert again.voucher.publish.count == 1
        api = voucherify.PublicationsApi(client)
        assert api.list_publications(campaign="Tracked").total == 1
        (found,) = api.list_publications(source_id="crm-1").publications
        assert found.id == first.id
        assert found.source_id == "crm-1"
        assert api.list_publications(source_id="crm-2").total == 0
        with pytest.raises(BadRequestException):
            publish(
                client,
                campaign={"name": "Tracked", "count": 2},
                customer={"source_id": "bob"},
                source_id="crm-3",
            )


def test_a_disabled_code_is_not_handed_out_from_a_pool(served: Served) -> None:
    (disabled, enabled) = codes_of(served, 2, name="Mixed")
    with served.client() as client:
        voucherify.VouchersApi(client).disable_voucher(disabled)
        made = publish(client, campaign={"name": "Mixed"}, customer={"source_id": "ann"})
        assert made.voucher.code == enabled
        with pytest.raises(BadRequestException) as dry:
            publish(client, campaign={"name": "Mixed"}, customer={"source_id": "bob"})
        assert json.loads(dry.value.body)["key"] == "no_voucher_suitable_for_publication"


@pytest.mark.concurrency
def test_racing_publishes_of_one_source_id_end_on_one_publication(served: Served) -> None:
    codes_of(served, 10, name="Race")

    def attempt(index: int) -> str:
        with served.client() as client:
            made = publish(
                client,
                campaign={"name": "Race"},
                customer={"source_id": f"racer-{index}"},
                source_id="crm-race",
            )
            return str(made.id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = set(pool.map(attempt, range(8)))
    assert len(answers) == 1
    with served.client() as client:
        assert voucherify.PublicationsApi(client).list_publications(campaign="Race").total == 1


def test_a_campaign_made_through_the_sdk_publishes_by_its_id(served: Served) -> None:
    template = voucherify.CampaignsCreateRequestBodyVoucher(
        type="DISCOUNT_VOUCHER",
        discount=voucherify.Discount(type="PERCENT", percent_off=10),
        code_config=voucherify.CodeConfig(prefix="AU-", length=6),
    )
    with served.client() as client:
        campaign = voucherify.CampaignsApi(client).create_campaign(
            voucherify.CampaignsCreateRequestBody(
                name="Auto", type="AUTO_UPDATE", campaign_type="DISCOUNT_COUPONS", voucher=template
            )
        )
        made = publish(client, campaign={"name": campaign.id, "count": 3}, customer={"source_id": "ann"})
        assert len(set(made.vouchers)) == 3
        assert all(code.startswith("AU-") for code in made.vouchers)
        one = publish(client, campaign={"name": "Auto"}, customer={"source_id": "bob"})
        assert one.voucher.campaign == "Auto"
        assert one.voucher.campaign_id == campaign.id
        assert one.voucher.discount.percent_off == 10
