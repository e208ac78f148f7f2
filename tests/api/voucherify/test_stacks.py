"""A stack's parent redemption through the official SDK: several codes redeemed on one order are
grouped by a parent (its own id, the order's totals, its children), read back, rolled back as one,
and replayed by a retry of the same order."""

from __future__ import annotations

import json
import math
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
import voucherify
from voucherify.exceptions import BadRequestException

from tests.api.voucherify.conftest import Served, other_tenant
from tests.api.voucherify.test_redemptions import codes_of, redeem, stack, validate
from voucherd.campaigns.rules import DiscountType


def two_codes(served: Served) -> tuple[str, str]:
    (percent,) = codes_of(served, discount_type=DiscountType.PERCENTAGE, discount_value=10)
    (fixed,) = codes_of(served, discount_type=DiscountType.FIXED, discount_value=Decimal("5.00"))
    return percent, fixed


def test_several_codes_are_grouped_by_a_parent_redemption(served: Served) -> None:
    percent, fixed = two_codes(served)
    with served.client() as client:
        done = redeem(client, stack(percent, fixed, amount=10000, source_id="ord-s1"))
        parent = done.parent_redemption
        assert parent is not None
        assert (parent.object, parent.related_object_type, parent.result, parent.status) == (
            "redemption",
            "redemption",
            "SUCCESS",
            "SUCCEEDED",
        )
        children = [child.id for child in done.redemptions]
        assert parent.id.startswith("r_")
        assert parent.id not in children
        assert parent.related_object_id == parent.id
        assert [item.id for item in parent.related_redemptions.redemptions] == children
        assert [child.redemption for child in done.redemptions] == [parent.id, parent.id]
        # 10% of 10000, then 5.00 of the 9000 left.
        assert (parent.order.amount, parent.order.total_discount_amount, parent.order.total_amount) == (
            10000,
            1500,
            8500,
        )
        redemptions = voucherify.RedemptionsApi(client)
        shown = redemptions.get_redemption(parent.id)
        assert (shown.id, shown.object, shown.related_object_type, shown.status) == (
            parent.id,
            "redemption",
            "redemption",
            "SUCCEEDED",
        )
        assert [item.id for item in shown.related_redemptions.redemptions] == children
        assert (shown.order.total_discount_amount, shown.order.source_id) == (1500, "ord-s1")
        assert redemptions.get_redemption(children[1]).redemption == parent.id
        listed = redemptions.list_redemptions()
        assert {item.redemption for item in listed.redemptions} == {parent.id}
        # One code needs no parent.
        (single,) = codes_of(served)
        alone = redeem(client, stack(single))
        assert alone.parent_redemption is None
        assert alone.redemptions[0].redemption is None


def test_rolling_back_the_parent_rolls_back_every_child(served: Served) -> None:
    percent, fixed = two_codes(served)
    with served.client() as client:
        redemptions = voucherify.RedemptionsApi(client)
        parent = redeem(client, stack(percent, fixed, source_id="ord-s2")).parent_redemption
        assert parent is not None
        rolled = redemptions.rollback_redemption(parent.id, reason="order cancelled")
        assert (rolled.object, rolled.redemption, rolled.reason, rolled.result, rolled.status) == (
            "redemption_rollback",
            parent.id,
            "order cancelled",
            "SUCCESS",
            "SUCCEEDED",
        )
        assert rolled.related_object_type == "redemption"
        assert validate(client, stack(percent, fixed)).valid is True  # both uses are back
        shown = redemptions.get_redemption(parent.id)
        assert shown.status == "ROLLED_BACK"
        assert [item.id for item in shown.related_redemptions.rollbacks] == [rolled.id]
        for child in shown.related_redemptions.redemptions:
            assert redemptions.get_redemption(child.id).status == "ROLLED_BACK"
        with pytest.raises(BadRequestException) as twice:
            redemptions.rollback_redemption(parent.id)
        assert json.loads(twice.value.body)["key"] == "already_rolled_back"
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        again = http.get(f"/v1/redemptions/{rolled.id}")
        assert again.status_code == 200
        assert (again.json()["object"], again.json()["redemption"]) == ("redemption_rollback", parent.id)


def test_the_parent_rolls_back_what_is_left_after_a_child_rolled_back_alone(served: Served) -> None:
    percent, fixed = two_codes(served)
    with served.client() as client:
        redemptions = voucherify.RedemptionsApi(client)
        done = redeem(client, stack(percent, fixed, source_id="ord-s3"))
        assert done.parent_redemption is not None
        redemptions.rollback_redemption(done.redemptions[0].id, reason="one item returned")
        assert redemptions.get_redemption(done.parent_redemption.id).status == "SUCCEEDED"
        assert validate(client, stack(fixed)).valid is False  # still used
        redemptions.rollback_redemption(done.parent_redemption.id, reason="order cancelled")
        assert redemptions.get_redemption(done.parent_redemption.id).status == "ROLLED_BACK"
        assert validate(client, stack(percent, fixed)).valid is True


def test_a_retried_stack_answers_as_the_first_time(served: Served) -> None:
    percent, fixed = two_codes(served)
    (third,) = codes_of(served)
    with served.client() as client:
        first = redeem(client, stack(percent, fixed, source_id="ord-s4"))
        again = redeem(client, stack(percent, fixed, source_id="ord-s4"))
        assert first.parent_redemption is not None
        assert again.parent_redemption is not None
        assert again.parent_redemption.id == first.parent_redemption.id
        assert [child.id for child in again.redemptions] == [child.id for child in first.redemptions]
        assert voucherify.RedemptionsApi(client).list_redemptions().total == 2
        # The same order with another code is not a retry: refused, and nothing redeemed.
        with pytest.raises(BadRequestException) as other:
            redeem(client, stack(percent, fixed, third, source_id="ord-s4"))
        assert json.loads(other.value.body)["key"] == "order_reference_conflict"
        assert validate(client, stack(third)).valid is True
        assert voucherify.RedemptionsApi(client).list_redemptions().total == 2


