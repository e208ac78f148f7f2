"""Gift vouchers through the official SDK 6.1.1: a GIFT_VOUCHER is one of our codes whose worth is
a balance, the same card and ledger as a VoucherCart gift card; credits validate, redeem and roll
back through Voucherify, and the VoucherTrack checkout spends the same balance."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import voucherify
from sqlalchemy import func, select
from voucherify.exceptions import ApiException, BadRequestException, NotFoundException

from tests.api.voucherify.conftest import Served, other_tenant
from voucherd.db.engine import create_database
from voucherd.models import GiftCard, GiftLedgerEntry


def _error(raised: pytest.ExceptionInfo[ApiException]) -> dict[str, object]:
    body: dict[str, object] = json.loads(raised.value.body)
    return body


def _gift(
    client: voucherify.ApiClient, code: str, amount: int
) -> voucherify.VouchersCreateWithSpecificCodeResponseBody:
    return voucherify.VouchersApi(client).create_voucher(
        code,
        voucherify.VouchersCreateWithSpecificCodeRequestBody(
            type="GIFT_VOUCHER", gift=voucherify.Gift(amount=amount)
        ),
    )


def _stack(
    code: str, *, amount: int, credits: int | None = None, source_id: str | None = None
) -> dict[str, object]:
    redeemable: dict[str, object] = {"object": "voucher", "id": code}
    if credits is not None:
        redeemable["gift"] = {"credits": credits}
    return {"redeemables": [redeemable], "order": {"amount": amount, "source_id": source_id}}


def _validate(
    client: voucherify.ApiClient, body: dict[str, object]
) -> voucherify.ValidationsValidateResponseBody:
    request = voucherify.ValidationsValidateRequestBody.from_dict(body)
    return voucherify.ValidationsApi(client).validate_stacked_discounts(request)


def _redeem(
    client: voucherify.ApiClient, body: dict[str, object]
) -> voucherify.RedemptionsRedeemResponseBody:
    request = voucherify.RedemptionsRedeemRequestBody.from_dict(body)
    return voucherify.RedemptionsApi(client).redeem_stacked_discounts(request)


def _balance(client: voucherify.ApiClient, code: str) -> int:
    gift = voucherify.VouchersApi(client).get_voucher(code).gift
    assert gift is not None
    return int(gift.balance or 0)


def _ledger(served: Served, code: str) -> tuple[int, int, list[str]]:
    """The card's balance, Σ of its ledger, and the ledger's kinds in order."""

    async def read() -> tuple[int, int, list[str]]:
        database = create_database(served.db_url, pool=False)
        try:
            async with database.read_sessions() as session:
                card = await session.scalar(select(GiftCard).where(GiftCard.code == code))
                assert card is not None
                total = await session.scalar(
                    select(func.sum(GiftLedgerEntry.amount)).where(GiftLedgerEntry.giftcard_id == card.id)
                )
                kinds = await session.scalars(
                    select(GiftLedgerEntry.kind)
                    .where(GiftLedgerEntry.giftcard_id == card.id)
                    .order_by(GiftLedgerEntry.created_at, GiftLedgerEntry.id)
                )
                return card.balance, int(total or 0), list(kinds)
        finally:
            await database.dispose()

    return asyncio.run(read())


def test_a_gift_voucher_is_created_with_its_balance(served: Served) -> None:
    with served.client() as client:
        made = _gift(client, "GIFT-50", 5000)
        assert (made.type, made.discount, made.campaign) == ("GIFT_VOUCHER", None, None)
        assert made.gift is not None
        assert (made.gift.amount, made.gift.balance) == (5000, 5000)
        assert made.redemption is not None
        assert made.redemption.quantity is None
        listed = voucherify.VouchersApi(client).list_vouchers()
        assert [(item.code, item.type) for item in listed.vouchers] == [("GIFT-50", "GIFT_VOUCHER")]
        for amount in (0, -5, 10.5):
            with pytest.raises(BadRequestException) as refused:
                voucherify.VouchersApi(client).generate_random_code(
                    voucherify.VouchersCreateRequestBody(
                        type="GIFT_VOUCHER", gift=voucherify.Gift(amount=amount)
                    )
                )
            assert _error(refused)["key"] == "invalid_payload"
        with pytest.raises(BadRequestException) as loyalty:
            voucherify.VouchersApi(client).generate_random_code(
                voucherify.VouchersCreateRequestBody(type="LOYALTY_CARD")
            )
        assert "LOYALTY_CARD" in str(_error(loyalty)["details"])
        with pytest.raises(BadRequestException) as changed:
            voucherify.VouchersApi(client).update_voucher(
                "GIFT-50",
                voucherify.VouchersUpdateRequestBody(
                    discount=voucherify.Discount(type="PERCENT", percent_off=10)
                ),
            )
        assert "gift voucher" in str(_error(changed)["details"])
        assert _balance(client, "GIFT-50") == 5000


def test_credits_validate_redeem_and_roll_back_on_one_balance(served: Served) -> None:
    with served.client() as client:
        _gift(client, "GIFT-100", 10000)
        checked = _validate(client, _stack("GIFT-100", amount=8000, credits=3000))
        assert checked.valid is True
        (item,) = checked.redeemables
        assert (item.result.gift.credits, item.result.gift.balance) == (3000, 10000)
        assert (checked.order.total_discount_amount, checked.order.total_amount) == (3000, 5000)
        assert _balance(client, "GIFT-100") == 10000  # validation takes nothing

        done = _redeem(client, _stack("GIFT-100", amount=8000, credits=3000, source_id="ord-1"))
        (child,) = done.redemptions
        assert (child.amount, child.order.total_discount_amount) == (3000, 3000)
        assert (child.voucher.gift.amount, child.voucher.gift.balance) == (10000, 7000)
        assert _balance(client, "GIFT-100") == 7000
        again = _redeem(client, _stack("GIFT-100", amount=8000, credits=3000, source_id="ord-1"))
        assert again.redemptions[0].id == child.id  # a retried order takes nothing more
        assert _balance(client, "GIFT-100") == 7000

        with pytest.raises(BadRequestException) as over:
            _redeem(client, _stack("GIFT-100", amount=9000, credits=8000, source_id="ord-2"))
        assert _error(over)["key"] == "gift_amount_exceeded"
        refused = _validate(client, _stack("GIFT-100", amount=9000, credits=8000))
        assert refused.valid is False
        assert refused.inapplicable_redeemables[0].result.error.key == "gift_amount_exceeded"
        assert _balance(client, "GIFT-100") == 7000  # a refusal changes nothing

        # Without credits the order takes what it can: all of its amount, at most the balance.
        whole = _redeem(client, _stack("GIFT-100", amount=2500, source_id="ord-3"))
        assert whole.redemptions[0].amount == 2500
        assert _balance(client, "GIFT-100") == 4500

        shown = voucherify.RedemptionsApi(client).get_redemption(child.id)
        assert shown.amount == 3000  # the credits it took, read back too
        listed = voucherify.RedemptionsApi(client).list_redemptions()
        assert sorted(item.amount for item in listed.redemptions) == [2500, 3000]
        rolled = voucherify.RedemptionsApi(client).rollback_redemption(child.id, reason="returned")
        assert (rolled.result, rolled.status) == ("SUCCESS", "SUCCEEDED")
        assert _balance(client, "GIFT-100") == 7500
        with pytest.raises(BadRequestException) as twice:
            voucherify.RedemptionsApi(client).rollback_redemption(child.id)
        assert _error(twice)["key"] == "already_rolled_back"
        assert _balance(client, "GIFT-100") == 7500
    balance, total, kinds = _ledger(served, "GIFT-100")
    assert (balance, total) == (7500, 7500)
    assert kinds == ["issue", "redeem", "redeem", "rollback"]


def test_the_vouchertrack_checkout_spends_the_same_balance(served: Served) -> None:
    with served.client() as client:
        _gift(client, "GIFT-30", 3000)
        host = served.url.removesuffix("/voucherify")
        with httpx.Client(base_url=host, headers=served.tenant.headers) as http:
            shown = http.get("/api/webhook/validate/GIFT-30").json()
            assert (shown["valid"], shown["discount_type"], shown["discount_value"]) == (True, "fixed", 30)
            paid = http.post(
                "/api/webhook/redemption",
                json={"code": "GIFT-30", "transaction_amount": 12.5, "order_reference": "till-1"},
            )
            assert paid.status_code == 201, paid.text
            assert paid.json()["discount_applied"] == 12.5
            assert _balance(client, "GIFT-30") == 1750
            rest = http.post(
                "/api/webhook/redemption",
                json={"code": "GIFT-30", "transaction_amount": 40, "order_reference": "till-2"},
            )
            assert rest.json()["discount_applied"] == 17.5
            assert _balance(client, "GIFT-30") == 0
            spent = http.get("/api/webhook/validate/GIFT-30").json()
            assert spent["valid"] is False
        used_up = _validate(client, _stack("GIFT-30", amount=1000))
        assert used_up.valid is False
    assert _ledger(served, "GIFT-30")[:2] == (0, 0)


def test_a_gift_campaign_makes_gift_codes(served: Served) -> None:
    with served.client() as client:
        api = voucherify.CampaignsApi(client)
        made = api.create_campaign(
            voucherify.CampaignsCreateRequestBody.from_dict(
                {
                    "name": "Gift cards",
                    "campaign_type": "GIFT_VOUCHERS",
                    "vouchers_count": 1,
                    "voucher": {
                        "type": "GIFT_VOUCHER",
                        "gift": {"amount": 2000},
                        "code_config": {"prefix": "G-"},
                    },
                }
            )
        )
        assert made.campaign_type == "GIFT_VOUCHERS"
        assert made.voucher.type == "GIFT_VOUCHER"
        assert made.voucher.gift.amount == 2000
        assert made.voucher.redemption.quantity is None
        added = api.add_vouchers_to_campaign(made.id, vouchers_count=1)
        code = added.code
        assert code.startswith("G-")
        assert added.gift is not None
        assert added.gift.balance == 2000
        assert [c.name for c in api.list_campaigns(campaign_type="GIFT_VOUCHERS").campaigns] == ["Gift cards"]
        assert api.list_campaigns(campaign_type="DISCOUNT_COUPONS").total == 0
        done = _redeem(client, _stack(code, amount=500, credits=500))
        assert done.redemptions[0].voucher.gift.balance == 1500
        with pytest.raises(BadRequestException) as mixed:
            api.create_campaign(
                voucherify.CampaignsCreateRequestBody.from_dict(
                    {
                        "name": "Mixed",
                        "campaign_type": "GIFT_VOUCHERS",
                        "voucher": {
                            "type": "DISCOUNT_VOUCHER",
                            "discount": {"type": "AMOUNT", "amount_off": 100},
                        },
                    }
                )
            )
        assert _error(mixed)["key"] == "invalid_payload"


@pytest.mark.concurrency
def test_concurrent_credits_never_take_more_than_the_balance(served: Served) -> None:
    """RELIABILITY C5 through the SDK: 30 concurrent redemptions of 1,500 on a 10,000 balance."""
    with served.client() as client:
        _gift(client, "GIFT-RACE", 10000)

    def attempt(index: int) -> str:
        with served.client() as client:
            try:
                _redeem(client, _stack("GIFT-RACE", amount=5000, credits=1500, source_id=f"ord-{index}"))
            except BadRequestException as error:
                return str(json.loads(error.body)["key"])
            return "redeemed"

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(30)))
    assert outcomes.count("redeemed") == 6
    assert outcomes.count("gift_amount_exceeded") == 24
    balance, total, kinds = _ledger(served, "GIFT-RACE")
    assert (balance, total) == (1000, 1000)
    assert kinds.count("issue") == 1


def test_a_published_gift_voucher_lists_under_its_voucher_type(served: Served) -> None:
    with served.client() as client:
        _gift(client, "GIFT-PUB", 2500)
    with httpx.Client(base_url=served.url, headers=served.headers) as http:
        published = http.post(
            "/v1/publications", json={"customer": {"source_id": "ann"}, "voucher": "GIFT-PUB"}
        )
        assert published.status_code == 200, published.text
        assert published.json()["voucher"]["gift"]["balance"] == 2500
        for kind, total in (("gift", 1), ("GIFT_VOUCHER", 1), ("discount", 0), ("loyalty", 0)):
            listed = http.get("/v1/publications", params={"voucher_type": kind}).json()
            assert listed["total"] == total, kind


def test_a_spent_gift_voucher_is_deleted_with_its_card(served: Served) -> None:
    with served.client() as client:
        _gift(client, "GIFT-DEL", 1000)
        _redeem(client, _stack("GIFT-DEL", amount=400, credits=400))
        voucherify.VouchersApi(client).delete_voucher("GIFT-DEL")
        with pytest.raises(NotFoundException):
            voucherify.VouchersApi(client).get_voucher("GIFT-DEL")
        again = _gift(client, "GIFT-DEL", 700)  # the code is free again, with a new balance
        assert again.gift is not None
        assert again.gift.balance == 700
        done = _redeem(client, _stack("GIFT-DEL", amount=100, credits=100))
        assert done.redemptions[0].voucher.gift.balance == 600
    assert _ledger(served, "GIFT-DEL")[:2] == (600, 600)


def test_another_clients_gift_voucher_is_not_found_and_keeps_its_balance(served: Served) -> None:
    with served.client() as client:
        _gift(client, "GIFT-MINE", 4000)
        (child,) = _redeem(client, _stack("GIFT-MINE", amount=1000, credits=1000)).redemptions
    stranger = other_tenant(served)
    headers = {"X-App-Id": str(stranger.principal.subject.id), "X-App-Token": stranger.api_key}
    with httpx.Client(base_url=served.url, headers=headers) as http:
        checked = http.post("/v1/validations", json=_stack("GIFT-MINE", amount=1000, credits=500)).json()
        assert checked["redeemables"][0]["result"]["error"]["key"] == "not_found"
        taken = http.post("/v1/redemptions", json=_stack("GIFT-MINE", amount=1000, credits=500))
        assert (taken.status_code, taken.json()["key"]) == (400, "not_found")
        assert http.get("/v1/vouchers/GIFT-MINE").status_code == 404
        assert http.post(f"/v1/redemptions/{child.id}/rollback").status_code == 404
        mine = http.post("/v1/vouchers/GIFT-MINE", json={"type": "GIFT_VOUCHER", "gift": {"amount": 100}})
        assert mine.status_code == 200  # codes are per client: the same code is theirs to make
    with served.client() as client:
        assert _balance(client, "GIFT-MINE") == 3000
