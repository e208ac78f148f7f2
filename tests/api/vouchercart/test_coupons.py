"""VoucherCart's coupons and discount codes (seed 003 "Coupons" and "Discounts"): every request
and response example replayed over HTTP, form-encoded as the seed's curl sends it and as JSON;
one core with the VoucherTrack checkout (a code bought here validates and redeems there, and the
other way round); expiries counted from the purchase; bad input; BOLA; roles; events.

The golden bodies in tests/golden/vouchercart are the seed's, with one slip mended: the redeem
example's ``"discountCode": 2218`` is the code string (issue 12, section 1). Our ids, the code and
nothing else are put back to the seed's before comparing."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Tenant
from voucherd.accounts import staff
from voucherd.accounts.service import Role
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.models import Client, Event, Redemption, Voucher

V1 = "/vouchercart/v1"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
GOLDEN = Path(__file__).parents[2] / "golden" / "vouchercart"
CODE = re.compile(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")
SEED_COUPON, SEED_DOMAIN, SEED_CODE = 89899, 8337, "AAAA-BBBB-CCCC-DDDD"

# The seed's create curl, as curl -d sends it: as typed (a bare %), joined with '&'.
CREATE_FORM = [
    "domainId={domain}",
    "title=Season sale 25%",
    "terms=",
    "description=",
    "type=percent",
    "amount=2500",
    "metadata[ref]=5b11b1w5sk",
    "expiry[interval]=days",
    "expiry[period]=5",
    "expiry[type]=period",
]
CREATE_JSON: dict[str, Any] = {
    "title": "Season sale 25%",
    "terms": "",
    "description": "",
    "type": "percent",
    "amount": 2500,
    "metadata": {"ref": "5b11b1w5sk"},
    "expiry": {"interval": "days", "period": 5, "type": "period"},
}
PURCHASE_FORM = [
    "payments[0][currency]=GBP",
    "payments[0][amount]=500",
    "payments[0][title]=EPOS CreditCard",
    "payments[0][metadata][reference]=0cc18f46-4760-4d34-a1f9-e9a9e1a02353",
    "recipients[0][email]=john.doe@example.com",
    "recipients[0][label]=John Doe",
    "recipients[1][email]=andrew.smith@example.com",
]
PURCHASE_JSON: dict[str, Any] = {
    "payments": [
        {
            "currency": "GBP",
            "amount": 500,
            "title": "EPOS CreditCard",
            "metadata": {"reference": "0cc18f46-4760-4d34-a1f9-e9a9e1a02353"},
        }
    ],
    "recipients": [
        {"email": "john.doe@example.com", "label": "John Doe"},
        {"email": "andrew.smith@example.com"},
    ],
}
ENCODINGS = ["form", "json"]


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def as_seed(body: Any) -> Any:
    """The body with our ids and code replaced by the seed's (after checking their form)."""
    if isinstance(body, list):
        return [as_seed(item) for item in body]
    if not isinstance(body, dict):
        return body
    result = {}
    for key, value in body.items():
        if key in ("couponId", "domainId"):
            assert isinstance(value, int), (key, value)
            value = SEED_COUPON if key == "couponId" else SEED_DOMAIN
        elif key == "discountCode":
            assert CODE.fullmatch(value), value
            value = SEED_CODE
        result[key] = as_seed(value)
    return result


@dataclass(frozen=True)
class Shop:
    tenant: Tenant
    domain: int  # the sales page's number

    @property
    def headers(self) -> dict[str, str]:
        """VoucherCart's bearer authorization with the client's API key."""
        return {"Authorization": f"Bearer {self.tenant.api_key}"}


async def make_shop(database: Database, tenant: Tenant, name: str) -> Shop:
    async with unit_of_work(database) as session:
        page = await staff.create_sales_page(session, tenant.client_id, name)
    return Shop(tenant, page.number)


@pytest.fixture
async def shop(database: Database, tenant: Tenant) -> Shop:
    return await make_shop(database, tenant, "doe-restaurants")