def test_another_clients_parent_redemption_is_not_found(served: Served) -> None:
    percent, fixed = two_codes(served)
    with served.client() as client:
        parent = redeem(client, stack(percent, fixed)).parent_redemption
    assert parent is not None
    stranger = other_tenant(served)
    headers = {"X-App-Id": str(stranger.principal.subject.id), "X-App-Token": stranger.api_key}
    with httpx.Client(base_url=served.url, headers=headers) as http:
        shown = http.get(f"/v1/redemptions/{parent.id}")
        assert (shown.status_code, shown.json()["key"], shown.json()["resource_id"]) == (
            404,
            "not_found",
            parent.id,
        )
        assert http.post(f"/v1/redemptions/{parent.id}/rollback").status_code == 404
    with served.client() as client:
        assert voucherify.RedemptionsApi(client).get_redemption(parent.id).status == "SUCCEEDED"


def test_a_stack_with_a_gift_voucher_rolls_back_its_credits_with_the_parent(served: Served) -> None:
    (percent,) = codes_of(served, discount_type=DiscountType.PERCENTAGE, discount_value=10)
    with served.client() as client:
        voucherify.VouchersApi(client).create_voucher(
            "GIFT-STACK-1",
            voucherify.VouchersCreateWithSpecificCodeRequestBody(
                type="GIFT_VOUCHER", gift=voucherify.Gift(amount=5000)
            ),
        )
        body = stack(percent, "GIFT-STACK-1", amount=10000, source_id="ord-s6")
        body["redeemables"][1]["gift"] = {"credits": 2000}  # type: ignore[index]
        done = redeem(client, body)
        parent = done.parent_redemption
        assert parent is not None
        # 10% of 10000, then 2000 of credits on the 9000 left.
        assert (parent.amount, parent.order.total_discount_amount, parent.order.total_amount) == (
            2000,
            3000,
            7000,
        )
        redemptions = voucherify.RedemptionsApi(client)
        redemptions.rollback_redemption(parent.id, reason="order cancelled")
        shown = voucherify.VouchersApi(client).get_voucher("GIFT-STACK-1")
        assert shown.gift is not None
        assert shown.gift.balance == 5000
        assert redemptions.get_redemption(parent.id).status == "ROLLED_BACK"


@pytest.mark.concurrency
def test_concurrent_rollbacks_of_a_parent_succeed_once(served: Served) -> None:
    percent, fixed = two_codes(served)
    with served.client() as client:
        parent = redeem(client, stack(percent, fixed, source_id="ord-race")).parent_redemption
        assert parent is not None

    def roll_back(_: int) -> httpx.Response:
        with httpx.Client(base_url=served.url, headers=served.headers, timeout=30) as http:
            return http.post(f"/v1/redemptions/{parent.id}/rollback", json={"reason": "cancelled"})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(roll_back, range(8)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [400] * 7, [answer.text for answer in answers]
    assert {answer.json()["key"] for answer in answers if answer.status_code == 400} == {
        "already_rolled_back"
    }
    with served.client() as client:
        shown = voucherify.RedemptionsApi(client).get_redemption(parent.id)
        assert len(shown.related_redemptions.rollbacks) == 1


@pytest.mark.concurrency
def test_c8_fifty_clients_stacking_three_codes_in_random_order_never_deadlock(served: Served) -> None:
    """RELIABILITY C8: 50 clients at once, each stacking the same 3 codes in its own order (a
    seeded shuffle, so the run is repeatable) on its own order: each stack locks the 3 codes, in
    opposite orders among the clients, so a lock taken in request order would deadlock. Every
    redemption succeeds and each code counts 50 uses. The p99 latency is printed, not asserted
    (RELIABILITY's p99 < 1 s is a figure to report, not a wall-clock pass condition here)."""
    codes = [
        codes_of(served, uses_per_voucher=1000, discount_type=DiscountType.FIXED, discount_value=value)[0]
        for value in (Decimal("1.00"), Decimal("2.00"), Decimal("3.00"))
    ]
    shuffler = random.Random(8)
    orders = [shuffler.sample(codes, len(codes)) for _ in range(50)]
    assert len({tuple(order) for order in orders}) == 6  # every order of the 3 codes occurs
    start = threading.Barrier(len(orders))

    def attempt(index: int) -> tuple[int, str, float]:
        with httpx.Client(base_url=served.url, headers=served.headers, timeout=60) as http:
            start.wait()
            began = time.perf_counter()
            answer = http.post("/v1/redemptions", json=stack(*orders[index], source_id=f"ord-c8-{index}"))
            return answer.status_code, answer.text, time.perf_counter() - began

    with ThreadPoolExecutor(max_workers=len(orders)) as pool:
        outcomes = list(pool.map(attempt, range(len(orders))))
    failures = [(status, text) for status, text, _ in outcomes if status != 200]
    assert failures == []
    latencies = sorted(took for _, _, took in outcomes)
    p99 = latencies[min(len(latencies) - 1, math.ceil(0.99 * len(latencies)) - 1)]
    print(f"C8 {served.db_url.split(':')[0]}: p50 {latencies[len(latencies) // 2]:.3f} s, p99 {p99:.3f} s")
    with httpx.Client(base_url=served.url, headers=served.headers, timeout=30) as http:
        for code in codes:
            assert http.get(f"/v1/vouchers/{code}").json()["redemption"]["redeemed_quantity"] == 50
