"""The campaign page (both databases): its figures are the stats endpoint's, its days are the
client's (New York here), online and in store apart; the hand-outs and codes, searched and paged
by cursor; the recipients upload, which shows every bad line and saves nothing until a clean file
is confirmed; the export; the role matrix, CSRF and escaping."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant, make_tenant
from tests.fixtures.factories import make_campaign, make_codes
from tests.stats.test_stats import busy_campaign, stats
from tests.web.dashboard.conftest import post
from tests.web.test_staff import csrf_of
from voucherd.core import clock
from voucherd.core.money import Amount
from voucherd.db import Database, unit_of_work
from voucherd.models import Publication
from voucherd.redemptions import service as redemptions
from voucherd.redemptions.repository import SessionStore
from voucherd.redemptions.schemas import Channel, RedeemInput
from voucherd.stats import daily

__all__ = ["busy_campaign"]  # the stats tests' campaign, a fixture here too

XSS = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


@pytest.fixture
async def tenant(database: Database) -> Tenant:
    """A client in New York (UTC-5 in December), so a local day is not a UTC one."""
    return await make_tenant(database, timezone="America/New_York", currency="USD")


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}" data-value="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


def day_row(html: str, day: str) -> list[str]:
    found = re.search(rf'<tr data-day="{day}">(.*?)</tr>', html, re.S)
    assert found is not None, day
    return [unescape(cell) for cell in re.findall(r'<td class="number">([^<]*)</td>', found.group(1))]


async def redeem_at(
    database: Database, tenant: Tenant, code: str, amount: str, channel: Channel, at: datetime
) -> None:
    with clock.frozen(at):
        async with unit_of_work(database) as session:
            await redemptions.redeem(
                SessionStore(session),
                tenant.principal,
                RedeemInput(code=code, amount=Amount.major(amount), order_reference=code, channel=channel),
            )


async def upload_csv(
    client: httpx.AsyncClient, campaign_id: object, text: str, name: str = "list.csv"
) -> httpx.Response:
    url = f"/dashboard/campaigns/{campaign_id}/recipients/upload"
    form = await client.get(url)
    return await client.post(
        url,
        data={"csrf_token": csrf_of(form.text), "step": "check"},
        files={"file": (name, text.encode(), "text/csv")},
    )


def staged_form(html: str) -> dict[str, str]:
    """The confirming form's fields as the page filled them (the staged file, the columns)."""
    form = re.search(r'<form method="post"[^>]*id="mapping-form">(.*?)</form>', html, re.S)
    assert form is not None, html
    values = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))
    for name, options in re.findall(
        r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', form.group(1), re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        values[name] = chosen.group(1) if chosen else ""
    return {name: unescape(value) for name, value in values.items()}


class TestFigures:
    async def test_the_funnel_and_the_money_are_the_stats_endpoints(
        self, manager: httpx.AsyncClient, api: httpx.AsyncClient, tenant: Tenant, busy_campaign: object
    ) -> None:
        # given the stats tests' campaign (uploads, hand-outs, opens, redemptions, a rollback)
        expected = await stats(api, tenant, busy_campaign)
        # when its page is read
        page = await manager.get(f"/dashboard/campaigns/{busy_campaign}")
        # then every figure is the endpoint's
        assert page.status_code == 200, page.text
        html = page.text
        assert int(figure(html, "issued")) == expected["issued"] == 10
        assert int(figure(html, "published")) == expected["published"]
        assert int(figure(html, "opened")) == expected["opened"]
        assert int(figure(html, "clicked")) == expected["clicked"]
        redeemed = expected["redeemed"]
        assert isinstance(redeemed, dict)
        assert int(figure(html, "redeemed")) == redeemed["codes"] == 3
        assert int(figure(html, "redemptions_online")) == redeemed["online"] == 2
        assert int(figure(html, "redemptions_in_store")) == redeemed["in_store"] == 1
        assert Decimal(figure(html, "revenue")) == Decimal(str(expected["revenue"])) == Decimal("75.99")
        assert Decimal(figure(html, "discount_given")) == Decimal(str(expected["discount_given"]))
        assert Decimal(figure(html, "redemption_rate")) == Decimal(str(expected["redemption_rate"]))
        assert "codes used of those handed out" in html
        # and today's row holds the standing redemptions (the rolled-back one left out)
        today = clock.now().astimezone(ZoneInfo("America/New_York")).date()
        assert day_row(html, today.isoformat())[:2] == ["2", "1"]

    async def test_another_clients_campaign_is_not_found(
        self, manager: httpx.AsyncClient, database: Database
    ) -> None:
        other = await make_tenant(database, "Other Shop")
        theirs = await make_campaign(database, other, name="Theirs")
        assert (await manager.get(f"/dashboard/campaigns/{theirs.id}")).status_code == 404
        assert (await manager.get(f"/dashboard/campaigns/{uuid.uuid4()}")).status_code == 404
        export = await post(manager, f"/dashboard/campaigns/{theirs.id}/recipients/export")
        assert export.status_code == 404


class TestDays:
    async def test_a_redemption_at_half_past_eleven_local_counts_on_that_local_day(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # given 23:30 on 3 December in New York (04:30 UTC on the 4th), online, and 10:00 on
        # the 4th in store
        campaign = await make_campaign(database, tenant, discount_value=10)
        late, morning, before = await make_codes(database, tenant, campaign, 3)
        await redeem_at(
            database, tenant, late, "40.00", Channel.ONLINE, datetime(2026, 12, 4, 4, 30, tzinfo=UTC)
        )
        await redeem_at(
            database, tenant, morning, "25.50", Channel.IN_STORE, datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
        )
        # and 23:59 on 30 November local, outside the range asked for
        await redeem_at(
            database, tenant, before, "99.00", Channel.ONLINE, datetime(2026, 12, 1, 4, 59, tzinfo=UTC)
        )
        # when the days 1 to 5 December are read
        async with unit_of_work(database) as session:
            series = await daily.daily_redemptions(
                session, tenant.principal, campaign.id, first=date(2026, 12, 1), last=date(2026, 12, 5)
            )
        # then the late one is on the 3rd, the morning one on the 4th, in their channels
        found = {
            day.day.day: (day.online, day.in_store, day.revenue_online, day.revenue_in_store)
            for day in series.days
        }
        assert found == {
            1: (0, 0, 0, 0),
            2: (0, 0, 0, 0),
            3: (1, 0, 4000, 0),
            4: (0, 1, 0, 2550),
            5: (0, 0, 0, 0),
        }
        assert series.days[2].discount_given == 400
        # and the page shows the same in its table and its chart data
        page = await manager.get(
            f"/dashboard/campaigns/{campaign.id}", params={"from": "2026-12-01", "to": "2026-12-05"}
        )
        assert page.status_code == 200
        assert day_row(page.text, "2026-12-03") == ["1", "0", "$40.00", "$0.00", "$4.00"]
        # and with no code handed out, the use rate says it counts the codes made
        assert "codes used of those made" in page.text
        assert day_row(page.text, "2026-12-04") == ["0", "1", "$0.00", "$25.50", "$2.55"]
        data_block = re.search(
            r'<script type="application/json" id="daily-data">(.*?)</script>', page.text, re.S
        )
        assert data_block is not None
        data = json.loads(data_block.group(1))
        assert data["days"] == [f"2026-12-0{d}" for d in range(1, 6)]
        assert data["online"] == [0, 0, 1, 0, 0]
        assert data["in_store"] == [0, 0, 0, 1, 0]
        assert data["revenue_in_store"] == ["0.00", "0.00", "0.00", "25.50", "0.00"]

    async def test_the_default_is_the_last_30_local_days(self, database: Database, tenant: Tenant) -> None:
        campaign = await make_campaign(database, tenant)
        with clock.frozen(datetime(2026, 12, 10, 3, 0, tzinfo=UTC)):  # still the 9th in New York
            async with unit_of_work(database) as session:
                series = await daily.daily_redemptions(session, tenant.principal, campaign.id)
        assert (series.first, series.last, len(series.days)) == (date(2026, 11, 10), date(2026, 12, 9), 30)

    async def test_a_bad_range_says_so_beside_its_field(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        url = f"/dashboard/campaigns/{campaign.id}"
        bad = await manager.get(url, params={"from": "yesterday"})
        assert bad.status_code == 422
        assert 'id="from-error">Give a date as YYYY-MM-DD.' in bad.text
        backwards = await manager.get(url, params={"from": "2026-12-05", "to": "2026-12-01"})
        assert backwards.status_code == 422
        assert "The first day must not be after the last." in backwards.text
        too_long = await manager.get(url, params={"from": "2024-01-01", "to": "2026-12-01"})
        assert too_long.status_code == 422
        assert "Pick at most 366 days." in too_long.text


class TestLists:
    async def test_hand_outs_are_searched_by_code_or_email_and_paged_by_cursor(
        self, manager: httpx.AsyncClient, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        uploaded = await api.post(
            f"/api/integrations/campaigns/{campaign.id}/recipients",
            json={"recipients": [{"email": f"r{i}@example.com", "forename": XSS} for i in range(30)]},
            headers=tenant.headers,
        )
        assert uploaded.status_code == 201
        codes = [row["voucher_code"] for row in uploaded.json()["recipients"]]
        url = f"/dashboard/campaigns/{campaign.id}"
        first = await manager.get(url)
        assert first.status_code == 200
        history = re.search(r'<table id="history-table"[^>]*>(.*?)</table>', first.text, re.S)
        assert history is not None
        assert history.group(1).count("<tr>") == 26  # the header and 25
        assert "<script>alert(1)" not in first.text
        assert "<img src=x" not in first.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x" in first.text
        following = re.search(r'<a href="([^"]+)" rel="next">Next', first.text)
        assert following is not None
        second = await manager.get(unescape(following.group(1)))
        rest = re.search(r'<table id="history-table"[^>]*>(.*?)</table>', second.text, re.S)
        assert rest is not None
        assert rest.group(1).count("<tr>") == 6
        assert "← First page" in second.text
        by_code = await manager.get(url, params={"history_search": codes[7].lower()})
        found = re.search(r'<table id="history-table"[^>]*>(.*?)</table>', by_code.text, re.S)
        assert found is not None
        assert found.group(1).count("<tr>") == 2
        assert codes[7] in found.group(1)
        by_email = await manager.get(url, params={"history_search": "R12@Example.com"})
        found = re.search(r'<table id="history-table"[^>]*>(.*?)</table>', by_email.text, re.S)
        assert found is not None
        assert found.group(1).count("<tr>") == 2
        assert "r12@example.com" in found.group(1)
        nobody = await manager.get(url, params={"history_search": "nobody@example.com"})
        assert "No hand-out of “nobody@example.com”." in nobody.text

    async def test_codes_are_searched_by_code_and_paged_by_cursor(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        codes = await make_codes(database, tenant, campaign, 27)
        await redeem_at(database, tenant, codes[0], "10.00", Channel.ONLINE, clock.now())
        url = f"/dashboard/campaigns/{campaign.id}"
        first = await manager.get(url)
        table = re.search(r'<table id="codes-table"[^>]*>(.*?)</table>', first.text, re.S)
        assert table is not None
        assert table.group(1).count("<tr>") == 26
        following = re.findall(r'<a href="([^"]+)" rel="next">Next', first.text)
        assert len(following) == 1  # the hand-outs list is empty: only the codes page on
        second = await manager.get(unescape(following[0]))
        table = re.search(r'<table id="codes-table"[^>]*>(.*?)</table>', second.text, re.S)
        assert table is not None
        assert table.group(1).count("<tr>") == 3
        one = await manager.get(url, params={"code": f" {codes[0].lower()} "})
        table = re.search(r'<table id="codes-table"[^>]*>(.*?)</table>', one.text, re.S)
        assert table is not None
        assert table.group(1).count("<tr>") == 2
        assert "Used up" in table.group(1)
        assert "1 of 1" in table.group(1)
        none = await manager.get(url, params={"code": "NOPE"})
        assert "No code “NOPE” in this campaign." in none.text


class TestUpload:
    async def test_every_bad_line_is_shown_and_nothing_is_saved(
        self, manager: httpx.AsyncClient, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        text = (
            "email,forename,surname\n"
            "ann@example.com,Ann,Smith\n"
            "not-an-email,Bob,Jones\n"
            "\n"
            f',"{XSS.replace(chr(34), chr(34) * 2)}",Nobody\n'
            "carl@example.com,Carl\n"
            '"dee@example.com","Dee\nMulti",Line\n'
            f"eve@example.com,{'E' * 101},Long\n"
        )
        page = await upload_csv(manager, campaign.id, text)
        assert page.status_code == 422, page.text
        problems = re.search(r'<table id="problems-table"[^>]*>(.*?)</table>', page.text, re.S)
        assert problems is not None
        rows = re.findall(
            r'<tr><th scope="row">(\d+)</th><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td></tr>',
            problems.group(1),
        )
        assert [(int(line), column) for line, column, _ in rows] == [
            (3, "Email"),
            (5, "Email"),
            (6, "The whole line"),
            (9, "First name"),
        ]
        assert rows[1][2] == "needs an email or a mobile"
        assert rows[2][2] == "has 2 values where the header has 3"
        assert rows[3][2] == "is longer than 100 characters"
        assert "4 problems to fix first" in page.text
        assert 'value="import"' not in page.text  # no import button
        assert "<script>alert(1)" not in page.text
        assert "<img src=x" not in page.text
        # nothing was saved
        figures = await stats(api, tenant, campaign.id)
        assert (figures["issued"], figures["recipients"], figures["published"]) == (0, 0, 0)
        # and forcing the import of the same file imports nothing either
        forced = await manager.post(
            f"/dashboard/campaigns/{campaign.id}/recipients/upload",
            data={**staged_form(page.text), "step": "import"},
        )
        assert forced.status_code == 422
        assert "4 problems to fix first" in forced.text
        figures = await stats(api, tenant, campaign.id)
        assert (figures["issued"], figures["recipients"]) == (0, 0)

    async def test_a_clean_file_is_checked_then_imported_with_its_columns_mapped(
        self, manager: httpx.AsyncClient, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant, name="Spring")
        # a semicolon file from a spreadsheet, with a BOM and headers of its own
        text = (
            "\ufeffE-mail;Vorname;Kundennummer;Notes\r\n"
            "ann@example.com;Ann;K-1;vip\r\nbo@example.com;Bo;K-2;\r\n"
        )
        page = await upload_csv(manager, campaign.id, text)
        assert page.status_code == 200, page.text
        assert 'id="ready"' in page.text
        assert "Every row is fine: 2 recipients." in page.text
        form = staged_form(page.text)
        assert (form["column-0"], form["column-1"], form["column-2"], form["column-3"]) == (
            "email",
            "",
            "",
            "",
        )
        # when the person sets the other columns and checks again
        form.update({"column-1": "forename", "column-2": "external_id", "step": "check"})
        again = await manager.post(f"/dashboard/campaigns/{campaign.id}/recipients/upload", data=form)
        assert again.status_code == 200
        form = {**staged_form(again.text), "step": "import"}
        assert form["column-2"] == "external_id"
        done = await manager.post(f"/dashboard/campaigns/{campaign.id}/recipients/upload", data=form)
        assert done.status_code == 200, done.text
        assert "list.csv: 2 new recipients with a code each." in done.text
        figures = await stats(api, tenant, campaign.id)
        assert (figures["issued"], figures["recipients"], figures["published"]) == (2, 2, 2)
        exported = await post(manager, f"/dashboard/campaigns/{campaign.id}/recipients/export")
        assert "ann@example.com,Ann," in exported.text
        assert ",K-1," in exported.text
        # a second import of the same file makes nothing new
        again = await manager.post(f"/dashboard/campaigns/{campaign.id}/recipients/upload", data=form)
        assert "0 new recipients with a code each; 2 already in the campaign kept their code." in again.text
        assert (await stats(api, tenant, campaign.id))["issued"] == 2

    async def test_a_mapping_without_email_or_mobile_or_twice_the_same_field_is_refused(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        page = await upload_csv(manager, campaign.id, "email,other\nann@example.com,x\n")
        url = f"/dashboard/campaigns/{campaign.id}/recipients/upload"
        form = staged_form(page.text)
        twice = await manager.post(url, data={**form, "column-1": "email", "step": "import"})
        assert twice.status_code == 422
        assert 'id="column-1-error">Two columns are set to Email' in twice.text
        neither = await manager.post(url, data={**form, "column-0": "", "step": "import"})
        assert neither.status_code == 422
        assert "Set one column to Email or Mobile" in neither.text

    async def test_a_file_that_is_no_csv_or_a_forged_staged_file_is_refused(
        self, manager: httpx.AsyncClient, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        url = f"/dashboard/campaigns/{campaign.id}/recipients/upload"
        form = await manager.get(url)
        latin = await manager.post(
            url,
            data={"csrf_token": csrf_of(form.text), "step": "check"},
            files={
                "file": ("list.csv", "email,forename\ncafé@example.com,Zoë\n".encode("latin-1"), "text/csv")
            },
        )
        assert latin.status_code == 422
        assert 'id="file-error">The file is not UTF-8 text' in latin.text
        empty = await upload_csv(manager, campaign.id, "email\n")
        assert empty.status_code == 422
        assert "The file has a header but no recipients." in empty.text
        page = await upload_csv(manager, campaign.id, "email\nann@example.com\n")
        forged = staged_form(page.text)
        forged["staged"] = forged["staged"][:-3] + "abc"
        refused = await manager.post(url, data={**forged, "step": "import"})
        assert refused.status_code == 422
        assert "This file has expired: choose it again." in refused.text
        assert (await stats(api, tenant, campaign.id))["recipients"] == 0

    async def test_a_staged_file_is_good_only_for_its_campaign(
        self, manager: httpx.AsyncClient, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant, name="One")
        other = await make_campaign(database, tenant, name="Two")
        page = await upload_csv(manager, campaign.id, "email\nann@example.com\n")
        moved = await manager.post(
            f"/dashboard/campaigns/{other.id}/recipients/upload",
            data={**staged_form(page.text), "step": "import"},
        )
        assert moved.status_code == 422
        assert (await stats(api, tenant, other.id))["recipients"] == 0


class TestAccess:
    @pytest.mark.parametrize("path", ["", "/recipients/upload"], ids=["page", "upload"])
    async def test_a_counter_login_is_refused_and_managers_and_owners_get_in(
        self,
        clerk: httpx.AsyncClient,
        manager: httpx.AsyncClient,
        owner: httpx.AsyncClient,
        database: Database,
        tenant: Tenant,
        path: str,
    ) -> None:
        campaign = await make_campaign(database, tenant)
        url = f"/dashboard/campaigns/{campaign.id}{path}"
        refused = await clerk.get(url)
        assert refused.status_code == 403
        assert "A staff login may not use the dashboard" in refused.text
        assert (await manager.get(url)).status_code == 200
        assert (await owner.get(url)).status_code == 200

    async def test_a_counter_login_cannot_upload(
        self, clerk: httpx.AsyncClient, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        refused = await post(
            clerk,
            f"/dashboard/campaigns/{campaign.id}/recipients/upload",
            {"step": "check"},
            form_page="/staff/",
            files={"file": ("list.csv", b"email\nann@example.com\n", "text/csv")},
        )
        assert refused.status_code == 403
        assert (await stats(api, tenant, campaign.id))["recipients"] == 0

    async def test_an_upload_without_its_token_changes_nothing(
        self, manager: httpx.AsyncClient, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        url = f"/dashboard/campaigns/{campaign.id}/recipients/upload"
        page = await upload_csv(manager, campaign.id, "email\nann@example.com\n")
        form = {**staged_form(page.text), "step": "import", "csrf_token": "forged"}
        refused = await manager.post(url, data=form)
        assert refused.status_code == 403
        assert "This form has expired" in refused.text
        assert (await stats(api, tenant, campaign.id))["recipients"] == 0

    async def test_the_campaign_name_is_escaped_and_the_page_links_the_campaign_actions(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant, name=XSS)
        page = await manager.get(f"/dashboard/campaigns/{campaign.id}")
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "unsafe-inline" not in page.headers["content-security-policy"]
        assert re.search(r"<script>(?!</script>)", page.text) is None  # no inline script
        for link in ("/edit", "/generate", "/recipients/upload"):
            assert f'href="/dashboard/campaigns/{campaign.id}{link}"' in page.text
        for action in ("/pause", "/recipients/export"):
            assert f'action="/dashboard/campaigns/{campaign.id}{action}"' in page.text
        assert 'href="/dashboard/campaigns"' in page.text
        upload = await manager.get(f"/dashboard/campaigns/{campaign.id}/recipients/upload")
        assert "<script>alert(1)" not in upload.text

    async def test_the_export_downloads_the_apis_csv(
        self, manager: httpx.AsyncClient, api: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        uploaded = await api.post(
            f"/api/integrations/campaigns/{campaign.id}/recipients",
            json={"recipients": [{"email": "ann@example.com", "forename": "=HYPERLINK(1)"}]},
            headers=tenant.headers,
        )
        code = uploaded.json()["recipients"][0]["voucher_code"]
        # a link elsewhere cannot make the export (it publishes the codes): the form's token is needed
        forged = await manager.post(f"/dashboard/campaigns/{campaign.id}/recipients/export")
        assert forged.status_code == 403
        assert (await manager.get(f"/dashboard/campaigns/{campaign.id}/recipients/export")).status_code == 405
        async with unit_of_work(database, write=False) as session:
            exports = select(func.count()).select_from(Publication).where(Publication.channel == "export")
            assert await session.scalar(exports) == 0
        mine = await post(
            manager,
            f"/dashboard/campaigns/{campaign.id}/recipients/export",
            form_page=f"/dashboard/campaigns/{campaign.id}",
        )
        assert mine.status_code == 200
        assert mine.headers["content-type"] == "text/csv; charset=utf-8"
        assert mine.headers["content-disposition"] == f'attachment; filename="recipients-{campaign.id}.csv"'
        theirs = await api.get(
            f"/api/integrations/campaigns/{campaign.id}/recipients/export", headers=tenant.headers
        )
        assert mine.text.splitlines()[0] == theirs.text.splitlines()[0]
        assert mine.text.splitlines()[0].startswith("email,forename,voucher_code,redemption_url,redeemed")
        assert f"ann@example.com,'=HYPERLINK(1),{code}," in mine.text