@pytest.fixture
async def other_shop(database: Database, other_tenant: Tenant) -> Shop:
    return await make_shop(database, other_tenant, "other-shop")


async def send(
    api: httpx.AsyncClient, path: str, encoding: str, form: list[str], data: dict[str, Any], headers: Any
) -> httpx.Response:
    if encoding == "form":
        return await api.post(f"{V1}{path}", content="&".join(form).encode(), headers={**FORM, **headers})
    return await api.post(f"{V1}{path}", json=data, headers=headers)


async def create(
    api: httpx.AsyncClient, shop: Shop, encoding: str = "form", **changes: Any
) -> dict[str, Any]:
    form = [part.format(domain=shop.domain) for part in CREATE_FORM]
    form = [part for part in form if part.split("=")[0].split("[")[0] not in changes]
    form += [f"{key}={value}" for key, value in changes.items() if not isinstance(value, dict)]
    data = {**CREATE_JSON, "domainId": shop.domain, **changes}
    response = await send(api, "/coupons", encoding, form, data, shop.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def purchase(
    api: httpx.AsyncClient, shop: Shop, coupon_id: int, encoding: str = "form"
) -> dict[str, Any]:
    response = await send(
        api, f"/coupon/{coupon_id}/purchase", encoding, PURCHASE_FORM, PURCHASE_JSON, shop.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def status(api: httpx.AsyncClient, shop: Shop, code: str) -> httpx.Response:
    return await api.get(f"{V1}/discount/status", params={"discountCode": code}, headers=shop.headers)


async def redeem(api: httpx.AsyncClient, shop: Shop, code: str, encoding: str = "form") -> httpx.Response:
    return await send(
        api, "/discount/redeem", encoding, [f"discountCode={code}"], {"discountCode": code}, shop.headers
    )


def failed(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert list(body) == ["status", "error", "code"]
    assert (body["status"], body["code"]) == ("failed", code), body
    return body


# The documented examples


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_create_list_and_show_answer_the_documented_bodies(
    api: httpx.AsyncClient, shop: Shop, encoding: str
) -> None:
    created = await create(api, shop, encoding)
    assert as_seed(created) == golden("coupon_create_response.json")
    assert created["domainId"] == shop.domain
    assert created["title"] == "Season sale 25%"  # the bare % of curl -d arrived as itself
    for query in ({"domainId": shop.domain}, {"domain": shop.domain}, {}):
        listed = await api.get(f"{V1}/coupons", params=query, headers=shop.headers)
        assert listed.status_code == 200, listed.text
        assert as_seed(listed.json()) == golden("coupons_list_response.json")
    shown = await api.get(f"{V1}/coupon/{created['couponId']}", headers=shop.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json() == created
    assert as_seed(shown.json()) == golden("coupon_show_response.json")


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_purchase_status_and_redeem_answer_the_documented_bodies(
    api: httpx.AsyncClient, shop: Shop, encoding: str
) -> None:
    coupon = await create(api, shop, encoding)
    # London is on UTC in December: the seed's redeemedAt is the client's local time.
    with clock.frozen(datetime(2016, 12, 6, 9, 30, tzinfo=UTC)):
        bought = await purchase(api, shop, coupon["couponId"], encoding)
    assert as_seed(bought) == golden("discount_purchase_response.json")
    code = bought["discountCode"]
    with clock.frozen(datetime(2016, 12, 6, 12, 0, tzinfo=UTC)):
        shown = await status(api, shop, code)
    assert shown.status_code == 200, shown.text
    assert as_seed(shown.json()) == golden("discount_status_response.json")
    with clock.frozen(datetime(2016, 12, 7, 14, 17, 59, tzinfo=UTC)):
        redeemed = await redeem(api, shop, code, encoding)
    assert redeemed.status_code == 200, redeemed.text
    assert as_seed(redeemed.json()) == golden("discount_redeem_response.json")
    assert redeemed.json()["discountCode"] == code  # the code string, never a number
    with clock.frozen(datetime(2016, 12, 7, 15, 0, tzinfo=UTC)):
        again = await redeem(api, shop, code, encoding)
        after = await status(api, shop, code)
    body = failed(again, 409, "voucher_exhausted")
    assert body["error"] == "Voucher has already been redeemed"
    assert after.json() == redeemed.json()


async def test_redeemed_at_is_the_clients_local_time(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    async with unit_of_work(database) as session:  # before any request reads the key's client
        client = await session.get(Client, tenant.client_id)
        assert client is not None
        client.timezone = "America/New_York"
    shop = await make_shop(database, tenant, "nyc-shop")
    coupon = await create(api, shop)
    with clock.frozen(datetime(2016, 12, 7, 14, 0, tzinfo=UTC)):
        code = (await purchase(api, shop, coupon["couponId"]))["discountCode"]
    with clock.frozen(datetime(2016, 12, 7, 19, 17, 59, tzinfo=UTC)):
        redeemed = await redeem(api, shop, code)
    assert redeemed.json()["redeemedAt"] == "2016-12-07 14:17:59"


# One core: the VoucherTrack checkout


async def test_a_code_bought_here_validates_and_redeems_at_the_checkout(
    api: httpx.AsyncClient, shop: Shop
) -> None:
    coupon = await create(api, shop)
    code = (await purchase(api, shop, coupon["couponId"]))["discountCode"]
    keyed = shop.tenant.headers
    valid = await api.get(f"/api/webhook/validate/{code}", headers=keyed)
    assert valid.status_code == 200, valid.text
    body = valid.json()
    assert (body["valid"], body["code"], body["discount_type"], body["discount_value"]) == (
        True,
        code,
        "percentage",
        25,
    )
    assert (body["campaign_name"], body["remaining_uses"]) == ("Season sale 25%", 1)
    assert body["valid_until"].endswith("T23:59:59Z")  # its own: five days after its purchase
    # redeemed at the checkout: VoucherCart shows it redeemed, and refuses it
    with clock.frozen(datetime(2026, 12, 8, 10, 0, 1, tzinfo=UTC)):
        used = await api.post(
            "/api/webhook/redemption",
            json={"code": code, "transaction_amount": "40.00", "order_reference": "ORD-1"},
            headers=keyed,
        )
    assert used.status_code == 201, used.text
    assert used.json()["discount_applied"] == 10
    shown = (await status(api, shop, code)).json()
    assert (shown["redeemed"], shown["redeemedAt"]) == (True, "2026-12-08 10:00:01")
    failed(await redeem(api, shop, code), 409, "voucher_exhausted")


async def test_a_code_redeemed_here_is_redeemed_at_the_checkout(
    api: httpx.AsyncClient, database: Database, shop: Shop
) -> None:
    coupon = await create(api, shop, type="fixed", amount=1500)
    code = (await purchase(api, shop, coupon["couponId"]))["discountCode"]
    valid = (await api.get(f"/api/webhook/validate/{code}", headers=shop.tenant.headers)).json()
    assert (valid["discount_type"], valid["discount_value"]) == ("fixed", 15)
    assert (await redeem(api, shop, code)).status_code == 200
    refused = await api.get(f"/api/webhook/validate/{code}", headers=shop.tenant.headers)
    assert refused.status_code == 409
    assert refused.json() == {"valid": False, "code": code, "error": "Voucher has already been redeemed"}
    details = (await api.get(f"/api/vouchers/{code}", headers=shop.tenant.headers)).json()
    assert (details["redeemed"], details["state"], details["remaining_uses"]) == (True, "redeemed", 0)
    [record] = details["redemptions"]
    assert (record["transaction_amount"], record["discount_applied"]) == (0, 0)
    async with unit_of_work(database, write=False) as session:
        [redemption] = (await session.scalars(select(Redemption))).all()
        assert (redemption.channel, redemption.order_reference, redemption.currency) == (
            "in_store",
            None,
            "GBP",
        )


async def test_a_rolled_back_redemption_makes_the_code_unredeemed_again(
    api: httpx.AsyncClient, shop: Shop
) -> None:
    coupon = await create(api, shop)
    code = (await purchase(api, shop, coupon["couponId"]))["discountCode"]
    await api.post(
        "/api/webhook/redemption",
        json={"code": code, "transaction_amount": "10.00", "order_reference": "ORD-9"},
        headers=shop.tenant.headers,
    )
    rolled = await api.post(
        "/api/webhook/redemption/rollback",
        json={"code": code, "order_reference": "ORD-9", "reason": "Order cancelled"},
        headers=shop.tenant.headers,
    )
    assert rolled.status_code == 200, rolled.text
    shown = (await status(api, shop, code)).json()
    assert (shown["redeemed"], shown["redeemedAt"]) == (False, None)
    assert (await redeem(api, shop, code)).json()["redeemed"] is True


async def test_a_retry_with_the_same_idempotency_key_answers_as_the_first(
    api: httpx.AsyncClient, database: Database, shop: Shop
) -> None:
    coupon = await create(api, shop)
    keyed = {**FORM, **shop.headers, "Idempotency-Key": "sale-1"}
    sale = "&".join(PURCHASE_FORM)
    path = f"{V1}/coupon/{coupon['couponId']}/purchase"
    first, again = [await api.post(path, content=sale, headers=keyed) for _ in range(2)]
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    code = first.json()["discountCode"]
    use = {**FORM, **shop.headers, "Idempotency-Key": "use-1"}
    used, retried = [
        await api.post(f"{V1}/discount/redeem", content=f"discountCode={code}", headers=use) for _ in range(2)
    ]
    assert (used.status_code, retried.status_code) == (200, 200)
    assert retried.json() == used.json()
    failed(await redeem(api, shop, code), 409, "voucher_exhausted")  # without the key: a new redemption
    async with unit_of_work(database, write=False) as session:
        assert len((await session.scalars(select(Voucher))).all()) == 1
        assert len((await session.scalars(select(Redemption))).all()) == 1


# Expiry


async def test_a_period_expiry_counts_from_each_purchase(api: httpx.AsyncClient, shop: Shop) -> None:
    coupon = await create(api, shop)  # 5 days
    with clock.frozen(datetime(2026, 3, 1, 15, 0, tzinfo=UTC)):
        early = (await purchase(api, shop, coupon["couponId"]))["discountCode"]
    with clock.frozen(datetime(2026, 3, 4, 15, 0, tzinfo=UTC)):
        late = (await purchase(api, shop, coupon["couponId"]))["discountCode"]
    keyed = shop.tenant.headers
    # the end of the fifth day after the purchase, in the client's timezone (London: GMT in March)
    with clock.frozen(datetime(2026, 3, 6, 23, 59, 59, tzinfo=UTC)):
        assert (await api.get(f"/api/webhook/validate/{early}", headers=keyed)).json()["valid"] is True
    with clock.frozen(datetime(2026, 3, 7, 0, 0, 1, tzinfo=UTC)):
        expired = await api.get(f"/api/webhook/validate/{early}", headers=keyed)
        assert expired.json() == {"valid": False, "code": early, "error": "Voucher has expired"}
        details = (await api.get(f"/api/vouchers/{early}", headers=keyed)).json()
        assert (details["state"], details["valid_until"]) == ("expired", "2026-03-06T23:59:59Z")
        failed(await redeem(api, shop, early), 409, "voucher_expired")
        assert (await status(api, shop, early)).json()["redeemed"] is False
        # the later purchase runs to the end of 9 March
        assert (await api.get(f"/api/webhook/validate/{late}", headers=keyed)).json()["valid_until"] == (
            "2026-03-09T23:59:59Z"
        )
        assert (await redeem(api, shop, late)).status_code == 200


async def test_a_month_period_and_a_time_window(api: httpx.AsyncClient, shop: Shop) -> None:
    monthly = await create(api, shop, "json", expiry={"interval": "months", "period": 1, "type": "period"})
    with clock.frozen(datetime(2026, 1, 31, 12, 0, tzinfo=UTC)):
        code = (await purchase(api, shop, monthly["couponId"], "json"))["discountCode"]
    with clock.frozen(datetime(2026, 2, 1, tzinfo=UTC)):
        valid = await api.get(f"/api/webhook/validate/{code}", headers=shop.tenant.headers)
    assert valid.json()["valid_until"] == "2026-02-28T23:59:59Z"  # 31 January + 1 month
    window = await create(
        api,
        shop,
        "json",
        expiry={"type": "time", "dateFrom": "2026-12-24 18:00", "dateTo": "2026-12-31T23:00:00+0000"},
    )
    assert window["expiry"] == {
        "dateFrom": "2026-12-24T18:00:00+0000",
        "dateTo": "2026-12-31T23:00:00+0000",
        "type": "time",
    }
    with clock.frozen(datetime(2026, 12, 20, tzinfo=UTC)):
        code = (await purchase(api, shop, window["couponId"]))["discountCode"]
        failed(await redeem(api, shop, code), 409, "voucher_not_active")
    with clock.frozen(datetime(2026, 12, 25, tzinfo=UTC)):
        assert (await redeem(api, shop, code)).status_code == 200
    with clock.frozen(datetime(2027, 1, 1, tzinfo=UTC)):
        ended = await send(
            api, f"/coupon/{window['couponId']}/purchase", "form", PURCHASE_FORM, {}, shop.headers
        )
        failed(ended, 409, "coupon_ended")
    dated = await create(api, shop, "form", **{"expiry[type]": "time", "expiry[dateTo]": "2027-01-31"})
    assert dated["expiry"] == {"dateFrom": None, "dateTo": "2027-01-31T23:59:59+0000", "type": "time"}


async def test_a_coupon_without_expiry(api: httpx.AsyncClient, shop: Shop) -> None:
    form = [p.format(domain=shop.domain) for p in CREATE_FORM if not p.startswith("expiry")]
    response = await send(api, "/coupons", "form", form, {}, shop.headers)
    assert response.status_code == 201, response.text
    assert response.json()["expiry"] is None


# Refused


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 10001}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": "7.5"}, "amount"),
        ({"type": "bogus"}, "type"),
        ({"title": ""}, "title"),
        ({"title": None}, "title"),
        ({"domainId": None}, "domainId"),
        ({"expiry": {"interval": "weeks", "period": 5, "type": "period"}}, "expiry.interval"),
        ({"expiry": {"interval": "days", "period": 0, "type": "period"}}, "expiry.period"),
        ({"expiry": {"type": "forever"}}, "expiry.type"),
        ({"expiry": {"type": "time", "dateFrom": "2026-12-31", "dateTo": "2026-12-01"}}, "expiry.dateTo"),
        ({"expiry": {"type": "time", "dateTo": "next week"}}, "expiry.dateTo"),
        ({"metadata": "plain"}, "metadata"),
    ],
)
async def test_bad_coupons_are_refused_naming_the_field(
    api: httpx.AsyncClient, database: Database, shop: Shop, changes: dict[str, Any], field: str
) -> None:
    data = {**CREATE_JSON, "domainId": shop.domain, **changes}
    data = {key: value for key, value in data.items() if value is not None}
    body = failed(await api.post(f"{V1}/coupons", json=data, headers=shop.headers), 422, "invalid_input")
    assert body["error"].startswith(field), body
    listed = await api.get(f"{V1}/coupons", headers=shop.headers)
    assert listed.json() == []


async def test_a_fixed_amount_is_minor_units(api: httpx.AsyncClient, shop: Shop) -> None:
    created = await create(api, shop, "json", type="fixed", amount=3000)
    assert (created["type"], created["amount"]) == ("fixed", 3000)
    body = failed(
        await api.post(
            f"{V1}/coupons",
            json={**CREATE_JSON, "domainId": shop.domain, "type": "fixed", "amount": 0},
            headers=shop.headers,
        ),
        422,
        "invalid_input",
    )
    assert body["error"].startswith("amount")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"recipients": [{"email": "not an email"}]}, "recipients[0].email"),
        ({"recipients": [{"label": "No email"}]}, "recipients.0.email"),
        ({"payments": [{"amount": 500, "currency": "XX1"}]}, "payments[0].currency"),
        ({"payments": [{"amount": -1, "currency": "GBP"}]}, "payments[0].amount"),
        ({"payments": [{"amount": "lots", "currency": "GBP"}]}, "payments.0.amount"),
    ],
)
async def test_bad_purchases_are_refused_and_issue_nothing(
    api: httpx.AsyncClient, database: Database, shop: Shop, data: dict[str, Any], field: str
) -> None:
    coupon = await create(api, shop)
    response = await api.post(f"{V1}/coupon/{coupon['couponId']}/purchase", json=data, headers=shop.headers)
    body = failed(response, 422, "invalid_input")
    assert body["error"].startswith(field), body
    async with unit_of_work(database, write=False) as session:
        assert (await session.scalars(select(Voucher))).all() == []


