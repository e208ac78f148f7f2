"""Discount vouchers through the official SDK 6.1.1 (``VouchersApi``): every operation, codes the
SDK must encode, another client's codes, and the VoucherTrack checkout seeing the same codes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import voucherify
from voucherify.exceptions import ApiException, BadRequestException, NotFoundException

from tests.api.voucherify.conftest import Served, other_tenant
from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign
from voucherd.db.engine import create_database

PERCENT_10 = voucherify.Discount(type="PERCENT", percent_off=10)


def _api(client: voucherify.ApiClient) -> voucherify.VouchersApi:
    return voucherify.VouchersApi(client)


def _error(raised: pytest.ExceptionInfo[ApiException]) -> dict[str, object]:
    body: dict[str, object] = json.loads(raised.value.body)
    return body


def test_a_random_code_is_created_got_listed_and_counted(served: Served) -> None:
    with served.client() as client:
        api = _api(client)
        made = api.generate_random_code(
            voucherify.VouchersCreateRequestBody(
                type="DISCOUNT_VOUCHER",
                discount=PERCENT_10,
                code_config=voucherify.CodeConfig(prefix="SUM-", length=6, charset="ABCDEF123"),
                redemption=voucherify.VouchersCreateRequestBodyRedemption(quantity=3),
                metadata={"source": "test"},
                additional_info="for the summer",
                category="summer",
            )
        )
        assert made.code is not None
        assert made.code.startswith("SUM-")
        assert len(made.code) == 10
        assert set(made.code[4:]) <= set("ABCDEF123")
        assert made.id is not None
        assert made.id.startswith("v_")
        assert (made.type, made.campaign, made.campaign_id, made.gift) == (
            "DISCOUNT_VOUCHER",
            None,
            None,
            None,
        )
        assert made.discount is not None
        assert (made.discount.type, made.discount.percent_off) == ("PERCENT", 10)
        assert made.active is True
        assert made.metadata == {"source": "test"}
        assert (made.additional_info, made.category) == ("for the summer", "summer")
        assert made.redemption is not None
        assert made.publish is not None
        assert (made.redemption.quantity, made.redemption.redeemed_quantity) == (3, 0)
        assert made.publish.count == 0
        assert made.publish.url == f"/v1/vouchers/{made.code}/publications?page=1&limit=10"
        got = api.get_voucher(made.code)
        assert (got.id, got.code, got.created_at) == (made.id, made.code, made.created_at)
        listed = api.list_vouchers()
        assert (listed.object, listed.data_ref, listed.total) == ("list", "vouchers", 1)
        assert listed.vouchers is not None
        assert [v.code for v in listed.vouchers] == [made.code]


def test_a_given_code_with_a_slash_and_a_space_lives_and_dies(served: Served) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with served.client() as client:
        api = _api(client)
        made = api.create_voucher(
            "A/B 1",
            voucherify.VouchersCreateWithSpecificCodeRequestBody(
                discount=voucherify.Discount(type="AMOUNT", amount_off=1500),
                start_date=start,
                expiration_date=start + timedelta(days=400),
            ),
        )
        assert made.code == "A/B 1"
        assert made.discount is not None
        assert (made.discount.type, made.discount.amount_off) == (
            "AMOUNT",
            1500,
        )
        assert made.start_date == start
        assert made.expiration_date == start + timedelta(days=400)
        assert made.redemption is not None
        assert made.redemption.quantity is None
        assert made.publish is not None
        assert made.publish.url == "/v1/vouchers/A%2FB%201/publications?page=1&limit=10"
        assert api.get_voucher("A/B 1").id == made.id
        with pytest.raises(ApiException) as duplicate:
            api.create_voucher(
                "A/B 1", voucherify.VouchersCreateWithSpecificCodeRequestBody(discount=PERCENT_10)
            )
        assert duplicate.value.status == 409
        assert _error(duplicate)["key"] == "duplicate_found"
        api.delete_voucher("A/B 1")
        with pytest.raises(NotFoundException) as gone:
            api.get_voucher("A/B 1")
        body = _error(gone)
        assert (body["code"], body["key"], body["resource_type"], body["resource_id"]) == (
            404,
            "not_found",
            "voucher",
            "A/B 1",
        )
        with pytest.raises(NotFoundException):
            api.delete_voucher("A/B 1")
        # the code is free again
        assert (
            api.create_voucher(
                "A/B 1", voucherify.VouchersCreateWithSpecificCodeRequestBody(discount=PERCENT_10)
            ).code
            == "A/B 1"
        )


def test_an_update_keeps_what_it_leaves_out_and_ignores_type(served: Served) -> None:
    with served.client() as client:
        api = _api(client)
        api.create_voucher(
            "KEEP-1",
            voucherify.VouchersCreateWithSpecificCodeRequestBody(
                discount=PERCENT_10, metadata={"a": 1}, category="old", additional_info="info"
            ),
        )
        updated = api.update_voucher(
            "KEEP-1",
            voucherify.VouchersUpdateRequestBody(
                category="new", discount=voucherify.Discount(type="PERCENT", percent_off=12.5)
            ),
        )
        assert updated.category == "new"
        assert updated.discount is not None
        assert updated.discount.percent_off == 12.5
        assert (updated.metadata, updated.additional_info, updated.active) == ({"a": 1}, "info", True)
        assert updated.type == "DISCOUNT_VOUCHER"
        assert updated.updated_at is not None
        again = api.update_voucher("KEEP-1", voucherify.VouchersUpdateRequestBody(metadata={"b": 2}))
        assert (again.metadata, again.category) == ({"b": 2}, "new")
        with pytest.raises(NotFoundException):
            api.update_voucher("NOPE", voucherify.VouchersUpdateRequestBody(category="x"))


def test_a_disabled_voucher_is_refused_by_the_vouchertrack_checkout(served: Served) -> None:
    with served.client() as client:
        api = _api(client)
        api.create_voucher("OFF-1", voucherify.VouchersCreateWithSpecificCodeRequestBody(discount=PERCENT_10))
        host = served.url.removesuffix("/voucherify")
        with httpx.Client(base_url=host, headers=served.tenant.headers) as http:
            assert http.get("/api/webhook/validate/OFF-1").json()["valid"] is True
            disabled = api.disable_voucher("OFF-1")
            assert disabled.active is False
            assert api.get_voucher("OFF-1").active is False
            refused = http.get("/api/webhook/validate/OFF-1").json()
            assert refused == {"valid": False, "code": "OFF-1", "error": "Voucher not yet active"}
            redeemed = http.post("/api/webhook/redemption", json={"code": "OFF-1", "transaction_amount": 10})
            assert redeemed.status_code == 409
            enabled = api.enable_voucher("OFF-1")
            assert enabled.active is True
            assert http.get("/api/webhook/validate/OFF-1").json()["valid"] is True
            redeemed = http.post("/api/webhook/redemption", json={"code": "OFF-1", "transaction_amount": 10})
            assert redeemed.status_code == 201
        after = api.get_voucher("OFF-1")
        assert after.redemption is not None
        assert after.redemption.redeemed_quantity == 1
        with pytest.raises(NotFoundException):
            api.enable_voucher("NOPE")
        with pytest.raises(NotFoundException):
            api.disable_voucher("NOPE")


def test_enable_and_disable_carry_no_body(served: Served) -> None:
    with served.client() as client:
        _api(client).create_voucher(
            "RAW-1", voucherify.VouchersCreateWithSpecificCodeRequestBody(discount=PERCENT_10)
        )
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        off = http.post("/v1/vouchers/RAW-1/disable")
        assert (off.status_code, off.json()["active"]) == (200, False)
        on = http.post("/v1/vouchers/RAW-1/enable")
        assert (on.status_code, on.json()["active"]) == (200, True)
        by_id = http.post(f"/v1/vouchers/{on.json()['id']}/disable")
        assert (by_id.status_code, by_id.json()["code"]) == (200, "RAW-1")


def test_the_list_filters_orders_and_pages(served: Served) -> None:
    campaign = asyncio.run(_campaign(served, served.tenant))
    with served.client() as client:
        api = _api(client)
        for code, category in (("L-1", "food"), ("L-2", "drink"), ("L-3", "food")):
            api.create_voucher(
                code,
                voucherify.VouchersCreateWithSpecificCodeRequestBody(discount=PERCENT_10, category=category),
            )
        in_campaign = api.create_voucher(
            "L-4",
            voucherify.VouchersCreateWithSpecificCodeRequestBody(campaign="Summer Sale", category="food"),
        )
        assert (in_campaign.campaign, in_campaign.campaign_id) == ("Summer Sale", f"camp_{campaign}")
        assert in_campaign.discount is not None
        assert in_campaign.discount.percent_off == 20
        newest = api.list_vouchers()
        assert newest.vouchers is not None
        assert [v.code for v in newest.vouchers] == [
            "L-4",
            "L-3",
            "L-2",
            "L-1",
        ]
        by_code = api.list_vouchers(order=voucherify.ParameterOrderVouchers.CODE, limit=2, page=2)
        assert by_code.vouchers is not None
        assert [v.code for v in by_code.vouchers] == ["L-3", "L-4"]
        assert by_code.total == 4
        food = api.list_vouchers(category="food")
        assert food.vouchers is not None
        assert {v.code for v in food.vouchers} == {"L-1", "L-3", "L-4"}
        for listed in (
            api.list_vouchers(campaign_id=f"camp_{campaign}"),
            api.list_vouchers(campaign="Summer Sale"),
        ):
            assert listed.vouchers is not None
            assert [v.code for v in listed.vouchers] == ["L-4"]
        assert api.list_vouchers(campaign_id="camp_nothing").total == 0
        created = [v.created_at for v in newest.vouchers]
        assert all(c is not None for c in created)
        later = api.list_vouchers(created_at=voucherify.ParameterCreatedBeforeAfter(after=created[2]))
        assert later.vouchers is not None
        assert [v.code for v in later.vouchers] == ["L-4", "L-3"]
        earlier = api.list_vouchers(created_at=voucherify.ParameterCreatedBeforeAfter(before=created[1]))
        assert earlier.vouchers is not None
        assert [v.code for v in earlier.vouchers] == ["L-2", "L-1"]
        api.update_voucher("L-1", voucherify.VouchersUpdateRequestBody(category="drink"))
        touched = api.list_vouchers(updated_at=voucherify.ParameterUpdatedBeforeAfter(after=created[0]))
        assert touched.vouchers is not None
        assert [v.code for v in touched.vouchers] == ["L-1"]  # the others count their creation
        assert api.list_vouchers(page=9).vouchers == []
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        after = http.get("/v1/vouchers", params={"created_at%5Bafter%5D": created[2].isoformat()})
        assert after.status_code == 200
        raw = http.get(
            f"/v1/vouchers?created_at%5Bafter%5D={created[2].isoformat().replace('+', '%2B')}"
        ).json()
        assert [v["code"] for v in raw["vouchers"]] == ["L-4", "L-3"]
        assert http.get("/v1/vouchers", params={"limit": 0}).json()["key"] == "invalid_query_params"
        assert http.get("/v1/vouchers", params={"order": "nonsense"}).json()["key"] == "invalid_query_params"
        bad_date = http.get("/v1/vouchers", params={"created_at[before]": "yesterday"})
        assert (bad_date.status_code, bad_date.json()["key"]) == (400, "invalid_query_params")


def test_loyalty_cards_and_unserved_discounts_are_refused_by_name(served: Served) -> None:
    with served.client() as client:
        api = _api(client)
        with pytest.raises(BadRequestException) as loyalty:
            api.generate_random_code(voucherify.VouchersCreateRequestBody(type="LOYALTY_CARD"))
        assert _error(loyalty)["key"] == "invalid_payload"
        assert "LOYALTY_CARD" in str(_error(loyalty)["details"])
        for discount in (
            voucherify.Discount(type="UNIT", unit_off=1, unit_type="coffee"),
            voucherify.Discount(type="PERCENT"),
            voucherify.Discount(type="PERCENT", percent_off=150),
            voucherify.Discount(type="AMOUNT", amount_off=10.5),
        ):
            with pytest.raises(BadRequestException) as refused:
                api.generate_random_code(voucherify.VouchersCreateRequestBody(discount=discount))
            assert _error(refused)["key"] == "invalid_payload"
        with pytest.raises(BadRequestException):
            api.generate_random_code(voucherify.VouchersCreateRequestBody())  # standalone: needs a discount
        with pytest.raises(NotFoundException):
            api.generate_random_code(voucherify.VouchersCreateRequestBody(campaign="No such campaign"))
        assert api.list_vouchers().total == 0  # nothing was made


def test_another_clients_code_is_not_found_anywhere(served: Served) -> None:
    with served.client() as client:
        _api(client).create_voucher(
            "MINE-1", voucherify.VouchersCreateWithSpecificCodeRequestBody(discount=PERCENT_10)
        )
    stranger = other_tenant(served)
    headers = {"X-App-Id": str(stranger.principal.subject.id), "X-App-Token": stranger.api_key}
    with httpx.Client(base_url=served.url, headers=headers) as http:
        assert http.get("/v1/vouchers/MINE-1").status_code == 404
        assert http.put("/v1/vouchers/MINE-1", json={"category": "stolen"}).status_code == 404
        assert http.post("/v1/vouchers/MINE-1/disable").status_code == 404
        assert http.post("/v1/vouchers/MINE-1/enable").status_code == 404
        assert http.delete("/v1/vouchers/MINE-1").status_code == 404
        listed = http.get("/v1/vouchers").json()
        assert (listed["vouchers"], listed["total"]) == ([], 0)
    with served.client() as client:
        mine = _api(client).get_voucher("MINE-1")
        assert (mine.active, mine.category) == (True, None)


async def _campaign(served: Served, tenant: Tenant) -> str:
    database = create_database(served.db_url, pool=False)
    try:
        campaign = await make_campaign(database, tenant, uses_per_voucher=5)
        return campaign.id.hex
    finally:
        await database.dispose()


def test_a_voucher_made_here_validates_and_redeems_here_and_not_once_disabled(served: Served) -> None:
    with served.client() as client:
        _api(client).create_voucher(
            "TEN-1",
            voucherify.VouchersCreateWithSpecificCodeRequestBody(
                discount=PERCENT_10,
                redemption=voucherify.VouchersCreateWithSpecificCodeRequestBodyRedemption(quantity=2),
            ),
        )
        body = {"redeemables": [{"object": "voucher", "id": "TEN-1"}], "order": {"amount": 10000}}
        checked = voucherify.ValidationsApi(client).validate_stacked_discounts(
            voucherify.ValidationsValidateRequestBody.from_dict(body)
        )
        assert checked.valid is True
        assert checked.order is not None
        assert checked.order.total_amount == 9000
        _api(client).disable_voucher("TEN-1")
        refused = voucherify.ValidationsApi(client).validate_stacked_discounts(
            voucherify.ValidationsValidateRequestBody.from_dict(body)
        )
        assert refused.valid is False
        assert refused.inapplicable_redeemables is not None
        (item,) = refused.inapplicable_redeemables
        assert item.result is not None
        assert item.result.error is not None
        assert item.result.error.key == "voucher_disabled"
        with pytest.raises(BadRequestException) as redeemed:
            voucherify.RedemptionsApi(client).redeem_stacked_discounts(
                voucherify.RedemptionsRedeemRequestBody.from_dict(body)
            )
        assert _error(redeemed)["key"] == "voucher_disabled"
        _api(client).enable_voucher("TEN-1")
        voucherify.RedemptionsApi(client).redeem_stacked_discounts(
            voucherify.RedemptionsRedeemRequestBody.from_dict(body)
        )
        used = _api(client).get_voucher("TEN-1")
        assert used.redemption is not None
        assert (used.redemption.quantity, used.redemption.redeemed_quantity) == (2, 1)
