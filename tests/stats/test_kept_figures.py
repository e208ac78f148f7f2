"""A campaign's kept figures (migration 0018's triggers) equal what its rows count, after every
kind of change: codes made at once and by the bulk job, hand-outs, tracking, redemptions and
rollbacks (concurrent ones too), deleted codes; and keyset pagination of a campaign's codes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import case, delete, func, select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from voucherd.api.app import create_app
from voucherd.campaigns.figures import campaign_figures
from voucherd.core import clock
from voucherd.core.money import Amount
from voucherd.db import Database, unit_of_work
from voucherd.jobs import runner
from voucherd.models import (
    CampaignQuarter,
    ClientFigures,
    Publication,
    Recipient,
    Redemption,
    Voucher,
    VoucherOwner,
)
from voucherd.models.figures import FIGURES, QUARTER_FIGURES
from voucherd.redemptions import service as redemptions
from voucherd.redemptions.repository import SessionStore
from voucherd.redemptions.schemas import Channel, RedeemInput


async def counted(database: Database, campaign_id: uuid.UUID) -> dict[str, int]:
    """The figures counted from the rows themselves (what the stats scanned before 0018)."""
    async with unit_of_work(database, write=False) as session:
        issued, redeemed_codes = (
            await session.execute(
                select(func.count(), func.count(case((Voucher.redeemed_count > 0, 1)))).where(
                    Voucher.campaign_id == campaign_id
                )
            )
        ).one()
        published = await session.scalar(
            select(func.count()).select_from(VoucherOwner).where(VoucherOwner.campaign_id == campaign_id)
        )
        publications = await session.scalar(
            select(func.count()).select_from(Publication).where(Publication.campaign_id == campaign_id)
        )
        tracked = (
            await session.execute(
                select(
                    func.count(),
                    func.count(Recipient.opened_at),
                    func.count(Recipient.clicked_at),
                    func.count(Recipient.bounced_at),
                    func.count(case((Recipient.source == "landing_page", 1))),
                    func.count(Recipient.referred_by),
                ).where(Recipient.campaign_id == campaign_id)
            )
        ).one()
        live = Redemption.rolled_back_at.is_(None)
        money = (
            await session.execute(
                select(
                    func.count(case((Redemption.channel == "online", 1))),
                    func.count(case((Redemption.channel == "in_store", 1))),
                    func.coalesce(func.sum(Redemption.transaction_amount), 0),
                    func.coalesce(func.sum(Redemption.discount_applied), 0),
                ).where(Redemption.campaign_id == campaign_id, live)
            )
        ).one()
        recorded = await session.scalar(
            select(func.count()).select_from(Redemption).where(Redemption.campaign_id == campaign_id)
        )
    values = (issued, redeemed_codes, published, publications, *tracked, *money, recorded)
    return {name: int(value) for name, value in zip(FIGURES, values, strict=True)}


async def kept(database: Database, campaign_id: uuid.UUID) -> dict[str, int]:
    async with unit_of_work(database, write=False) as session:
        return await campaign_figures(session, campaign_id)


async def quarters_counted(database: Database, campaign_id: uuid.UUID) -> dict[int, tuple[int, ...]]:
    """The standing redemptions per quarter hour, counted from the rows (migration 0024's figures)."""
    async with unit_of_work(database, write=False) as session:
        rows = await session.scalars(
            select(Redemption).where(
                Redemption.campaign_id == campaign_id, Redemption.rolled_back_at.is_(None)
            )
        )
        found: dict[int, list[int]] = {}
        for row in rows:
            online = row.channel == "online"
            sums = found.setdefault(int(row.created_at.timestamp()) // 900, [0] * 5)
            sums[0 if online else 1] += 1
            sums[2 if online else 3] += row.transaction_amount
            sums[4] += row.discount_applied
    return {quarter: tuple(sums) for quarter, sums in found.items()}


async def quarters_kept(database: Database, campaign_id: uuid.UUID) -> dict[int, tuple[int, ...]]:
    """The kept quarter hours' figures (all shards summed; quarters that net to nothing left out)."""
    async with unit_of_work(database, write=False) as session:
        rows = await session.execute(
            select(CampaignQuarter.quarter, *(func.sum(getattr(CampaignQuarter, n)) for n in QUARTER_FIGURES))
            .where(CampaignQuarter.campaign_id == campaign_id)
            .group_by(CampaignQuarter.quarter)
        )
        found = {int(quarter): tuple(int(value) for value in values) for quarter, *values in rows.all()}
    return {quarter: values for quarter, values in found.items() if any(values)}


async def redeem(api: httpx.AsyncClient, tenant: Tenant, code: str, reference: str) -> httpx.Response:
    return await api.post(
        "/api/webhook/redemption",
        json={"code": code, "transaction_amount": "20.00", "order_reference": reference},
        headers=tenant.headers,
    )


async def test_figures_follow_every_change(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    # given a campaign with pool codes, uploaded recipients and a pool publication
    campaign = await make_campaign(database, tenant, discount_value=10, uses_per_voucher=2)
    codes = await make_codes(database, tenant, campaign, 5)
    uploaded = (
        await api.post(
            f"/api/integrations/campaigns/{campaign.id}/recipients",
            json={"recipients": [{"email": f"r{i}@example.com"} for i in range(3)]},
            headers=tenant.headers,
        )
    ).json()["recipients"]
    published = await api.post(
        "/api/publications",
        json={"campaign": {"id": str(campaign.id), "count": 2}, "customer": {"email": "p@example.com"}},
        headers=tenant.headers,
    )
    assert published.status_code == 201
    for kind in ("opened", "clicked", "bounced"):
        await api.post(
            f"/api/integrations/tracking/email-{kind}?recipient_id={uploaded[0]['recipient_id']}",
            headers=tenant.headers,
        )
    # when codes are redeemed (one twice, one in store), one redemption is rolled back
    for code, reference in ((codes[0], "A"), (codes[0], "B"), (uploaded[1]["voucher_code"], "D")):
        assert (await redeem(api, tenant, code, reference)).status_code == 201
    async with unit_of_work(database) as session:  # at the counter
        await redemptions.redeem(
            SessionStore(session),
            tenant.principal,
            RedeemInput(
                code=codes[1], amount=Amount.major("20.00"), order_reference="C", channel=Channel.IN_STORE
            ),
        )
    rolled = await api.post(
        "/api/webhook/redemption/rollback",
        json={"code": codes[0], "order_reference": "A", "reason": "refunded"},
        headers=tenant.headers,
    )
    assert rolled.status_code == 200
    # then the kept figures are what the rows count, to the unit
    figures = await kept(database, campaign.id)
    assert figures == await counted(database, campaign.id)
    assert (figures["issued"], figures["redeemed_codes"], figures["published"]) == (8, 3, 5)
    assert (figures["redemptions_online"], figures["redemptions_in_store"]) == (2, 1)
    assert figures["revenue"] == 6000
    assert await quarters_kept(database, campaign.id) == await quarters_counted(database, campaign.id) != {}
    # and when a redeemed code is deleted, its code and its redemptions leave the figures
    async with unit_of_work(database) as session:
        await session.execute(delete(Voucher).where(Voucher.code == codes[1]))
    figures = await kept(database, campaign.id)
    assert figures == await counted(database, campaign.id)
    assert (figures["issued"], figures["redemptions_in_store"]) == (7, 0)
    assert await quarters_kept(database, campaign.id) == await quarters_counted(database, campaign.id)


async def test_a_failed_transaction_changes_no_figure(database: Database, tenant: Tenant) -> None:
    campaign = await make_campaign(database, tenant)
    await make_codes(database, tenant, campaign, 3)
    # when a transaction that deleted codes rolls back
    async with unit_of_work(database) as session:
        await session.execute(delete(Voucher).where(Voucher.campaign_id == campaign.id))
        await session.rollback()
    # then the figures still count the three codes
    assert (await kept(database, campaign.id))["issued"] == 3


async def test_bulk_generation_keeps_the_count(
    api: httpx.AsyncClient, database: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOUCHERD_CODE_CHUNK_SIZE", "1000")
    from voucherd.config import get_settings

    get_settings.cache_clear()
    campaign = await make_campaign(database, tenant)
    response = await api.post(
        f"/api/campaigns/{campaign.id}/vouchers", json={"count": 4500}, headers=tenant.headers
    )
    assert response.status_code == 202
    assert await runner.run_until_idle(database) == 1
    figures = await kept(database, campaign.id)
    assert figures["issued"] == 4500 == (await counted(database, campaign.id))["issued"]
    listed = await api.get(f"/api/campaigns/{campaign.id}/vouchers?limit=1", headers=tenant.headers)
    assert listed.json()["total"] == 4500


@pytest.fixture
async def wide_api(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its own pool, so requests are concurrent transactions on their connections."""
    transport = httpx.ASGITransport(app=create_app(embedded_worker=False), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test", timeout=60) as client:
        yield client


@pytest.mark.concurrency
async def test_concurrent_redemptions_and_rollbacks_keep_exact_figures(
    wide_api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    # given 60 single-use codes, 20 of them redeemed
    campaign = await make_campaign(database, tenant, discount_value=10)
    codes = await make_codes(database, tenant, campaign, 60)
    await asyncio.gather(*(redeem(wide_api, tenant, code, f"old-{code}") for code in codes[:20]))
    # when two orders race for each of the other 40 codes, beside 20 rollbacks of the old ones
    calls = [redeem(wide_api, tenant, code, f"new-{code}") for code in codes[20:]]
    rollbacks = [
        wide_api.post(
            "/api/webhook/redemption/rollback",
            json={"code": code, "order_reference": f"old-{code}", "reason": "refunded"},
            headers=tenant.headers,
        )
        for code in codes[:20]
    ]
    rivals = [redeem(wide_api, tenant, code, f"rival-{code}") for code in codes[20:]]
    results = await asyncio.gather(*calls, *rollbacks, *rivals)
    assert all(r.status_code == 200 for r in results[40:60])
    orders = [r.status_code for r in results[:40] + results[60:]]
    assert (orders.count(201), orders.count(409)) == (40, 40)  # one order of each code wins
    # then every figure is exact: 40 live redemptions of 20.00, 40 codes used
    figures = await kept(database, campaign.id)
    assert figures == await counted(database, campaign.id)
    assert (figures["redemptions_online"], figures["redeemed_codes"], figures["revenue"]) == (40, 40, 80_000)
    quarters = await quarters_kept(database, campaign.id)
    assert quarters == await quarters_counted(database, campaign.id)
    assert sum(values[0] for values in quarters.values()) == 40


class TestKeysetPagination:
    async def test_a_cursor_walks_every_code_once_in_order(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        await make_codes(database, tenant, campaign, 25)
        by_page = []
        for page in (1, 2, 3):
            body = (
                await api.get(
                    f"/api/campaigns/{campaign.id}/vouchers?limit=10&page={page}", headers=tenant.headers
                )
            ).json()
            by_page += [item["code"] for item in body["data"]]
        walked, cursor, pages = [], None, 0
        while True:
            query = f"limit=10&after={cursor}" if cursor else "limit=10"
            body = (
                await api.get(f"/api/campaigns/{campaign.id}/vouchers?{query}", headers=tenant.headers)
            ).json()
            pages += 1
            walked += [item["code"] for item in body["data"]]
            assert body["total"] == 25
            assert body["has_more"] is (body["next_cursor"] is not None)
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert walked == by_page
        assert len(set(walked)) == 25

    async def test_the_redeemed_filter_pages_by_cursor_with_its_kept_total(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        codes = await make_codes(database, tenant, campaign, 7)
        for code in codes[:3]:
            assert (await redeem(api, tenant, code, f"o-{code}")).status_code == 201
        url = f"/api/campaigns/{campaign.id}/vouchers"
        first = (await api.get(f"{url}?redeemed=true&limit=2", headers=tenant.headers)).json()
        second = (
            await api.get(f"{url}?redeemed=true&limit=2&after={first['next_cursor']}", headers=tenant.headers)
        ).json()
        assert (first["total"], second["total"]) == (3, 3)
        assert sorted(item["code"] for item in first["data"] + second["data"]) == sorted(codes[:3])
        assert second["next_cursor"] is None
        assert second["has_more"] is False
        unredeemed = (await api.get(f"{url}?redeemed=false", headers=tenant.headers)).json()
        assert unredeemed["total"] == 4
        assert sorted(item["code"] for item in unredeemed["data"]) == sorted(codes[3:])

    async def test_a_cursor_the_list_did_not_give_is_a_422(
        self, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        for bad in ("nonsense", "bm9uc2Vuc2UKeHh4"):  # not base64 of two keys; two keys, not a position
            response = await api.get(
                f"/api/campaigns/{campaign.id}/vouchers?after={bad}", headers=tenant.headers
            )
            assert response.status_code == 422, response.text
            assert "next_cursor" in response.text


async def test_the_customers_list_total_is_the_kept_count(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    # given three customers, one of them then erased
    made = [
        (await api.post("/api/customers", json={"email": f"c{i}@example.com"}, headers=tenant.headers)).json()
        for i in range(3)
    ]
    assert (await api.delete(f"/api/customers/{made[0]['id']}", headers=tenant.headers)).status_code == 204
    # then the list's total (kept) and a filtered list's (counted) agree with the rows
    listed = (await api.get("/api/customers?limit=1", headers=tenant.headers)).json()
    assert (listed["total"], listed["has_more"]) == (2, True)
    by_email = (await api.get("/api/customers?email=c1@example.com", headers=tenant.headers)).json()
    assert by_email["total"] == 1
    async with unit_of_work(database, write=False) as session:
        kept_total = await session.scalar(
            select(func.sum(ClientFigures.customers)).where(ClientFigures.client_id == tenant.client_id)
        )
    assert kept_total == 2


async def test_a_publication_history_walks_by_cursor(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    # given 7 codes handed out in three calls (a batch shares its creation time: ties by id)
    campaign = await make_campaign(database, tenant)
    await make_codes(database, tenant, campaign, 7)
    for count, email in ((3, "a@example.com"), (2, "b@example.com"), (2, "c@example.com")):
        response = await api.post(
            "/api/publications",
            json={"campaign": {"id": str(campaign.id), "count": count}, "customer": {"email": email}},
            headers=tenant.headers,
        )
        assert response.status_code == 201
    url = f"/api/campaigns/{campaign.id}/publications"
    by_page = (await api.get(f"{url}?limit=7", headers=tenant.headers)).json()
    assert (by_page["total"], by_page["has_more"], by_page["next_cursor"]) == (7, False, None)
    # when it is walked 3 at a time by cursor
    walked, cursor = [], None
    for _ in range(3):
        query = f"limit=3&after={cursor}" if cursor else "limit=3"
        body = (await api.get(f"{url}?{query}", headers=tenant.headers)).json()
        walked += body["data"]
        cursor = body["next_cursor"]
    # then it lists the same entries in the same order, and ends
    assert cursor is None
    assert [entry["voucher_code"] for entry in walked] == [entry["voucher_code"] for entry in by_page["data"]]


async def test_the_customers_list_walks_by_cursor_newest_first(
    api: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    # given seven customers made in the same instant (the cursor's id breaks the tie)
    with clock.frozen(clock.now()):
        for i in range(7):
            made = await api.post(
                "/api/customers", json={"email": f"w{i}@example.com"}, headers=tenant.headers
            )
            assert made.status_code == 201
    by_page = (await api.get("/api/customers?limit=100", headers=tenant.headers)).json()
    # then pages of three by cursor give every customer once, in the list's order
    walked: list[str] = []
    cursor = None
    while True:
        query = f"limit=3&after={cursor}" if cursor else "limit=3"
        body = (await api.get(f"/api/customers?{query}", headers=tenant.headers)).json()
        walked.extend(item["id"] for item in body["data"])
        assert body["total"] == 7
        assert body["has_more"] is (body["next_cursor"] is not None)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert walked == [item["id"] for item in by_page["data"]]
    assert len(set(walked)) == 7
    bad = await api.get("/api/customers?after=bm9wZQ", headers=tenant.headers)
    assert bad.status_code == 422
