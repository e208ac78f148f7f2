"""The checkout API against seed 001: golden examples, the five messages, auth, idempotency."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant, make_tenant
from tests.fixtures.factories import add_codes, make_campaign, make_codes
from voucherd.campaigns.rules import CampaignStatus, DiscountType
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.idempotency import service as idempotency
from voucherd.models import Event, IdempotencyRecord, Redemption, Voucher

GOLDEN = Path(__file__).parents[2] / "golden" / "vouchertrack"
SEED_DAY = datetime(2026, 2, 3, 14, 30, tzinfo=UTC)


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def compact(raw: bytes) -> bytes:
    """The seed's pretty-printed JSON without the line breaks: our exact bytes."""
    return re.sub(rb"\n", b"", re.sub(rb'": ', b'":', re.sub(rb",\n", b",", raw))).strip()


async def counts(database: Database) -> tuple[int, int, int]:
    async with unit_of_work(database, write=False) as session:
        used = await session.scalar(select(func.coalesce(func.sum(Voucher.redeemed_count), 0)))
        redemptions = await session.scalar(select(func.count()).select_from(Redemption))
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "voucher.redeemed")
        )
    return int(used or 0), int(redemptions or 0), int(events or 0)


@pytest.fixture
async def summer_sale(database: Database, tenant: Tenant) -> str:
    campaign = await make_campaign(
        database, tenant, minimum_spend="25.00", valid_until=datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
    )
    await add_codes(database, tenant, campaign, ["SUMMER20-X7K3M2"])
    return "SUMMER20-X7K3M2"


class TestGoldenExamples:
    async def test_validate_success_is_the_documented_body(
        self, api: httpx.AsyncClient, tenant: Tenant, summer_sale: str
    ) -> None:
        with clock.frozen(SEED_DAY):
            response = await api.get(f"/api/webhook/validate/{summer_sale}", headers=tenant.headers)
        assert response.status_code == 200
        assert response.content == compact(golden("validate_success.json"))

    async def test_validate_error_is_the_documented_body(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant, valid_until=date(2026, 1, 31))
        await add_codes(database, tenant, campaign, ["EXPIRED123"])
        with clock.frozen(SEED_DAY):
            response = await api.get("/api/webhook/validate/EXPIRED123", headers=tenant.headers)
        assert response.status_code == 409
        assert response.content == compact(golden("validate_error.json"))

    async def test_redemption_is_the_documented_exchange(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, summer_sale: str
    ) -> None:
        with clock.frozen(SEED_DAY):
            response = await api.post(
                "/api/webhook/redemption",
                content=golden("redemption_request.json"),
                headers={**tenant.headers, "Content-Type": "application/json"},
            )
        assert response.status_code == 201
        assert response.content == compact(golden("redemption_response.json"))
        assert await counts(database) == (1, 1, 1)
        async with unit_of_work(database, write=False) as session:
            redemption = (await session.scalars(select(Redemption))).one()
        assert (redemption.transaction_amount, redemption.discount_applied) == (4599, 920)
        assert redemption.order_reference == "ORD-12345"
        assert redemption.channel == "online"
        assert redemption.redeemed_at == datetime(2026, 2, 3, 14, 30, tzinfo=UTC)

    async def test_woocommerce_example_body(
        self, api: httpx.AsyncClient, tenant: Tenant, summer_sale: str
    ) -> None:
        # given the WooCommerce plugin's body: PHP sends the total as a string, no redeemed_at
        body = {"code": "summer20-x7k3m2 ", "transaction_amount": "45.99", "order_reference": "1234"}
        with clock.frozen(SEED_DAY):
            response = await api.post("/api/webhook/redemption", json=body, headers=tenant.headers)
        assert response.status_code == 201
        assert response.json()["discount_applied"] == 9.2


