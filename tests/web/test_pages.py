"""Public pages over the app: the voucher page, the landing page, claims, referrals."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import httpx
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import add_codes, make_campaign, make_codes
from voucherd.accounts import staff
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.giftcards import codes as gift_codes
from voucherd.models import Campaign, Event, Publication, Recipient


async def landing(database: Database, tenant: Tenant, slug: str = "summer", **fields: object) -> Campaign:
    campaign = await make_campaign(database, tenant, **fields)  # type: ignore[arg-type]
    async with unit_of_work(database) as session:
        row = await session.get(Campaign, campaign.id)
        assert row is not None
        row.landing_slug = slug
        row.terms = "One per customer. Not valid with other offers."
    return campaign


async def events_of(database: Database, kind: str) -> list[dict[str, object]]:
    async with unit_of_work(database, write=False) as session:
        return [e.data for e in (await session.scalars(select(Event).where(Event.type == kind))).all()]


def claim_form(**fields: str) -> dict[str, str]:
    return {"name": "Ada Lovelace", "email": "ada@example.com", "consent": "yes", **fields}


class TestVoucherPage:
    async def test_shows_offer_code_qr_validity_terms_and_state(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await landing(database, tenant, valid_until=date(2026, 3, 31))  # end of day, London
        await add_codes(database, tenant, campaign, ["SUMMER20-X7K3M2"])
        with clock.frozen(datetime(2026, 2, 1, tzinfo=UTC)):
            response = await api.get("/redeem/summer20-x7k3m2")
        assert response.status_code == 200
        html = response.text
        for part in (
            "Summer Sale",
            "20% off your order",
            "SUMMER20-X7K3M2",
            'src="data:image/png;base64,',
            "Valid until 31 March 2026, 23:59",
            "One per customer. Not valid with other offers.",
            'id="state">Valid<',
            "Demo Restaurant",
        ):
            assert part in html, part
        assert "unsafe-inline" not in response.headers["content-security-policy"]
        with clock.frozen(datetime(2026, 4, 1, tzinfo=UTC)):
            expired = await api.get("/redeem/SUMMER20-X7K3M2")
        assert 'id="state">Expired<' in expired.text

    async def test_redeemed_state(self, api: httpx.AsyncClient, database: Database, tenant: Tenant) -> None:
        campaign = await make_campaign(database, tenant)
        [code] = await make_codes(database, tenant, campaign)
        await api.post(
            "/api/webhook/redemption", json={"code": code, "transaction_amount": 10}, headers=tenant.headers
        )
        assert 'id="state">Redeemed<' in (await api.get(f"/redeem/{code}")).text

    async def test_unknown_and_deleted_codes_get_the_same_plain_page(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        """RELIABILITY S3: unknown codes and codes of a deleted campaign get byte-identical 404s."""
        campaign = await make_campaign(database, tenant)
        [code] = await make_codes(database, tenant, campaign)
        await api.delete(f"/api/campaigns/{campaign.id}", headers=tenant.headers)
        # the same code in two clients' campaigns: the page will not pick one
        first = await make_campaign(database, tenant, name="A")
        second = await make_campaign(database, other_tenant, name="B")
        await add_codes(database, tenant, first, ["SHARED-CODE1"])
        await add_codes(database, other_tenant, second, ["SHARED-CODE1"])
        responses = [await api.get(f"/redeem/{c}") for c in ("NOPE-1234", code, "SHARED-CODE1")]
        assert {r.status_code for r in responses} == {404}
        assert len({r.content for r in responses}) == 1
        assert "Summer Sale" not in responses[1].text

    async def test_visiting_counts_as_a_click(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        uploaded = await api.post(
            f"/api/integrations/campaigns/{campaign.id}/recipients",
            json={"recipients": [{"email": "a@example.com"}]},
            headers=tenant.headers,
        )
        code = uploaded.json()["recipients"][0]["voucher_code"]
        await api.get(f"/redeem/{code}")
        await api.get(f"/redeem/{code}")
        async with unit_of_work(database, write=False) as session:
            recipient = await session.scalar(select(Recipient))
        assert recipient is not None
        assert recipient.clicked_at is not None
        assert recipient.opened_at is not None
        assert len(await events_of(database, "email.clicked")) == 1


V1 = "/vouchercart/v1"


async def gift_card(
    api: httpx.AsyncClient, database: Database, tenant: Tenant, product: dict[str, object], **order: object
) -> tuple[str, int]:
    """A gift card sold over VoucherCart's API, on a new sales page of the tenant's: its code and
    the page's number."""
    async with unit_of_work(database) as session:
        page = await staff.create_sales_page(session, tenant.client_id, f"shop-{uuid.uuid4().hex[:8]}")
    bearer = {"Authorization": f"Bearer {tenant.api_key}"}
    made = await api.post(f"{V1}/vouchers", json={"domainId": page.number, **product}, headers=bearer)
    assert made.status_code == 201, made.text
    shown = made.json()
    if shown["options"]:
        order = {"optionId": shown["options"][0]["optionId"], **order}
    body = {"domainId": page.number, "voucherId": shown["voucherId"], **order}
    placed = await api.post(f"{V1}/order", json=body, headers=bearer)
    assert placed.status_code == 201, placed.text
    return str(placed.json()["codes"][0]), page.number