async def test_unknown_coupons_and_codes_are_not_found(api: httpx.AsyncClient, shop: Shop) -> None:
    failed(await api.get(f"{V1}/coupon/12345678", headers=shop.headers), 404, "coupon_not_found")
    failed(await api.get(f"{V1}/coupon/abc", headers=shop.headers), 404, "coupon_not_found")
    failed(await status(api, shop, "AAAA-BBBB-CCCC-DDDD"), 404, "discount_not_found")
    failed(await redeem(api, shop, "AAAA-BBBB-CCCC-DDDD"), 404, "discount_not_found")
    failed(await api.get(f"{V1}/discount/status", headers=shop.headers), 422, "invalid_input")
    failed(await api.get(f"{V1}/coupons?domainId=99999999", headers=shop.headers), 404, "domain_not_found")
    failed(await api.get(f"{V1}/coupons", headers={}), 401, "unauthenticated")


# Tenancy and roles


async def test_another_clients_coupons_and_codes_are_not_found(
    api: httpx.AsyncClient, database: Database, shop: Shop, other_shop: Shop
) -> None:
    coupon = await create(api, shop)
    code = (await purchase(api, shop, coupon["couponId"]))["discountCode"]
    theirs = other_shop.headers
    path = f"{V1}/coupon/{coupon['couponId']}"
    failed(await api.get(path, headers=theirs), 404, "coupon_not_found")
    failed(
        await api.post(f"{path}/purchase", content="&".join(PURCHASE_FORM), headers={**FORM, **theirs}),
        404,
        "coupon_not_found",
    )
    failed(await status(api, other_shop, code), 404, "discount_not_found")
    failed(await redeem(api, other_shop, code), 404, "discount_not_found")
    failed(await api.get(f"{V1}/coupons?domainId={shop.domain}", headers=theirs), 404, "domain_not_found")
    assert (await api.get(f"{V1}/coupons", headers=theirs)).json() == []
    other = {**CREATE_JSON, "domainId": shop.domain}
    failed(await api.post(f"{V1}/coupons", json=other, headers=theirs), 404, "domain_not_found")
    # the checkout of the other client does not know the code either
    assert (
        await api.get(f"/api/webhook/validate/{code}", headers=other_shop.tenant.headers)
    ).status_code == 404
    assert (await status(api, shop, code)).json()["redeemed"] is False