class TestValidationMessages:
    """The five documented messages, exactly."""

    async def test_not_found(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await api.get("/api/webhook/validate/NOPE-123", headers=tenant.headers)
        assert response.status_code == 404
        assert response.json() == {"valid": False, "code": "NOPE-123", "error": "Voucher not found"}

    async def test_another_clients_code_is_not_found(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, other_tenant)
        [code] = await make_codes(database, other_tenant, campaign)
        response = await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)
        assert (response.status_code, response.json()["error"]) == (404, "Voucher not found")

    async def test_expired(self, api: httpx.AsyncClient, database: Database, tenant: Tenant) -> None:
        campaign = await make_campaign(database, tenant, valid_until=datetime(2026, 1, 1, tzinfo=UTC))
        [code] = await make_codes(database, tenant, campaign)
        with clock.frozen(SEED_DAY):
            response = await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)
        assert response.json() == {"valid": False, "code": code, "error": "Voucher has expired"}

    async def test_already_redeemed(self, api: httpx.AsyncClient, database: Database, tenant: Tenant) -> None:
        campaign = await make_campaign(database, tenant)
        [code] = await make_codes(database, tenant, campaign)
        await api.post(
            "/api/webhook/redemption", json={"code": code, "transaction_amount": 10}, headers=tenant.headers
        )
        response = await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)
        assert response.json() == {"valid": False, "code": code, "error": "Voucher has already been redeemed"}

    async def test_maximum_uses_reached(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant, uses_per_voucher=2)
        [code] = await make_codes(database, tenant, campaign)
        for _ in range(2):
            response = await api.post(
                "/api/webhook/redemption",
                json={"code": code, "transaction_amount": 10},
                headers=tenant.headers,
            )
            assert response.status_code == 201
        response = await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)
        assert response.json() == {"valid": False, "code": code, "error": "Maximum uses reached"}

    async def test_not_yet_active(self, api: httpx.AsyncClient, database: Database, tenant: Tenant) -> None:
        campaign = await make_campaign(database, tenant, valid_from=date(2026, 3, 1))
        [code] = await make_codes(database, tenant, campaign)
        with clock.frozen(SEED_DAY):
            response = await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)
        assert response.json() == {"valid": False, "code": code, "error": "Voucher not yet active"}

    async def test_paused_campaign_is_not_active(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant, status=CampaignStatus.PAUSED)
        [code] = await make_codes(database, tenant, campaign)
        response = await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)
        assert response.json()["error"] == "Voucher not yet active"

    async def test_code_is_trimmed_and_case_insensitive(
        self, api: httpx.AsyncClient, tenant: Tenant, summer_sale: str
    ) -> None:
        with clock.frozen(SEED_DAY):
            response = await api.get("/api/webhook/validate/%20summer20-x7k3m2%20", headers=tenant.headers)
        assert response.json()["valid"] is True
        assert response.json()["code"] == "SUMMER20-X7K3M2"

    async def test_date_only_expiry_lasts_to_the_end_of_that_day_in_the_clients_timezone(
        self, api: httpx.AsyncClient, database: Database
    ) -> None:
        tokyo = await make_tenant(database, "Tokyo Ramen", currency="JPY", timezone="Asia/Tokyo")
        campaign = await make_campaign(
            database,
            tokyo,
            discount_type=DiscountType.FIXED,
            discount_value=500,
            valid_until=date(2026, 3, 31),
        )
        [code] = await make_codes(database, tokyo, campaign)
        # 23:59 on 31 March in Tokyo is 14:59 UTC
        with clock.frozen(datetime(2026, 3, 31, 14, 59, tzinfo=UTC)):
            before = await api.get(f"/api/webhook/validate/{code}", headers=tokyo.headers)
        with clock.frozen(datetime(2026, 3, 31, 15, 0, tzinfo=UTC)):
            after = await api.get(f"/api/webhook/validate/{code}", headers=tokyo.headers)
        assert before.json()["valid"] is True
        assert before.json()["valid_until"] == "2026-03-31T14:59:59Z"
        assert before.json()["discount_value"] == 500
        assert after.json()["error"] == "Voucher has expired"