class TestGiftCardPage:
    async def test_shows_business_title_what_is_left_validity_terms_and_state(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        product = {
            "type": "monetary",
            "title": "Gift card",
            "currency": "GBP",
            "terms": "Not exchangeable for cash.",
            "expiry": {"type": "period", "interval": "months", "period": 3},
        }
        paid = [{"amount": 2000, "currency": "GBP", "title": "Card"}]
        with clock.frozen(datetime(2026, 1, 10, 12, 0, tzinfo=UTC)):
            code, domain = await gift_card(api, database, tenant, product, monetaryAmount=2000, payments=paid)
        with clock.frozen(datetime(2026, 2, 1, tzinfo=UTC)):
            page = await api.get(f"/redeem/{code.lower().replace('-', '')}")  # as a person may type it
            assert page.status_code == 200
            for part in (
                "Demo Restaurant",
                "<h1>Gift card</h1>",
                'id="remaining">£20.00 left<',
                code,
                f'alt="QR code of gift voucher {code}"',
                'src="data:image/png;base64,',
                'id="state">Valid<',
                "Valid until 10 April 2026, 13:00",  # three months on, in London's summer time
                "Not exchangeable for cash.",
            ):
                assert part in page.text, part
            assert "unsafe-inline" not in page.headers["content-security-policy"]
            bearer = {"Authorization": f"Bearer {tenant.api_key}"}
            form = {"code": code, "domain": str(domain), "reductor": "500"}
            redeemed = await api.post(f"{V1}/redeem", data=form, headers=bearer)
            assert redeemed.status_code == 200, redeemed.text
            assert 'id="remaining">£15.00 left<' in (await api.get(f"/redeem/{code}")).text
            await api.post(f"{V1}/redeem", data={"code": code, "domain": str(domain)}, headers=bearer)
            assert 'id="state">Used up<' in (await api.get(f"/redeem/{code}")).text
        with clock.frozen(datetime(2026, 5, 1, tzinfo=UTC)):
            assert 'id="state">Expired<' not in (await api.get(f"/redeem/{code}")).text  # used up first

    async def test_uses_left_and_expiry(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        product = {
            "type": "fixed",
            "title": "Coffee card",
            "currency": "GBP",
            "options": [{"sellPrice": 1500, "quantity": 5, "description": "5 coffees"}],
            "expiry": {"type": "period", "interval": "months", "period": 3},
        }
        paid = [{"amount": 1500, "currency": "GBP", "title": "Card"}]
        with clock.frozen(datetime(2026, 1, 10, 12, 0, tzinfo=UTC)):
            code, _ = await gift_card(api, database, tenant, product, payments=paid)
        with clock.frozen(datetime(2026, 2, 1, tzinfo=UTC)):
            assert 'id="remaining">5 times left<' in (await api.get(f"/redeem/{code}")).text
        with clock.frozen(datetime(2026, 4, 11, tzinfo=UTC)):
            assert 'id="state">Expired<' in (await api.get(f"/redeem/{code}")).text

    async def test_unknown_gift_codes_get_the_same_plain_page(self, api: httpx.AsyncClient) -> None:
        well_formed = gift_codes.new_code()  # checks, but was never issued
        mistyped = well_formed[:-1] + ("0" if well_formed[-1] != "0" else "1")
        responses = [await api.get(f"/redeem/{c}") for c in ("NOPE-1234", well_formed, mistyped)]
        assert {r.status_code for r in responses} == {404}
        assert len({r.content for r in responses}) == 1


class TestLandingPage:
    async def test_claim_gives_a_code_and_writes_lead_captured(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        await landing(database, tenant)
        page = await api.get("/c/summer")
        assert page.status_code == 200
        assert 'name="website"' in page.text  # the honeypot
        response = await api.post("/c/summer", data=claim_form())
        assert response.status_code == 303
        code = response.headers["location"].removeprefix("/redeem/")
        assert (await api.get(response.headers["location"])).status_code == 200
        [lead] = await events_of(database, "lead.captured")
        # the documented four, and the voucher's id and event number (JSONB sorts keys)
        assert sorted(lead) == sorted(
            ["lead_id", "email", "voucher_code", "campaign_name", "voucher_id", "sequence"]
        )
        assert (lead["email"], lead["voucher_code"], lead["campaign_name"]) == (
            "ada@example.com",
            code,
            "Summer Sale",
        )
        uuid.UUID(str(lead["lead_id"]))
        [created] = await events_of(database, "voucher.created")
        # the new code's first event, then the lead
        assert (created["voucher_id"], created["sequence"]) == (lead["voucher_id"], 1)
        assert lead["sequence"] == 2
        figures = (
            await api.get(
                f"/api/campaigns/{(await self._campaign(database)).id}/stats", headers=tenant.headers
            )
        ).json()
        assert (figures["leads"], figures["referrals"], figures["published"]) == (1, 0, 1)

    async def _campaign(self, database: Database) -> Campaign:
        async with unit_of_work(database, write=False) as session:
            campaign = await session.scalar(select(Campaign).where(Campaign.landing_slug == "summer"))
        assert campaign is not None
        return campaign

    async def test_one_code_per_email_without_showing_it_again(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        await landing(database, tenant)
        first = await api.post("/c/summer", data=claim_form())
        code = first.headers["location"].removeprefix("/redeem/")
        again = await api.post("/c/summer", data=claim_form(email="ADA@example.com"))
        assert again.status_code == 409
        assert "already claimed" in again.text
        assert code not in again.text
        assert len(await events_of(database, "lead.captured")) == 1

    async def test_honeypot_missing_consent_and_bad_email_create_nothing(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        await landing(database, tenant)
        for form in (
            claim_form(website="http://spam.example"),
            claim_form(consent=""),
            claim_form(email="nope"),
        ):
            response = await api.post("/c/summer", data=form)
            assert response.status_code == 422
            assert 'role="alert"' in response.text
        async with unit_of_work(database, write=False) as session:
            assert await session.scalar(select(func.count()).select_from(Recipient)) == 0
        assert await events_of(database, "lead.captured") == []

    async def test_a_claim_through_a_share_link_is_a_referral(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await landing(database, tenant)
        first = await api.post("/c/summer", data=claim_form())
        page = (await api.get(first.headers["location"])).text
        share = page.split('id="share" type="text" readonly value="', 1)[1].split('"', 1)[0]
        assert share.startswith("http://127.0.0.1:8000/c/summer?ref=")
        ref = share.split("ref=", 1)[1]
        friend_page = await api.get(f"/c/summer?ref={ref}")
        assert f'value="{ref}"' in friend_page.text
        friend = await api.post(
            "/c/summer", data=claim_form(name="Grace Hopper", email="grace@example.com", ref=ref)
        )
        assert friend.status_code == 303
        [referral] = await events_of(database, "referral.converted")
        assert referral["email"] == "grace@example.com"
        assert referral["sequence"] == 3  # the new code's: created, lead captured, referral converted
        assert referral["referrer_email"] == "ada@example.com"
        figures = (await api.get(f"/api/campaigns/{campaign.id}/stats", headers=tenant.headers)).json()
        assert (figures["leads"], figures["referrals"]) == (2, 1)
        async with unit_of_work(database, write=False) as session:
            channels = sorted((await session.scalars(select(Publication.channel))).all())
        assert channels == ["landing_page", "referral"]

    async def test_unknown_or_paused_landing_page_is_404(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await landing(database, tenant)
        assert (await api.get("/c/nothing")).status_code == 404
        await api.patch(f"/api/campaigns/{campaign.id}", json={"status": "paused"}, headers=tenant.headers)
        assert (await api.get("/c/summer")).status_code == 404
        assert (await api.post("/c/summer", data=claim_form())).status_code == 404

    async def test_landing_slug_through_the_api(self, api: httpx.AsyncClient, tenant: Tenant) -> None:
        body = {
            "name": "Spring",
            "discount_type": "percentage",
            "discount_value": 10,
            "landing_slug": "Spring-26",
        }
        created = await api.post("/api/campaigns", json=body, headers=tenant.headers)
        assert created.json()["landing_page_url"] == "http://127.0.0.1:8000/c/spring-26"
        again = await api.post(
            "/api/campaigns", json={**body, "landing_slug": "spring-26"}, headers=tenant.headers
        )
        assert again.status_code == 409
        assert again.json()["error_code"] == "landing_slug_taken"
        bad = await api.post(
            "/api/campaigns", json={**body, "landing_slug": "no spaces"}, headers=tenant.headers
        )
        assert bad.status_code == 422
