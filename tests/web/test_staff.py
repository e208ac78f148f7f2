"""The staff screen over the app (both databases): login, CSRF, check, redeem once per attempt,
undo within five minutes by the same member, gift cards taken in part."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import add_codes, make_campaign
from tests.web.test_pages import gift_card
from voucherd.accounts import staff
from voucherd.accounts.service import Role
from voucherd.campaigns.rules import DiscountType
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.models import Event, GiftLedgerEntry, Redemption, SalesPage, Voucher
from voucherd.web.staff.routes import code_of

PASSWORD = "counter-password-1"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Member:
    email: str
    page: str


async def member(
    database: Database,
    tenant: Tenant,
    email: str = "sam@example.com",
    *,
    role: Role = Role.STAFF,
    page: str = "",
) -> Member:
    async with unit_of_work(database) as session:
        name = page or f"shop-{uuid.uuid4().hex[:8]}"
        if page:
            found = await session.scalar(select(SalesPage).where(SalesPage.name == page))
        else:
            found = None
        if found is None:
            await staff.create_sales_page(session, tenant.client_id, name)
        await staff.create_staff(
            session,
            tenant.client_id,
            staff.StaffInput(
                email=email, password=PASSWORD, full_name="Sam Counter", role=role, pages=[name]
            ),
        )
    return Member(email, name)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


async def log_in(api: httpx.AsyncClient, who: Member, password: str = PASSWORD) -> httpx.Response:
    form = await api.get("/staff/login")
    return await api.post(
        "/staff/login",
        data={"csrf_token": csrf_of(form.text), "email": who.email, "password": password, "sales_page": ""},
    )


async def check(api: httpx.AsyncClient, code: str) -> httpx.Response:
    return await api.get("/staff/check", params={"code": code})


async def redeem(
    api: httpx.AsyncClient, code: str, amount: str = ""
) -> tuple[httpx.Response, dict[str, str]]:
    page = await check(api, code)
    attempt = re.search(r'name="attempt" value="([^"]+)"', page.text)
    assert attempt is not None, page.text
    form = {"csrf_token": csrf_of(page.text), "code": code, "attempt": attempt.group(1), "amount": amount}
    return await api.post("/staff/redeem", data=form), form


async def count(database: Database, model: type[Redemption] | type[Event], *where: object) -> int:
    async with unit_of_work(database, write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
async def counter_code(database: Database, tenant: Tenant) -> str:
    campaign = await make_campaign(database, tenant, discount_value=20, valid_until=date(2026, 12, 31))
    await add_codes(database, tenant, campaign, ["SUMMER20-X7K3M2"])
    return "SUMMER20-X7K3M2"


class TestLogin:
    async def test_a_member_logs_in_into_an_http_only_lax_cookie_behind_strict_headers(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        who = await member(database, tenant)
        response = await log_in(api, who)
        assert response.status_code == 303
        assert response.headers["location"] == "/staff/"
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("vd_login="))
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain HTTP here; behind HTTPS it is Secure
        page = await api.get("/staff/")
        assert page.status_code == 200
        assert "Sam Counter" in page.text
        policy = page.headers["content-security-policy"]
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"

    async def test_the_cookie_is_secure_behind_a_proxy_saying_https(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        who = await member(database, tenant)
        form = await api.get("/staff/login")
        response = await api.post(
            "/staff/login",
            data={"csrf_token": csrf_of(form.text), "email": who.email, "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https"},
        )
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("vd_login="))
        assert "Secure" in cookie

    async def test_a_wrong_password_is_refused_with_one_message(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        who = await member(database, tenant)
        response = await log_in(api, who, "not-the-password")
        assert response.status_code == 401
        assert "The email, password or sales page is not right." in response.text
        assert not any(c.startswith("vd_login=") for c in response.headers.get_list("set-cookie"))
        assert (await api.get("/staff/")).status_code == 303

    async def test_without_a_login_the_screen_sends_to_the_login_form(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/staff/check?code=ABC")
        assert response.status_code == 303
        assert response.headers["location"] == "/staff/login?next=/staff/check%3Fcode%3DABC"

    async def test_logins_are_rate_limited_per_ip(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from voucherd.config import get_settings

        monkeypatch.setenv("VOUCHERD_RATE_LIMIT_STAFF_LOGIN_PER_IP", "2/minute")
        get_settings.cache_clear()
        who = await member(database, tenant)
        assert (await log_in(api, who, "wrong-password-1")).status_code == 401
        assert (await log_in(api, who, "wrong-password-2")).status_code == 401
        third = await log_in(api, who)
        assert third.status_code == 429
        assert int(third.headers["retry-after"]) > 0

    async def test_logging_out_ends_the_login_on_the_server(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        who = await member(database, tenant)
        await log_in(api, who)
        stolen = api.cookies.get("vd_login")
        home = await api.get("/staff/")
        out = await api.post("/staff/logout", data={"csrf_token": csrf_of(home.text)})
        assert out.status_code == 303
        api.cookies.set("vd_login", str(stolen))
        assert (await api.get("/staff/")).status_code == 303

    async def test_a_password_change_ends_every_login_and_the_new_one_works(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        who = await member(database, tenant)
        await log_in(api, who)
        form = await api.get("/staff/password")
        token = csrf_of(form.text)
        mismatch = await api.post(
            "/staff/password",
            data={"csrf_token": token, "current": PASSWORD, "new": "a-new-password", "repeat": "another-one"},
        )
        assert mismatch.status_code == 422
        assert "not the same" in mismatch.text
        changed = await api.post(
            "/staff/password",
            data={
                "csrf_token": token,
                "current": PASSWORD,
                "new": "a-new-password",
                "repeat": "a-new-password",
            },
        )
        assert changed.status_code == 200
        assert "Password changed" in changed.text
        assert (await api.get("/staff/")).status_code == 303
        assert (await log_in(api, who, PASSWORD)).status_code == 401
        assert (await log_in(api, who, "a-new-password")).status_code == 303


class TestCsrf:
    async def test_a_post_without_or_with_a_wrong_token_is_refused_and_changes_nothing(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, counter_code: str
    ) -> None:
        who = await member(database, tenant)
        await log_in(api, who)
        page = await check(api, counter_code)
        attempt = re.search(r'name="attempt" value="([^"]+)"', page.text)
        assert attempt is not None
        form = {"code": counter_code, "attempt": attempt.group(1)}
        missing = await api.post("/staff/redeem", data=form)
        wrong = await api.post("/staff/redeem", data={**form, "csrf_token": "forged.token.value"})
        # a token made for another browser's login is refused too
        async with httpx.AsyncClient(transport=api._transport, base_url=str(api.base_url)) as other:
            await log_in(other, await member(database, tenant, "other@example.com"))
            foreign = csrf_of((await other.get("/staff/")).text)
        borrowed = await api.post("/staff/redeem", data={**form, "csrf_token": foreign})
        for response in (missing, wrong, borrowed):
            assert response.status_code == 403
            assert "Nothing was changed" in response.text
        assert await count(database, Redemption) == 0

    async def test_the_login_form_needs_its_token_too(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        who = await member(database, tenant)
        await api.get("/staff/login")
        response = await api.post("/staff/login", data={"email": who.email, "password": PASSWORD})
        assert response.status_code == 403
        assert "vd_login" not in api.cookies


class TestCheck:
    async def test_a_usable_code_shows_offer_campaign_validity_and_uses_left(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, counter_code: str
    ) -> None:
        await log_in(api, await member(database, tenant))
        with clock.frozen(NOW):
            response = await check(api, " summer20-x7k3m2 ")
        assert response.status_code == 200
        html = response.text
        for part in (
            "✓ Can be used",
            "20% off",
            "Summer Sale",
            "31 December 2026, 23:59",
            'id="uses-left">1<',
        ):
            assert part in html, part

    async def test_a_redemption_url_from_a_qr_code_is_read_as_its_code(self) -> None:
        assert code_of("https://shop.example/redeem/summer20-x7k3m2") == "SUMMER20-X7K3M2"
        assert code_of("http://127.0.0.1:8000/redeem/SUMMER20-X7K3M2?utm=qr") == "SUMMER20-X7K3M2"
        assert code_of(" SUMMER20-X7K3M2 ") == "SUMMER20-X7K3M2"

    @pytest.mark.parametrize(
        ("case", "message"),
        [
            ("unknown", "Voucher not found"),
            ("expired", "Voucher has expired"),
            ("future", "Voucher not yet active"),
            ("used", "Voucher has already been redeemed"),
        ],
    )
    async def test_each_refusal_says_why_in_plain_words(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, case: str, message: str
    ) -> None:
        fields: dict[str, object] = {
            "expired": {"valid_until": date(2026, 1, 31)},
            "future": {"valid_from": date(2026, 6, 1)},
        }.get(case, {})  # type: ignore[assignment]
        campaign = await make_campaign(database, tenant, **fields)  # type: ignore[arg-type]
        await add_codes(database, tenant, campaign, ["CASE-AAAA"])
        await log_in(api, await member(database, tenant))
        with clock.frozen(NOW):
            if case == "used":
                assert (await redeem(api, "CASE-AAAA"))[0].status_code == 200
            response = await check(api, "NOPE-ZZZZ" if case == "unknown" else "CASE-AAAA")
        assert response.status_code == 200
        assert "✗ Cannot be used" in response.text
        assert f'id="reason">{message}<' in response.text
        assert 'id="redeem-form"' not in response.text


class TestRedeem:
    async def test_a_discount_with_the_transaction_amount_is_recorded_in_store_by_the_member(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, counter_code: str
    ) -> None:
        who = await member(database, tenant)
        await log_in(api, who)
        with clock.frozen(NOW):
            response, _ = await redeem(api, counter_code, "45.99")
        assert response.status_code == 200
        html = response.text
        for part in ("✓ Redeemed", 'id="discount">£9.20<', 'id="transaction">£45.99<', 'id="to-pay">£36.79<'):
            assert part in html, part
        async with unit_of_work(database, write=False) as session:
            row = await session.scalar(select(Redemption))
            page = await session.scalar(select(SalesPage).where(SalesPage.name == who.page))
        assert row is not None
        assert page is not None
        assert (row.channel, row.sales_page_id, row.discount_applied) == ("in_store", page.id, 920)
        assert row.staff_id is not None
        # the voucher's history (our API) names the member and the counter
        history = await api.get(f"/api/vouchers/{counter_code}", headers=tenant.headers)
        record = history.json()["redemptions"][0]
        assert record["channel"] == "in_store"
        assert record["staff_id"] == str(row.staff_id)
        assert record["sales_page_id"] == str(page.id)
        assert await count(database, Event, Event.type == "voucher.redeemed") == 1

    async def test_a_double_tap_redeems_once(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, database_two_uses: str
    ) -> None:
        await log_in(api, await member(database, tenant))
        with clock.frozen(NOW):
            first, form = await redeem(api, database_two_uses, "20")
            second = await api.post("/staff/redeem", data=form)
        assert first.status_code == 200
        assert second.status_code == 200
        assert "already recorded: nothing was redeemed twice" in second.text
        assert await count(database, Redemption) == 1
        async with unit_of_work(database, write=False) as session:
            used = await session.scalar(
                select(Voucher.redeemed_count).where(Voucher.code == database_two_uses)
            )
        assert used == 1
        assert await count(database, Event, Event.type == "voucher.redeemed") == 1

    async def test_a_gift_card_pays_part_and_shows_the_balance_after(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        product = {"type": "monetary", "title": "Gift card", "currency": "GBP"}
        paid = [{"amount": 5000, "currency": "GBP", "title": "Card"}]
        code, _ = await gift_card(api, database, tenant, product, monetaryAmount=5000, payments=paid)
        await log_in(api, await member(database, tenant))
        checked = await check(api, code)
        assert 'id="balance">£50.00<' in checked.text, checked.text[checked.text.find("<main") :]
        response, _ = await redeem(api, code, "12.50")
        assert response.status_code == 200
        assert 'id="taken">£12.50<' in response.text
        assert 'id="balance-after">£37.50<' in response.text
        assert 'id="to-pay"' not in response.text  # the card paid all that was asked
        too_much, _ = await redeem(api, code, "40")
        assert too_much.status_code == 200  # the card pays what it holds: £37.50 of £40
        assert 'id="taken">£37.50<' in too_much.text
        assert 'id="to-pay">£2.50<' in too_much.text
        assert "gift card £12.50" in (await api.get("/staff/")).text

    async def test_a_stale_form_is_bad_input(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, counter_code: str
    ) -> None:
        await log_in(api, await member(database, tenant))
        page = await check(api, counter_code)
        form = {"csrf_token": csrf_of(page.text), "code": counter_code, "attempt": "anything"}
        response = await api.post("/staff/redeem", data=form)
        assert response.status_code == 422
        assert await count(database, Redemption) == 0


@pytest.fixture
async def database_two_uses(database: Database, tenant: Tenant) -> str:
    campaign = await make_campaign(database, tenant, uses_per_voucher=2)
    await add_codes(database, tenant, campaign, ["TWICE-AAAA"])
    return "TWICE-AAAA"


class TestUndo:
    async def undo(self, api: httpx.AsyncClient) -> httpx.Response:
        home = await api.get("/staff/")
        found = re.search(r'name="redemption" value="([^"]+)"', home.text)
        assert found is not None, home.text
        return await api.post("/staff/undo", data={"csrf_token": csrf_of(home.text), "redemption": found[1]})

    async def test_the_member_undoes_within_five_minutes(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, counter_code: str
    ) -> None:
        await log_in(api, await member(database, tenant))
        with clock.frozen(NOW):
            await redeem(api, counter_code, "10")
        with clock.frozen(NOW + timedelta(minutes=4, seconds=59)):
            response = await self.undo(api)
            assert response.status_code == 200
            assert f"Undone: {counter_code} can be used again." in response.text
            assert "✓ Can be used" in (await check(api, counter_code)).text
        async with unit_of_work(database, write=False) as session:
            row = await session.scalar(select(Redemption))
        assert row is not None
        assert row.rollback_reason == "undone at counter"
        assert await count(database, Event, Event.type == "redemption.rolled_back") == 1

    async def test_after_five_minutes_it_is_too_late(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, counter_code: str
    ) -> None:
        await log_in(api, await member(database, tenant))
        with clock.frozen(NOW):
            await redeem(api, counter_code, "10")
            home = await api.get("/staff/")
        found = re.search(r'name="redemption" value="([^"]+)"', home.text)
        assert found is not None
        with clock.frozen(NOW + timedelta(minutes=5, seconds=1)):
            assert 'name="redemption"' not in (await api.get("/staff/")).text
            response = await api.post(
                "/staff/undo", data={"csrf_token": csrf_of(home.text), "redemption": found[1]}
            )
        assert response.status_code == 409
        assert "more than 5 minutes" in response.text
        assert await count(database, Redemption, Redemption.rolled_back_at.is_not(None)) == 0

    async def test_a_gift_cards_payment_is_given_back_once(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        product = {"type": "monetary", "title": "Gift card", "currency": "GBP"}
        paid = [{"amount": 5000, "currency": "GBP", "title": "Card"}]
        code, _ = await gift_card(api, database, tenant, product, monetaryAmount=5000, payments=paid)
        await log_in(api, await member(database, tenant))
        at = datetime.now(UTC) + timedelta(minutes=1)  # after the card was issued
        with clock.frozen(at):
            await redeem(api, code, "12.50")
            home = await api.get("/staff/")
        found = re.search(r'name="redemption" value="([^"]+)"', home.text)
        assert found is not None, home.text
        form = {"csrf_token": csrf_of(home.text), "redemption": found[1]}
        with clock.frozen(at + timedelta(minutes=2)):
            response = await api.post("/staff/undo", data=form)
            assert response.status_code == 200
            assert f"Undone: {code}" in response.text
            assert "· undone" in response.text
            again = await api.post("/staff/undo", data=form)  # a second tap, or a resent form
            assert again.status_code == 200
            assert 'id="balance">£50.00<' in (await check(api, code)).text
        async with unit_of_work(database, write=False) as session:
            kinds = (
                await session.scalars(select(GiftLedgerEntry.kind).order_by(GiftLedgerEntry.created_at))
            ).all()
            back = await session.scalar(select(GiftLedgerEntry).where(GiftLedgerEntry.kind == "rollback"))
        assert list(kinds) == ["issue", "redeem", "rollback"]
        assert back is not None
        assert (back.amount, back.balance_after, back.note) == (1250, 5000, "undone at counter")
        assert await count(database, Event, Event.type == "giftcard.redemption_undone") == 1

    async def test_a_gift_cards_payment_is_too_late_after_five_minutes(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        product = {"type": "monetary", "title": "Gift card", "currency": "GBP"}
        paid = [{"amount": 5000, "currency": "GBP", "title": "Card"}]
        code, _ = await gift_card(api, database, tenant, product, monetaryAmount=5000, payments=paid)
        await log_in(api, await member(database, tenant))
        at = datetime.now(UTC) + timedelta(minutes=1)  # after the card was issued
        with clock.frozen(at):
            await redeem(api, code, "10")
            home = await api.get("/staff/")
        found = re.search(r'name="redemption" value="([^"]+)"', home.text)
        assert found is not None
        with clock.frozen(at + timedelta(minutes=6)):
            response = await api.post(
                "/staff/undo", data={"csrf_token": csrf_of(home.text), "redemption": found[1]}
            )
            assert response.status_code == 409
            assert 'id="balance">£40.00<' in (await check(api, code)).text

    async def test_another_member_gets_the_403_page(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, counter_code: str
    ) -> None:
        first = await member(database, tenant)
        await log_in(api, first)
        with clock.frozen(NOW):
            await redeem(api, counter_code, "10")
            home = await api.get("/staff/")
        found = re.search(r'name="redemption" value="([^"]+)"', home.text)
        assert found is not None
        async with httpx.AsyncClient(transport=api._transport, base_url=str(api.base_url)) as other:
            await log_in(
                other, await member(database, tenant, "kim@example.com", role=Role.MANAGER, page=first.page)
            )
            with clock.frozen(NOW + timedelta(minutes=1)):
                today = await other.get("/staff/")
                assert counter_code in today.text  # the counter's day lists it
                assert 'name="redemption"' not in today.text  # but offers no undo
                response = await other.post(
                    "/staff/undo", data={"csrf_token": csrf_of(today.text), "redemption": found[1]}
                )
        assert response.status_code == 403
        assert "Not allowed for your login" in response.text
        assert await count(database, Redemption, Redemption.rolled_back_at.is_not(None)) == 0


async def test_a_campaigns_gift_voucher_pays_part_is_listed_once_and_undone(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    campaign = await make_campaign(
        database, tenant, discount_type=DiscountType.GIFT, discount_value=Decimal("40"), uses_per_voucher=1000
    )
    await add_codes(database, tenant, campaign, ["GIFT-COUNTER"])
    await log_in(api, await member(database, tenant))
    checked = await check(api, "GIFT-COUNTER")
    assert 'id="balance">£40.00<' in checked.text
    response, _ = await redeem(api, "GIFT-COUNTER", "15")
    assert 'id="taken">£15.00<' in response.text
    assert 'id="balance-after">£25.00<' in response.text
    home = await api.get("/staff/")
    # Its redemption row, not also its card's ledger row:
    assert home.text.count('<span class="mono">GIFT-COUNTER<') == 1
    found = re.search(r'name="redemption" value="([^"]+)"', home.text)
    assert found is not None
    undone = await api.post("/staff/undo", data={"csrf_token": csrf_of(home.text), "redemption": found[1]})
    assert undone.status_code == 200
    assert 'id="balance">£40.00<' in (await check(api, "GIFT-COUNTER")).text
