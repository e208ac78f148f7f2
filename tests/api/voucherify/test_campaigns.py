"""Campaigns of discount coupons through the official SDK 6.1.1 (``CampaignsApi``): codes made in
the background by our bulk generation job, got by id and by name, listed, added, deleted; another
client's campaign; a code_config that cannot hold the codes; the VoucherTrack checkout seeing them."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
import voucherify
from voucherify.exceptions import ApiException, BadRequestException, NotFoundException

from tests.api.voucherify.conftest import Served, other_tenant
from voucherd.db.engine import create_database
from voucherd.jobs.runner import run_until_idle

PERCENT_10 = voucherify.Discount(type="PERCENT", percent_off=10)


def _error(raised: pytest.ExceptionInfo[ApiException]) -> dict[str, object]:
    body: dict[str, object] = json.loads(raised.value.body)
    return body


def _run_jobs(served: Served) -> int:
    async def run() -> int:
        database = create_database(served.db_url, pool=False)
        try:
            return await run_until_idle(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


def _body(name: str, **more: object) -> voucherify.CampaignsCreateRequestBody:
    fields: dict[str, object] = {
        "name": name,
        "type": "STATIC",
        "campaign_type": "DISCOUNT_COUPONS",
        "voucher": voucherify.CampaignsCreateRequestBodyVoucher(
            type="DISCOUNT_VOUCHER",
            discount=PERCENT_10,
            code_config=voucherify.CodeConfig(prefix="SUM-", pattern="####-####", charset="ABCDEFGHJKLMNPQR"),
            redemption=voucherify.CampaignsCreateRequestBodyVoucherRedemption(quantity=2),
        ),
    }
    fields.update(more)
    return voucherify.CampaignsCreateRequestBody(**fields)  # type: ignore[arg-type]


def test_a_campaign_generates_its_codes_in_the_background(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CampaignsApi(client)
        made = api.create_campaign(
            _body("Summer", vouchers_count=5, metadata={"season": "summer"}, join_once=True)
        )
        assert made.id is not None
        assert made.id.startswith("camp_")
        assert (made.name, made.type, made.campaign_type) == ("Summer", "STATIC", "DISCOUNT_COUPONS")
        assert (made.creation_status, made.vouchers_generation_status) == ("IN_PROGRESS", "IN_PROGRESS")
        assert made.vouchers_count == 0
        assert (made.metadata, made.join_once, made.active) == ({"season": "summer"}, True, True)
        assert made.voucher is not None
        assert made.voucher.code_config.prefix == "SUM-"
        assert made.voucher.code_config.pattern == "####-####"
        assert made.voucher.redemption is not None
        assert made.voucher.redemption.quantity == 2
        assert made.voucher.discount is not None
        assert made.voucher.discount.percent_off == 10
        # the raw answer carries the generation's async action
        with httpx.Client(base_url=served.url, headers=served.headers) as http:
            raw = http.get("/v1/async-actions").json()["async_actions"]
        assert [(a["type"], a["status"]) for a in raw] == [("CAMPAIGN.VOUCHERS_GENERATE", "ENQUEUED")]
        assert _run_jobs(served) == 1
        done = api.get_campaign(made.id)
        assert (done.creation_status, done.vouchers_generation_status) == ("DONE", "DONE")
        assert done.vouchers_count == 5
        by_name = api.get_campaign("Summer")
        assert by_name.id == made.id
        vouchers = voucherify.VouchersApi(client).list_vouchers(campaign_id=made.id, limit=10)
        assert vouchers.total == 5
        assert vouchers.vouchers is not None
        codes = [v.code or "" for v in vouchers.vouchers]
        assert len(set(codes)) == 5
        for code in codes:
            assert code.startswith("SUM-")
            assert code[8] == "-"
            assert len(code) == 13
            assert set(code[4:8] + code[9:]) <= set("ABCDEFGHJKLMNPQR")
        first = vouchers.vouchers[0]
        assert (first.campaign, first.campaign_id) == ("Summer", made.id)
        assert first.redemption is not None
        assert first.redemption.quantity == 2
        host = served.url.removesuffix("/voucherify")
        with httpx.Client(base_url=host, headers=served.tenant.headers) as http:
            assert http.get(f"/api/webhook/validate/{codes[0]}").json()["valid"] is True


def test_the_create_answer_names_its_async_action(served: Served) -> None:
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        answer = http.post(
            "/v1/campaigns",
            json={
                "name": "Raw",
                "voucher": {"discount": {"type": "AMOUNT", "amount_off": 500}},
                "vouchers_count": 3,
            },
        )
        assert answer.status_code == 200
        made = answer.json()
        assert made["async_action_id"].startswith("aa_")
        action = http.get(f"/v1/async-actions/{made['async_action_id']}").json()
        assert action["type"] == "CAMPAIGN.VOUCHERS_GENERATE"
        assert made["type"] == "AUTO_UPDATE"
        assert made["voucher"]["code_config"] == {}
        assert made["voucher"]["redemption"] == {"quantity": 1}
        unlimited = http.post(
            "/v1/campaigns",
            json={
                "name": "Unlimited",
                "voucher": {
                    "discount": {"type": "PERCENT", "percent_off": 5},
                    "redemption": {"quantity": None},
                },
            },
        )
        assert unlimited.json()["voucher"]["redemption"] == {"quantity": None}


def test_campaigns_are_listed_newest_first(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CampaignsApi(client)
        api.create_campaign(_body("First"))
        api.create_campaign(_body("Second", vouchers_count=1))
        voucherify.VouchersApi(client).create_voucher(
            "ALONE-1", voucherify.VouchersCreateWithSpecificCodeRequestBody(discount=PERCENT_10)
        )
        listed = api.list_campaigns(limit=10)
        assert (listed.object, listed.data_ref, listed.total) == ("list", "campaigns", 2)
        assert listed.campaigns is not None
        assert [(c.name, c.vouchers_count, c.creation_status) for c in listed.campaigns] == [
            ("Second", 1, "DONE"),
            ("First", 0, "DONE"),
        ]
        page_two = api.list_campaigns(limit=1, page=2)
        assert page_two.campaigns is not None
        assert [c.name for c in page_two.campaigns] == ["First"]


def test_a_name_is_unique(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CampaignsApi(client)
        api.create_campaign(_body("Once"))
        with pytest.raises(ApiException) as taken:
            api.create_campaign(_body("Once"))
    assert (_error(taken)["code"], _error(taken)["key"]) == (409, "duplicate_found")


def test_vouchers_are_added_one_now_or_many_later(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CampaignsApi(client)
        made = api.create_campaign(_body("Grow"))
        assert made.id is not None
        one = api.add_vouchers_to_campaign(made.id, vouchers_count=1)
        assert one.code is not None
        assert one.code.startswith("SUM-")
        assert (one.campaign, one.campaign_id, one.type) == ("Grow", made.id, "DISCOUNT_VOUCHER")
        assert one.redemption is not None
        assert one.redemption.quantity == 2
        many = api.add_vouchers_to_campaign("Grow", vouchers_count=4)
        assert many.async_action_id is not None
        assert many.async_action_id.startswith("aa_")
        assert api.get_campaign(made.id).vouchers_count == 1
        _run_jobs(served)
        assert api.get_campaign(made.id).vouchers_count == 5
        given = api.add_voucher_with_specific_code_to_campaign(
            made.id, "grow-1", voucherify.CampaignsVouchersCreateRequestBody(metadata={"k": "v"})
        )
        assert (given.code, given.campaign, given.metadata) == ("GROW-1", "Grow", {"k": "v"})
        with pytest.raises(ApiException) as taken:
            api.add_voucher_with_specific_code_to_campaign(made.id, "GROW-1")
        assert _error(taken)["key"] == "duplicate_found"
        assert api.get_campaign(made.id).vouchers_count == 6


def test_a_deleted_campaign_and_its_vouchers_are_gone(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CampaignsApi(client)
        made = api.create_campaign(_body("Bye"))
        assert made.id is not None
        api.add_voucher_with_specific_code_to_campaign(made.id, "BYE-1")
        deleted = api.delete_campaign(made.id)
        assert deleted.async_action_id is not None
        action = voucherify.AsyncActionsApi(client).get_async_action(deleted.async_action_id)
        assert (action.type, action.status, action.operation_status) == (
            "CAMPAIGN.VOUCHERS_DELETE",
            "DONE",
            "SUCCESS",
        )
        with pytest.raises(NotFoundException) as missing:
            api.get_campaign(made.id)
        assert _error(missing)["resource_type"] == "campaign"
        with pytest.raises(NotFoundException):
            api.get_campaign("Bye")
        with pytest.raises(NotFoundException):
            voucherify.VouchersApi(client).get_voucher("BYE-1")
        with pytest.raises(NotFoundException):
            api.delete_campaign(made.id)
        assert api.list_campaigns().total == 0
        host = served.url.removesuffix("/voucherify")
        with httpx.Client(base_url=host, headers=served.tenant.headers) as http:
            assert http.get("/api/webhook/validate/BYE-1").json()["valid"] is False


def test_another_clients_campaign_is_not_found(served: Served) -> None:
    with served.client() as client:
        made = voucherify.CampaignsApi(client).create_campaign(_body("Mine"))
    assert made.id is not None
    stranger = other_tenant(served)
    headers = {"X-App-Id": str(stranger.principal.subject.id), "X-App-Token": stranger.api_key}
    with httpx.Client(base_url=served.url, headers=headers) as http:
        for path in (f"/v1/campaigns/{made.id}", "/v1/campaigns/Mine"):
            assert http.get(path).status_code == 404
        assert http.post(f"/v1/campaigns/{made.id}/vouchers").status_code == 404
        assert http.post(f"/v1/campaigns/{made.id}/vouchers/X-1").status_code == 404
        assert http.delete(f"/v1/campaigns/{made.id}").status_code == 404
        assert http.get("/v1/campaigns").json()["total"] == 0
    with served.client() as client:
        assert voucherify.CampaignsApi(client).get_campaign(made.id).name == "Mine"


def test_a_code_config_too_small_is_invalid_code_config(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CampaignsApi(client)
        tiny = voucherify.CampaignsCreateRequestBodyVoucher(
            discount=PERCENT_10, code_config=voucherify.CodeConfig(length=2, charset="AB")
        )
        with pytest.raises(BadRequestException) as small:
            api.create_campaign(_body("Tiny", voucher=tiny, vouchers_count=50))
        assert _error(small)["key"] == "invalid_code_config"
        assert api.list_campaigns().total == 0


def test_unserved_campaign_types_and_a_gift_campaign_without_its_amount_are_refused(served: Served) -> None:
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        answer = http.post("/v1/campaigns", json={"name": "Points", "campaign_type": "LOYALTY_PROGRAM"})
        assert answer.status_code == 400
        assert answer.json()["key"] == "invalid_payload"
        assert "LOYALTY_PROGRAM" in answer.json()["details"]
        gift = http.post("/v1/campaigns", json={"name": "Gift", "campaign_type": "GIFT_VOUCHERS"})
        assert gift.status_code == 400
        assert "voucher.gift" in gift.json()["details"]
        nameless = http.post(
            "/v1/campaigns", json={"voucher": {"discount": {"type": "PERCENT", "percent_off": 5}}}
        )
        assert nameless.status_code == 400
        assert http.get("/v1/campaigns").json()["total"] == 0


def test_an_auto_update_campaign_makes_codes_when_published(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CampaignsApi(client)
        made = api.create_campaign(_body("Auto", type="AUTO_UPDATE"))
        assert made.id is not None
        assert made.type == "AUTO_UPDATE"
        host = served.url.removesuffix("/voucherify")
        with httpx.Client(base_url=host, headers=served.tenant.headers) as http:
            published = http.post(
                "/api/publications",
                json={
                    "campaign": {"id": str(uuid.UUID(hex=made.id.removeprefix("camp_"))), "count": 2},
                    "customer": {"email": "a@example.com"},
                },
            )
        assert published.status_code == 201
        codes = published.json()["vouchers"]
        assert len(codes) == 2
        assert all(code.startswith("SUM-") for code in codes)
        assert api.get_campaign(made.id).vouchers_count == 2
        static = api.create_campaign(_body("Static"))
        assert static.id is not None
        with httpx.Client(base_url=host, headers=served.tenant.headers) as http:
            refused = http.post(
                "/api/publications",
                json={
                    "campaign": {"id": str(uuid.UUID(hex=static.id.removeprefix("camp_")))},
                    "customer": {"email": "a@example.com"},
                },
            )
        assert refused.status_code == 409
