"""Stacked validations and redemptions, rollbacks and redemptions read back, through the official
SDK against a real server: the same codes and the same redemptions as the VoucherTrack checkout."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
import voucherify
from voucherify.exceptions import BadRequestException, NotFoundException

from tests.api.voucherify.conftest import Served, other_tenant
from tests.fixtures.factories import make_campaign, make_codes
from voucherd.campaigns.rules import DiscountType
from voucherd.db.engine import create_database


def codes_of(served: Served, count: int = 1, **campaign: object) -> list[str]:
    async def make() -> list[str]:
        database = create_database(served.db_url, pool=False)
        try:
            made = await make_campaign(database, served.tenant, **campaign)  # type: ignore[arg-type]
            return await make_codes(database, served.tenant, made, count)
        finally:
            await database.dispose()

    return asyncio.run(make())


def stack(*codes: str, amount: int = 10000, source_id: str | None = None) -> dict[str, object]:
    return {
        "redeemables": [{"object": "voucher", "id": code} for code in codes],
        "order": {"amount": amount, "source_id": source_id},
    }


def validate(
    client: voucherify.ApiClient, body: dict[str, object]
) -> voucherify.ValidationsValidateResponseBody:
    request = voucherify.ValidationsValidateRequestBody.from_dict(body)
    return voucherify.ValidationsApi(client).validate_stacked_discounts(request)


def redeem(client: voucherify.ApiClient, body: dict[str, object]) -> voucherify.RedemptionsRedeemResponseBody:
    request = voucherify.RedemptionsRedeemRequestBody.from_dict(body)
    return voucherify.RedemptionsApi(client).redeem_stacked_discounts(request)


def test_a_ten_percent_voucher_validates_and_redeems_as_the_subset_shows(served: Served) -> None:
    (code,) = codes_of(served, discount_type=DiscountType.PERCENTAGE, discount_value=10)
    with served.client() as client:
        checked = validate(client, stack(code))
        assert checked.valid is True
        (item,) = checked.redeemables
        assert (item.status, item.id, item.object) == ("APPLICABLE", code, "voucher")
        assert (item.result.discount.type, item.result.discount.percent_off) == ("PERCENT", 10)
        order = checked.order
        assert (order.amount, order.discount_amount, order.total_discount_amount) == (10000, 1000, 1000)
        assert (order.applied_discount_amount, order.total_applied_discount_amount, order.total_amount) == (
            1000,
            1000,
            9000,
        )
        assert checked.stacking_rules is not None
        done = redeem(client, stack(code, source_id="ord-1"))
        (child,) = done.redemptions
        assert (child.object, child.result, child.status) == ("redemption", "SUCCESS", "SUCCEEDED")
        assert child.channel.channel_type == "API"
        assert (done.order.total_discount_amount, done.order.total_amount) == (1000, 9000)
        with pytest.raises(BadRequestException) as again:
            redeem(client, stack(code, source_id="ord-2"))
        assert json.loads(again.value.body)["key"] == "quantity_exceeded"
        used = validate(client, stack(code))
        assert used.valid is False
        (refused,) = used.inapplicable_redeemables
        assert refused.status == "INAPPLICABLE"
        assert refused.result.error.key == "quantity_exceeded"
    with httpx.Client(base_url=served.url.removesuffix("/voucherify")) as http:  # one core
        seen = http.get(f"/api/webhook/validate/{code}", headers=served.tenant.headers).json()
    assert seen == {"valid": False, "code": code, "error": "Voucher has already been redeemed"}


def test_a_rollback_gives_the_use_back_once(served: Served) -> None:
    (code,) = codes_of(served, discount_type=DiscountType.FIXED, discount_value=Decimal("5.00"))
    with served.client() as client:
        redemptions = voucherify.RedemptionsApi(client)
        (child,) = redeem(client, stack(code, amount=3000)).redemptions
        assert child.order.total_discount_amount == 500
        rolled = redemptions.rollback_redemption(child.id, reason="order cancelled")
        assert (rolled.result, rolled.status, rolled.redemption, rolled.reason) == (
            "SUCCESS",
            "SUCCEEDED",
            child.id,
            "order cancelled",
        )
        shown = redemptions.get_redemption(child.id)
        assert shown.status == "ROLLED_BACK"
        assert [item.id for item in shown.related_redemptions.rollbacks] == [rolled.id]
        with pytest.raises(BadRequestException) as twice:
            redemptions.rollback_redemption(child.id)
        assert json.loads(twice.value.body)["key"] == "already_rolled_back"
        assert validate(client, stack(code)).valid is True  # the use is back
        listed = redemptions.list_redemptions(limit=10)
        assert listed.total == 1
        with pytest.raises(NotFoundException):
            redemptions.get_redemption("r_00000000000000000000000000000000")


def test_a_stack_is_all_or_nothing(served: Served) -> None:
    (code,) = codes_of(served)
    with served.client() as client:
        with pytest.raises(BadRequestException) as refused:
            redeem(client, stack(code, "NO-SUCH-CODE"))
        assert json.loads(refused.value.body)["key"] == "not_found"
        assert validate(client, stack(code)).valid is True  # nothing was redeemed
        checked = validate(client, stack(code, "NO-SUCH-CODE"))
        assert checked.valid is False
        assert [item.status for item in checked.redeemables] == ["APPLICABLE", "INAPPLICABLE"]


def test_stacked_discounts_never_exceed_the_order(served: Served) -> None:
    first, second = codes_of(served, 2, discount_type=DiscountType.FIXED, discount_value=Decimal("70.00"))
    with served.client() as client:
        checked = validate(client, stack(first, second, amount=10000))
        assert [item.order.discount_amount for item in checked.redeemables] == [7000, 3000]
        assert checked.order.total_amount == 0


def test_a_retried_order_redeems_once(served: Served) -> None:
    (code,) = codes_of(served, uses_per_voucher=5)
    with served.client() as client:
        first = redeem(client, stack(code, source_id="ord-7"))
        again = redeem(client, stack(code, source_id="ord-7"))
        assert again.redemptions[0].id == first.redemptions[0].id
        assert voucherify.RedemptionsApi(client).list_redemptions().total == 1


def test_another_clients_codes_and_redemptions_are_not_found(served: Served) -> None:
    (code,) = codes_of(served)
    with served.client() as client:
        (child,) = redeem(client, stack(code)).redemptions
    stranger = other_tenant(served)
    headers = {"X-App-Id": str(stranger.principal.subject.id), "X-App-Token": stranger.api_key}
    with httpx.Client(base_url=served.url, headers=headers) as http:
        checked = http.post("/v1/validations", json=stack(code)).json()
        assert checked["redeemables"][0]["result"]["error"]["key"] == "not_found"
        assert http.get(f"/v1/redemptions/{child.id}").status_code == 404
        assert http.post(f"/v1/redemptions/{child.id}/rollback").status_code == 404
        assert http.get("/v1/redemptions").json()["total"] == 0


@pytest.mark.concurrency
def test_c1_through_the_sdk_one_single_use_code_redeems_once(served: Served) -> None:
    """RELIABILITY C1: 200 concurrent stacked redemptions of one single-use code."""
    (code,) = codes_of(served)

    def attempt(index: int) -> str:
        with served.client() as client:
            try:
                redeem(client, stack(code, source_id=f"ord-{index}"))
            except BadRequestException as error:
                return str(json.loads(error.body)["key"])
            return "redeemed"

    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = list(pool.map(attempt, range(200)))
    assert outcomes.count("redeemed") == 1
    assert outcomes.count("quantity_exceeded") == 199