async def _login(database: Database, shop: Shop, role: Role) -> dict[str, str]:
    async with unit_of_work(database) as session:
        await staff.create_staff(
            session,
            shop.tenant.client_id,
            staff.StaffInput(f"{role}@example.com", "a long password", role.value, role, ["doe-restaurants"]),
        )
    async with unit_of_work(database) as session:
        login = await staff.log_in(
            session, email=f"{role}@example.com", password="a long password", subdomain="doe-restaurants"
        )
    return {"Authorization": f"Bearer {login.access_token}"}


async def test_counter_staff_look_up_and_redeem_managers_also_create_and_sell(
    api: httpx.AsyncClient, database: Database, shop: Shop
) -> None:
    manager_headers = await _login(database, shop, Role.MANAGER)
    counter = await _login(database, shop, Role.STAFF)
    form = "&".join(part.format(domain=shop.domain) for part in CREATE_FORM)
    refused = await api.post(f"{V1}/coupons", content=form, headers={**FORM, **counter})
    assert failed(refused, 403, "permission_denied")["error"].startswith("A staff login may not")
    created = await api.post(f"{V1}/coupons", content=form, headers={**FORM, **manager_headers})
    assert created.status_code == 201, created.text
    coupon_id = created.json()["couponId"]
    sale = "&".join(PURCHASE_FORM)
    failed(
        await api.post(f"{V1}/coupon/{coupon_id}/purchase", content=sale, headers={**FORM, **counter}),
        403,
        "permission_denied",
    )
    bought = await api.post(
        f"{V1}/coupon/{coupon_id}/purchase", content=sale, headers={**FORM, **manager_headers}
    )
    assert bought.status_code == 201, bought.text
    code = bought.json()["discountCode"]
    assert (await api.get(f"{V1}/coupons", headers=counter)).status_code == 200
    assert (await api.get(f"{V1}/coupon/{coupon_id}", headers=counter)).status_code == 200
    looked = await api.get(f"{V1}/discount/status", params={"discountCode": code.lower()}, headers=counter)
    assert looked.status_code == 200, looked.text
    used = await api.post(
        f"{V1}/discount/redeem", content=f"discountCode={code}", headers={**FORM, **counter}
    )
    assert used.status_code == 200, used.text