class TestAuthentication:
    async def test_missing_key_is_401_with_json(self, api: httpx.AsyncClient, summer_sale: str) -> None:
        response = await api.get(f"/api/webhook/validate/{summer_sale}")
        assert response.status_code == 401
        assert response.json()["valid"] is False
        assert "API key" in response.json()["error"]

    async def test_wrong_key_is_401(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        bad = tenant.api_key[:-1] + ("A" if tenant.api_key[-1] != "A" else "B")
        response = await api.post(
            "/api/webhook/redemption", json={"code": "X", "transaction_amount": 1}, headers={"X-API-Key": bad}
        )
        assert response.status_code == 401
        assert response.json()["error_code"] == "unauthenticated"

    async def test_query_parameter_key_is_accepted(
        self, api: httpx.AsyncClient, tenant: Tenant, summer_sale: str
    ) -> None:
        with clock.frozen(SEED_DAY):
            response = await api.get(
                f"/api/webhook/validate/{summer_sale}", params={"api_key": tenant.api_key}
            )
        assert response.status_code == 200


class TestRedemption:
    @pytest.mark.parametrize(
        ("discount_type", "value", "amount", "applied"),
        [
            (DiscountType.PERCENTAGE, 20, "45.99", 9.2),
            (DiscountType.PERCENTAGE, 15, "34.90", 5.24),
            (DiscountType.FIXED, 10, "45.99", 10),
            (DiscountType.FIXED, 10, "7.50", 7.5),
        ],
    )
    async def test_discount_applied(
        self,
        api: httpx.AsyncClient,
        database: Database,
        tenant: Tenant,
        discount_type: DiscountType,
        value: int,
        amount: str,
        applied: float,
    ) -> None:
        campaign = await make_campaign(database, tenant, discount_type=discount_type, discount_value=value)
        [code] = await make_codes(database, tenant, campaign)
        response = await api.post(
            "/api/webhook/redemption",
            json={"code": code, "transaction_amount": amount},
            headers=tenant.headers,
        )
        assert response.json()["discount_applied"] == applied

    async def test_free_item_applies_nothing_and_describes_the_item(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(
            database,
            tenant,
            discount_type=DiscountType.FREE_ITEM,
            discount_value=0,
            discount_description="Free dessert with any main",
        )
        [code] = await make_codes(database, tenant, campaign)
        validation = await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)
        assert validation.json()["discount_description"] == "Free dessert with any main"
        assert validation.json()["discount_value"] == 0
        response = await api.post(
            "/api/webhook/redemption", json={"code": code, "transaction_amount": 30}, headers=tenant.headers
        )
        assert response.content.endswith(
            b'"discount_applied":0.00,"message":"Redemption recorded successfully"}'
        )

    @pytest.mark.parametrize(
        ("campaign_options", "amount", "status", "message"),
        [
            ({"minimum_spend": "25.00"}, "24.99", 409, "Minimum spend is £25; this transaction is £24.99."),
            ({"valid_until": datetime(2026, 1, 1, tzinfo=UTC)}, "30", 409, "Voucher has expired"),
            ({"valid_from": datetime(2026, 6, 1, tzinfo=UTC)}, "30", 409, "Voucher not yet active"),
            ({"status": CampaignStatus.PAUSED}, "30", 409, "Voucher not yet active"),
            ({}, "-1", 422, "transaction_amount must not be negative."),
            (
                {},
                "1.001",
                422,
                "transaction_amount has more than 2 decimal places, which GBP does not allow.",
            ),
        ],
    )
    async def test_refusals_record_nothing(
        self,
        api: httpx.AsyncClient,
        database: Database,
        tenant: Tenant,
        campaign_options: dict[str, object],
        amount: str,
        status: int,
        message: str,
    ) -> None:
        campaign = await make_campaign(database, tenant, **campaign_options)  # type: ignore[arg-type]
        [code] = await make_codes(database, tenant, campaign)
        with clock.frozen(SEED_DAY):
            response = await api.post(
                "/api/webhook/redemption",
                json={"code": code, "transaction_amount": amount, "order_reference": "A-1"},
                headers=tenant.headers,
            )
        assert response.status_code == status
        assert response.json()["error"] == message
        assert response.json()["success"] is False
        assert response.json()["voucher_code"] == code
        assert await counts(database) == (0, 0, 0)

    async def test_unknown_code_is_404(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        response = await api.post(
            "/api/webhook/redemption", json={"code": "NOPE", "transaction_amount": 1}, headers=tenant.headers
        )
        assert response.status_code == 404
        assert response.json()["error"] == "Voucher not found"
        assert await counts(database) == (0, 0, 0)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"transaction_amount": 10}, "code"),
            ({"code": "X"}, "transaction_amount"),
            ({"code": "X", "transaction_amount": "ten"}, "transaction_amount"),
            ({"code": "X", "transaction_amount": 10, "redeemed_at": "yesterday"}, "redeemed_at"),
        ],
    )
    async def test_bad_bodies_are_422_naming_the_field(
        self, api: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], field: str
    ) -> None:
        response = await api.post("/api/webhook/redemption", json=body, headers=tenant.headers)
        assert response.status_code == 422
        assert response.json()["field"] == field
        assert response.json()["error"].startswith(f"{field}: ")

    @pytest.mark.parametrize("raw", [b'{"code": ', b'{"code": "\xff\xfe"}'], ids=["syntax", "not-utf-8"])
    async def test_malformed_json_is_one_422(
        self, api: httpx.AsyncClient, tenant: Tenant, raw: bytes
    ) -> None:
        response = await api.post(
            "/api/webhook/redemption",
            content=raw,
            headers={**tenant.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422
        assert response.json() == {
            "success": False,
            "voucher_code": None,
            "error": "The request body is not valid JSON.",
            "error_code": "invalid_input",
            "field": None,
            "problems": ["The request body is not valid JSON."],
        }


class TestIdempotency:
    async def test_i6_same_order_reference_replays_and_debits_once(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        """RELIABILITY I6: no header; the same (voucher, order_reference, amount) is the original."""
        campaign = await make_campaign(database, tenant, uses_per_voucher=5)
        [code] = await make_codes(database, tenant, campaign)
        body = {"code": code, "transaction_amount": "45.99", "order_reference": "ORD-1"}
        first = await api.post("/api/webhook/redemption", json=body, headers=tenant.headers)
        again = await api.post("/api/webhook/redemption", json=body, headers=tenant.headers)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.content == first.content
        assert again.headers["Idempotent-Replayed"] == "true"
        assert await counts(database) == (1, 1, 1)
        # the same reference with another amount is a conflict, and changes nothing
        conflict = await api.post(
            "/api/webhook/redemption", json={**body, "transaction_amount": "50.00"}, headers=tenant.headers
        )
        assert conflict.status_code == 409
        assert conflict.json()["error_code"] == "order_reference_conflict"
        assert await counts(database) == (1, 1, 1)

    async def test_replay_still_answers_after_the_last_use(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        [code] = await make_codes(database, tenant, campaign)
        body = {"code": code, "transaction_amount": "10", "order_reference": "ORD-9"}
        first = await api.post("/api/webhook/redemption", json=body, headers=tenant.headers)
        again = await api.post("/api/webhook/redemption", json=body, headers=tenant.headers)
        assert again.status_code == 201
        assert again.content == first.content

    async def test_one_order_may_use_several_codes(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # the WooCommerce example posts every coupon of an order with the same order number
        campaign = await make_campaign(database, tenant)
        codes = await make_codes(database, tenant, campaign, 2)
        for code in codes:
            response = await api.post(
                "/api/webhook/redemption",
                json={"code": code, "transaction_amount": "40", "order_reference": "1001"},
                headers=tenant.headers,
            )
            assert response.status_code == 201
        assert await counts(database) == (2, 2, 2)

    async def test_i1_idempotency_key_50_times(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        """RELIABILITY I1: the same key 50 times, sequentially."""
        campaign = await make_campaign(database, tenant, uses_per_voucher=100)
        [code] = await make_codes(database, tenant, campaign)
        headers = {**tenant.headers, "Idempotency-Key": "key-1"}
        responses = [
            await api.post(
                "/api/webhook/redemption", json={"code": code, "transaction_amount": 30}, headers=headers
            )
            for _ in range(50)
        ]
        assert {r.status_code for r in responses} == {201}
        assert len({r.content for r in responses}) == 1
        assert "Idempotent-Replayed" not in responses[0].headers
        assert all(r.headers["Idempotent-Replayed"] == "true" for r in responses[1:])
        assert await counts(database) == (1, 1, 1)

    async def test_i3_same_key_with_another_body_is_422(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        """RELIABILITY I3: the same key with another body is 422; the original is unchanged."""
        campaign = await make_campaign(database, tenant, uses_per_voucher=100)
        [code] = await make_codes(database, tenant, campaign)
        headers = {**tenant.headers, "Idempotency-Key": "key-2"}
        first = await api.post(
            "/api/webhook/redemption", json={"code": code, "transaction_amount": 30}, headers=headers
        )
        other = await api.post(
            "/api/webhook/redemption", json={"code": code, "transaction_amount": 31}, headers=headers
        )
        assert first.status_code == 201
        assert other.status_code == 422
        assert other.json()["error_code"] == "idempotency_key_reused"
        assert await counts(database) == (1, 1, 1)
        async with unit_of_work(database, write=False) as session:
            assert (await session.scalars(select(Redemption.transaction_amount))).all() == [3000]

    async def test_keys_are_per_client(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        """RELIABILITY I5: two tenants, the same key and order_reference: 2 redemptions, 0 replays."""
        codes = []
        for owner in (tenant, other_tenant):
            campaign = await make_campaign(database, owner)
            codes += await make_codes(database, owner, campaign)
        for owner, code in zip((tenant, other_tenant), codes, strict=True):
            response = await api.post(
                "/api/webhook/redemption",
                json={"code": code, "transaction_amount": 30, "order_reference": "SAME"},
                headers={**owner.headers, "Idempotency-Key": "shared"},
            )
            assert response.status_code == 201
            assert "Idempotent-Replayed" not in response.headers
        assert await counts(database) == (2, 2, 2)

    async def test_i4_a_business_409_answers_the_same_and_a_422_is_not_stored(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        """RELIABILITY I4: a retry of a 409 (voucher exhausted) answers byte for byte as the first;
        a 422 raised before execution is not stored, so the key then serves a corrected body.
        (Only successful replies are stored, docs/decisions.md: the 409's retry runs again and
        meets the same refusal; it is not a stored replay.)"""
        campaign = await make_campaign(database, tenant)
        [code] = await make_codes(database, tenant, campaign)
        used = await api.post(
            "/api/webhook/redemption", json={"code": code, "transaction_amount": 30}, headers=tenant.headers
        )
        assert used.status_code == 201
        headers = {**tenant.headers, "Idempotency-Key": "key-409"}
        body = {"code": code, "transaction_amount": 30, "order_reference": "ORD-409"}
        refused = await api.post("/api/webhook/redemption", json=body, headers=headers)
        again = await api.post("/api/webhook/redemption", json=body, headers=headers)
        assert (refused.status_code, again.status_code) == (409, 409)
        assert refused.json()["error_code"] == "voucher_exhausted"
        assert again.content == refused.content
        assert await counts(database) == (1, 1, 1)
        # a 422 before execution: nothing stored, so the key is free for the corrected request
        other = await make_codes(database, tenant, campaign)
        headers = {**tenant.headers, "Idempotency-Key": "key-422"}
        invalid = await api.post("/api/webhook/redemption", json={"code": other[0]}, headers=headers)
        assert invalid.status_code == 422
        async with unit_of_work(database, write=False) as session:
            assert await session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
        fixed = await api.post(
            "/api/webhook/redemption", json={"code": other[0], "transaction_amount": 30}, headers=headers
        )
        assert fixed.status_code == 201, fixed.text
        assert "Idempotent-Replayed" not in fixed.headers
        assert await counts(database) == (2, 2, 2)

    async def test_i7_after_the_key_expires_the_order_reference_still_blocks_a_second_debit(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        """RELIABILITY I7: at 24 h + 1 s the Idempotency-Key record has expired (another body with
        the key is no longer a 422), yet the (voucher, order_reference) unique key still blocks a
        second debit: the same request replays the original, another amount is a 409."""
        campaign = await make_campaign(database, tenant, uses_per_voucher=5)
        [code] = await make_codes(database, tenant, campaign)
        headers = {**tenant.headers, "Idempotency-Key": "key-ttl"}
        body = {"code": code, "transaction_amount": 30, "order_reference": "ORD-TTL"}
        start = clock.now()
        with clock.frozen(start):
            first = await api.post("/api/webhook/redemption", json=body, headers=headers)
        assert first.status_code == 201
        with clock.frozen(start + idempotency.TTL - timedelta(seconds=1)):
            reused = await api.post(
                "/api/webhook/redemption", json={**body, "transaction_amount": 31}, headers=headers
            )
        assert reused.status_code == 422
        assert reused.json()["error_code"] == "idempotency_key_reused"
        with clock.frozen(start + idempotency.TTL + timedelta(seconds=1)):
            other = await api.post(
                "/api/webhook/redemption", json={**body, "transaction_amount": 31}, headers=headers
            )
            again = await api.post("/api/webhook/redemption", json=body, headers=headers)
        assert other.status_code == 409
        assert other.json()["error_code"] == "order_reference_conflict"
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        assert await counts(database) == (1, 1, 1)


class TestRollback:
    async def test_rollback_restores_the_use_once_and_shows_in_history(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        [code] = await make_codes(database, tenant, campaign)
        await api.post(
            "/api/webhook/redemption",
            json={"code": code, "transaction_amount": 30, "order_reference": "ORD-7"},
            headers=tenant.headers,
        )
        body = {"code": code, "order_reference": "ORD-7", "reason": "Order refunded"}
        first = await api.post("/api/webhook/redemption/rollback", json=body, headers=tenant.headers)
        again = await api.post("/api/webhook/redemption/rollback", json=body, headers=tenant.headers)
        assert (first.status_code, again.status_code) == (200, 200)
        assert first.json()["redemption"]["rolled_back"] is True
        assert again.json()["redemption"]["rolled_back_at"] == first.json()["redemption"]["rolled_back_at"]
        async with unit_of_work(database, write=False) as session:
            assert await session.scalar(select(Voucher.redeemed_count)) == 0
            events = (await session.scalars(select(Event.type).order_by(Event.created_at))).all()
        assert events == ["voucher.batch_created", "voucher.redeemed", "redemption.rolled_back"]
        validation = await api.get(f"/api/webhook/validate/{code}", headers=tenant.headers)
        assert validation.json()["valid"] is True
        details = (await api.get(f"/api/vouchers/{code}", headers=tenant.headers)).json()
        assert details["state"] == "active"
        [history] = details["redemptions"]
        assert history["order_reference"] == "ORD-7"
        assert history["rollback_reason"] == "Order refunded"
        # the rolled-back order cannot be replayed as if it still held
        replay = await api.post(
            "/api/webhook/redemption",
            json={"code": code, "transaction_amount": 30, "order_reference": "ORD-7"},
            headers=tenant.headers,
        )
        assert replay.status_code == 409
        assert replay.json()["error_code"] == "order_reference_conflict"

    async def test_unknown_redemption_is_404(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await api.post(
            "/api/webhook/redemption/rollback",
            json={"code": "NOPE", "order_reference": "X", "reason": "refund"},
            headers=tenant.headers,
        )
        assert response.status_code == 404

    async def test_rollback_by_id(self, api: httpx.AsyncClient, database: Database, tenant: Tenant) -> None:
        campaign = await make_campaign(database, tenant)
        [code] = await make_codes(database, tenant, campaign)
        await api.post(
            "/api/webhook/redemption", json={"code": code, "transaction_amount": 30}, headers=tenant.headers
        )
        [redemption] = (await api.get(f"/api/vouchers/{code}", headers=tenant.headers)).json()["redemptions"]
        response = await api.post(
            f"/api/redemptions/{redemption['id']}/rollback",
            json={"reason": "cancelled"},
            headers=tenant.headers,
        )
        assert response.status_code == 200
        assert (await api.get(f"/api/vouchers/{code}", headers=tenant.headers)).json()["remaining_uses"] == 1