# Events


async def test_purchase_and_redemption_write_their_events_in_order(
    api: httpx.AsyncClient, database: Database, shop: Shop
) -> None:
    coupon = await create(api, shop)
    with clock.frozen(datetime(2016, 12, 6, 9, 30, tzinfo=UTC)):
        bought = await purchase(api, shop, coupon["couponId"])
    with clock.frozen(datetime(2016, 12, 7, 14, 17, 59, tzinfo=UTC)):
        redeemed = (await redeem(api, shop, bought["discountCode"])).json()
    async with unit_of_work(database, write=False) as session:
        found = (await session.scalars(select(Event).order_by(Event.created_at, Event.id))).all()
        voucher = await session.scalar(select(Voucher))
        assert voucher is not None
    assert [e.type for e in found] == [
        "voucher.created",
        "discount.purchased",
        "voucher.redeemed",
        "discount.redeemed",
    ]
    assert [e.data["sequence"] for e in found] == [1, 2, 3, 4]
    assert {e.data["voucher_id"] for e in found} == {str(voucher.id)}
    purchased, redemption = found[1].data, found[3].data
    shown = {key: purchased[key] for key in bought}
    assert shown == bought
    assert purchased["payments"] == [
        {
            "amount": 500,
            "currency": "GBP",
            "title": "EPOS CreditCard",
            "metadata": {"reference": "0cc18f46-4760-4d34-a1f9-e9a9e1a02353"},
        }
    ]
    assert {key: redemption[key] for key in redeemed} == redeemed
    for data in (purchased, redemption):
        uuid.UUID(data["discount_id"])
        uuid.UUID(data["coupon_id"])
        uuid.UUID(data["campaign_id"])
    assert found[2].data["transaction_amount_minor"] == 0


async def test_discount_events_can_be_subscribed_to(api: httpx.AsyncClient, shop: Shop) -> None:
    response = await api.post(
        "/api/integrations/webhooks",
        json={
            "name": "Till",
            "url": "https://example.com/hook",
            "events": ["discount.purchased", "discount.redeemed"],
        },
        headers=shop.tenant.headers,
    )
    assert response.status_code == 201, response.text


async def test_a_one_day_code_is_refused_once_its_day_is_over(api: httpx.AsyncClient, shop: Shop) -> None:
    coupon = await create(api, shop, "json", expiry={"interval": "days", "period": 1, "type": "period"})
    now = clock.now()
    code = (await purchase(api, shop, coupon["couponId"]))["discountCode"]
    with clock.frozen(now + timedelta(days=3)):
        failed(await redeem(api, shop, code), 409, "voucher_expired")
