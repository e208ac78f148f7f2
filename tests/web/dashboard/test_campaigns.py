"""The dashboard's campaigns (both databases): the list with its searches, the create and edit
forms (every discount type, the code pattern check, validity typed in the client's timezone),
pause and resume, code generation as a background job with its progress, the background tasks,
the role matrix, CSRF and escaping."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign
from tests.web.dashboard.conftest import post
from voucherd.campaigns.rules import CampaignStatus, DiscountType
from voucherd.db import Database, unit_of_work
from voucherd.jobs.runner import run_until_idle
from voucherd.models import Campaign, Job, Voucher
from voucherd.vouchers import service as vouchers

XSS = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
FORM = {
    "name": "Spring sale",
    "discount_type": "percentage",
    "discount_value": "20",
    "uses_per_voucher": "1",
    "status": "active",
}


async def campaigns_in(database: Database) -> list[Campaign]:
    async with unit_of_work(database) as session:
        return list((await session.scalars(select(Campaign).order_by(Campaign.created_at))).all())


async def created(client: httpx.AsyncClient, database: Database, **values: str) -> Campaign:
    done = await post(
        client, "/dashboard/campaigns/new", {**FORM, **values}, form_page="/dashboard/campaigns/new"
    )
    assert done.status_code == 303, done.text
    campaign_id = done.headers["location"].rsplit("/", 1)[1]
    async with unit_of_work(database) as session:
        found = await session.get(Campaign, uuid.UUID(campaign_id))
        assert found is not None
        return found


class TestList:
    async def test_it_shows_each_campaign_with_its_offer_validity_figures_and_state(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        # given three campaigns: running, paused, and over
        running = await make_campaign(database, tenant, name="Lunch", discount_value=10, minimum_spend=50)
        await make_campaign(database, tenant, name="Quiet", status=CampaignStatus.PAUSED)
        await make_campaign(
            database,
            tenant,
            name="Last year",
            discount_type=DiscountType.FIXED,
            discount_value=5,
            valid_until=datetime(2025, 1, 31, 22, 0, tzinfo=UTC),
        )
        async with unit_of_work(database) as session:
            await vouchers.generate_vouchers(session, tenant.principal, running.id, count=3)
        # when
        page = await manager.get("/dashboard/campaigns")
        # then
        assert page.status_code == 200
        html = page.text
        assert 'href="/dashboard/campaigns/new"' in html
        assert f'href="/dashboard/campaigns/{running.id}"' in html
        assert "10% off your order, on orders of £50 or more" in html
        assert "Until 31 January 2025, 22:00" in html  # London is UTC in winter
        row = html[html.index(f"/dashboard/campaigns/{running.id}") :].split("</tr>")[0]
        codes = (
            r'<td data-label="Codes" class="number">3</td>\s*<td data-label="Redeemed" class="number">0</td>'
        )
        assert re.search(codes, row)
        assert "Active" in row
        assert "Paused" in html
        assert "Ended" in html

    async def test_it_searches_by_name_and_pages(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        for number in range(27):
            await make_campaign(database, tenant, name=f"Spring {number}")
        await make_campaign(database, tenant, name="Winter 100%_off")
        first = await manager.get("/dashboard/campaigns", params={"q": "spring"})
        assert "Winter" not in first.text
        assert "Page 1 of 2 (27)" in first.text
        assert 'href="/dashboard/campaigns?q=spring&amp;page=2"' in first.text
        second = await manager.get("/dashboard/campaigns", params={"q": "spring", "page": "2"})
        assert second.text.count("<tr>") == 1 + 2
        literal = await manager.get("/dashboard/campaigns", params={"q": "0%_"})
        assert "Winter 100%_off" in literal.text
        assert "Spring" not in literal.text
        none = await manager.get("/dashboard/campaigns", params={"q": "autumn"})
        assert "No campaign's name contains “autumn”" in none.text

    async def test_a_code_search_links_to_its_campaign_or_says_none_has_it(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant, name="Lunch")
        async with unit_of_work(database) as session:
            made = await vouchers.generate_vouchers(session, tenant.principal, campaign.id, count=1)
        code = (made.codes or [""])[0]
        found = await manager.get("/dashboard/campaigns", params={"code": f" {code.lower()} "})
        assert f'belongs to <a href="/dashboard/campaigns/{campaign.id}">Lunch</a>' in found.text
        missing = await manager.get("/dashboard/campaigns", params={"code": "NOPE-<b>"})
        assert "No voucher has the code" in missing.text
        assert "NOPE-&lt;b&gt;" in missing.text

    async def test_another_clients_campaigns_and_codes_stay_hidden(
        self, manager: httpx.AsyncClient, database: Database, other_tenant: Tenant
    ) -> None:
        theirs = await make_campaign(database, other_tenant, name="Theirs")
        async with unit_of_work(database) as session:
            made = await vouchers.generate_vouchers(session, other_tenant.principal, theirs.id, count=1)
        assert "Theirs" not in (await manager.get("/dashboard/campaigns")).text
        found = await manager.get("/dashboard/campaigns", params={"code": (made.codes or [""])[0]})
        assert "No voucher has the code" in found.text
        assert (await manager.get(f"/dashboard/campaigns/{theirs.id}/edit")).status_code == 404
        refused = await post(manager, f"/dashboard/campaigns/{theirs.id}/pause")
        assert refused.status_code == 404


class TestCreate:
    async def test_the_form_says_which_timezone_its_times_are_in(self, owner: httpx.AsyncClient) -> None:
        form = await owner.get("/dashboard/campaigns/new")
        assert form.status_code == 200
        assert "Times are in your business's timezone, <strong>Europe/London</strong>" in form.text
        assert 'type="datetime-local"' in form.text
        for name in ("name", "discount_type", "discount_value", "minimum_spend", "valid_from", "valid_until"):
            assert f'<label for="{name}">' in form.text
        for name in ("uses_per_voucher", "uses_per_customer", "code_pattern", "landing_slug", "terms"):
            assert f'<label for="{name}">' in form.text

    async def test_a_percentage_campaign_with_every_option(
        self, owner: httpx.AsyncClient, database: Database
    ) -> None:
        campaign = await created(
            owner,
            database,
            name="Summer",
            discount_value="12.5",
            minimum_spend="30",
            valid_from="2026-07-01T09:00",
            valid_until="2026-07-31T18:30",
            uses_per_voucher="2",
            uses_per_customer="1",
            require_customer="on",
            code_pattern="sum26-########",
            code_charset="0123456789ABCDEFGHJKMNPQRSTUVWXYZ",
            planned_codes="1000",
            status="paused",
            auto_update="on",
            landing_slug="Summer-Deal",
            terms="One per table.",
        )
        assert campaign.discount_type == "percentage"
        assert campaign.discount_value == 1250
        assert campaign.discount_description == "12.5% off your order"
        assert campaign.minimum_spend == 3000
        # typed in London's summer time (UTC+1): stored as the same instants in UTC
        assert campaign.valid_from == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
        assert campaign.valid_until == datetime(2026, 7, 31, 17, 30, tzinfo=UTC)
        assert (campaign.uses_per_voucher, campaign.uses_per_customer, campaign.require_customer) == (
            2,
            1,
            True,
        )
        assert (campaign.code_pattern, campaign.code_charset) == (
            "SUM26-########",
            "0123456789ABCDEFGHJKMNPQRSTUVWXYZ",
        )
        assert (campaign.status, campaign.auto_update) == ("paused", True)
        assert (campaign.landing_slug, campaign.terms) == ("summer-deal", "One per table.")

    async def test_a_fixed_amount_and_a_free_item(self, owner: httpx.AsyncClient, database: Database) -> None:
        fixed = await created(owner, database, name="Tenner", discount_type="fixed", discount_value="10")
        assert (fixed.discount_type, fixed.discount_value, fixed.discount_description) == (
            "fixed",
            1000,
            "£10 off your order",
        )
        assert (fixed.code_pattern, fixed.valid_from, fixed.valid_until) == ("########", None, None)
        free = await created(
            owner,
            database,
            name="Dessert",
            discount_type="free_item",
            discount_value="",
            discount_description="Free dessert with any main course",
        )
        assert (free.discount_type, free.discount_value) == ("free_item", 0)
        assert free.discount_description == "Free dessert with any main course"

    async def test_a_pattern_too_small_for_the_planned_codes_shows_its_room_and_saves_nothing(
        self, owner: httpx.AsyncClient, database: Database
    ) -> None:
        refused = await post(
            owner,
            "/dashboard/campaigns/new",
            {**FORM, "code_pattern": "TINY-#####", "planned_codes": "500"},
        )
        assert refused.status_code == 422
        assert 'id="code_pattern-error"' in refused.text
        assert "The pattern allows up to 27 codes; 500 do not fit." in refused.text
        assert 'value="TINY-#####"' in refused.text  # what was typed stays
        assert await campaigns_in(database) == []

    async def test_check_pattern_answers_without_saving(
        self, owner: httpx.AsyncClient, database: Database
    ) -> None:
        fits = await post(
            owner,
            "/dashboard/campaigns/new",
            {**FORM, "code_pattern": "JAN-######", "planned_codes": "1000", "check": "1"},
        )
        assert fits.status_code == 200
        assert "The pattern JAN-###### allows up to 846 codes. 1,000 do not fit" in fits.text
        assert 'class="notice room refused"' in fits.text
        wide = await owner.get(
            "/dashboard/campaigns/new/pattern",
            params={"code_pattern": "JAN-########", "planned_codes": "1000"},
        )
        assert wide.json() == {
            "ok": True,
            "capacity": 813_380,
            "wanted": 1000,
            "message": "The pattern JAN-######## allows up to 813,380 codes. 1,000 fit.",
        }
        broken = await owner.get("/dashboard/campaigns/new/pattern", params={"code_pattern": "NO-HASH"})
        assert broken.json()["ok"] is False
        assert "needs at least one '#'" in broken.json()["message"]
        assert await campaigns_in(database) == []

    @pytest.mark.parametrize(
        ("values", "field", "message"),
        [
            ({"name": " "}, "name", "name must be 1 to 200 characters."),
            ({"discount_value": "lots"}, "discount_value", "The discount must be a number"),
            ({"discount_value": "120"}, "discount_value", "The discount must be"),
            ({"discount_type": "fixed", "discount_value": ""}, "discount_value", "The discount is required"),
            ({"discount_type": "free_item"}, "discount_description", "needs a discount_description"),
            (
                {"valid_from": "2026-08-01T10:00", "valid_until": "2026-07-01T10:00"},
                "valid_until",
                "must be after",
            ),
            ({"valid_from": "soon"}, "valid_from", "Give a date and time"),
            ({"uses_per_voucher": "0"}, "uses_per_voucher", "Uses per code must be between 1"),
            ({"require_customer": "on"}, "require_customer", "needs a uses_per_customer limit"),
            ({"code_pattern": "NO-HASH"}, "code_pattern", "The code pattern needs at least one &#39;#&#39;"),
            ({"landing_slug": "no spaces"}, "landing_slug", "may contain only a-z"),
        ],
    )
    async def test_a_wrong_field_shows_its_message_and_saves_nothing(
        self, owner: httpx.AsyncClient, database: Database, values: dict[str, str], field: str, message: str
    ) -> None:
        refused = await post(owner, "/dashboard/campaigns/new", {**FORM, **values})
        assert refused.status_code == 422
        assert f'id="{field}-error"' in refused.text
        assert f'aria-describedby="{field}-error"' in refused.text
        assert message in refused.text
        assert await campaigns_in(database) == []

    async def test_a_landing_address_another_campaign_has_is_refused_beside_it(
        self, owner: httpx.AsyncClient, database: Database
    ) -> None:
        await created(owner, database, name="First", landing_slug="deal")
        refused = await post(
            owner, "/dashboard/campaigns/new", {**FORM, "name": "Second", "landing_slug": "deal"}
        )
        assert refused.status_code == 422
        assert 'id="landing_slug-error"' in refused.text
        assert [c.name for c in await campaigns_in(database)] == ["First"]


class TestEdit:
    async def test_it_shows_the_campaign_and_saves_the_changes(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(
            database, tenant, name="Lunch", valid_until=datetime(2026, 7, 31, 22, 59, 59, tzinfo=UTC)
        )
        form = await manager.get(f"/dashboard/campaigns/{campaign.id}/edit")
        assert form.status_code == 200
        assert 'value="Lunch"' in form.text
        assert 'value="2026-07-31T23:59"' in form.text  # 22:59:59 UTC is 23:59:59 in London's summer
        values = {
            **FORM,
            "name": "Lunch deal",
            "discount_type": "fixed",
            "discount_value": "7.50",
            "valid_from": "2026-07-01T12:00",
            "valid_until": "2026-07-31T23:59",
            "uses_per_voucher": "3",
            "terms": "Weekdays only.",
        }
        done = await post(
            manager, f"/dashboard/campaigns/{campaign.id}/edit", values, form_page=str(form.url)
        )
        assert done.status_code == 303
        assert done.headers["location"] == f"/dashboard/campaigns/{campaign.id}"
        [saved] = await campaigns_in(database)
        assert (saved.name, saved.discount_type, saved.discount_value) == ("Lunch deal", "fixed", 750)
        assert saved.discount_description == "£7.50 off your order"
        assert saved.valid_from == datetime(2026, 7, 1, 11, 0, tzinfo=UTC)
        assert saved.valid_until == datetime(2026, 7, 31, 22, 59, 59, tzinfo=UTC)  # untouched, not rounded
        assert (saved.uses_per_voucher, saved.terms) == (3, "Weekdays only.")

    async def test_a_wrong_change_shows_its_message_and_changes_nothing(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant, name="Lunch")
        refused = await post(
            manager,
            f"/dashboard/campaigns/{campaign.id}/edit",
            {**FORM, "name": "Renamed", "discount_value": "0"},
        )
        assert refused.status_code == 422
        assert 'id="discount_value-error"' in refused.text
        [kept] = await campaigns_in(database)
        assert (kept.name, kept.discount_value) == ("Lunch", 2000)


class TestPause:
    async def test_pause_and_resume_set_the_apis_status(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant)
        paused = await post(manager, f"/dashboard/campaigns/{campaign.id}/pause")
        assert paused.status_code == 303
        assert paused.headers["location"] == f"/dashboard/campaigns/{campaign.id}"
        assert [c.status for c in await campaigns_in(database)] == ["paused"]
        resumed = await post(manager, f"/dashboard/campaigns/{campaign.id}/resume")
        assert resumed.status_code == 303
        assert [c.status for c in await campaigns_in(database)] == ["active"]


class TestGenerate:
    async def test_codes_are_made_by_the_job_and_its_progress_says_done(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant, name="Lunch")
        form = await manager.get(f"/dashboard/campaigns/{campaign.id}/generate")
        assert form.status_code == 200
        started = await post(
            manager, f"/dashboard/campaigns/{campaign.id}/generate", {"count": "250"}, form_page=str(form.url)
        )
        assert started.status_code == 303
        task_url = started.headers["location"]
        assert task_url.startswith("/dashboard/tasks/")
        waiting = await manager.get(task_url)
        assert '<meta http-equiv="refresh" content="3">' in waiting.text
        assert 'href="' + task_url + '">Refresh</a>' in waiting.text
        assert (await manager.get(f"{task_url}.json")).json()["done"] is False
        # when the worker runs it
        assert await run_until_idle(database) == 1
        # then
        progress = (await manager.get(f"{task_url}.json")).json()
        assert progress == {
            "id": task_url.rsplit("/", 1)[1],
            "status": "succeeded",
            "state": "Done",
            "done": True,
            "progress": 250,
            "total": 250,
            "percent": 100,
            "message": "Done: 250 codes made.",
        }
        page = await manager.get(task_url)
        assert '<progress id="task-progress" max="250" value="250">' in page.text
        assert "http-equiv" not in page.text
        assert f'href="/dashboard/campaigns/{campaign.id}">Back to Lunch</a>' in page.text
        async with unit_of_work(database) as session:
            assert await session.scalar(select(func.count()).select_from(Voucher)) == 250
        tasks = await manager.get("/dashboard/tasks")
        assert "Making 250 codes" in tasks.text
        assert "Done" in tasks.text
        assert f'href="{task_url}"' in tasks.text

    async def test_more_codes_than_the_pattern_holds_are_refused_before_any_job(
        self, manager: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant, length=4)
        refused = await post(manager, f"/dashboard/campaigns/{campaign.id}/generate", {"count": "100"})
        assert refused.status_code == 422
        assert 'id="count-error"' in refused.text
        assert "The pattern allows up to 0 codes; 100 do not fit." in refused.text
        wrong = await post(manager, f"/dashboard/campaigns/{campaign.id}/generate", {"count": "many"})
        assert wrong.status_code == 422
        async with unit_of_work(database) as session:
            assert await session.scalar(select(func.count()).select_from(Job)) == 0

    async def test_another_clients_task_is_not_found(
        self, manager: httpx.AsyncClient, database: Database, other_tenant: Tenant
    ) -> None:
        theirs = await make_campaign(database, other_tenant)
        async with unit_of_work(database) as session:
            job = await vouchers.enqueue_codes(session, other_tenant.principal, theirs, count=5)
        assert (await manager.get(f"/dashboard/tasks/{job.id}")).status_code == 404
        assert (await manager.get(f"/dashboard/tasks/{job.id}.json")).status_code == 404
        assert "Making 5 codes" not in (await manager.get("/dashboard/tasks")).text


class TestGuards:
    PAGES = ("/dashboard/campaigns", "/dashboard/campaigns/new", "/dashboard/tasks")

    async def test_a_counter_login_gets_403_and_managers_and_owners_get_in(
        self,
        clerk: httpx.AsyncClient,
        manager: httpx.AsyncClient,
        owner: httpx.AsyncClient,
        database: Database,
        tenant: Tenant,
    ) -> None:
        campaign = await make_campaign(database, tenant)
        pages = (
            *self.PAGES,
            f"/dashboard/campaigns/{campaign.id}/edit",
            f"/dashboard/campaigns/{campaign.id}/generate",
        )
        for url in pages:
            assert (await clerk.get(url)).status_code == 403, url
            assert (await manager.get(url)).status_code == 200, url
            assert (await owner.get(url)).status_code == 200, url
        async with unit_of_work(database) as session:
            job = await vouchers.enqueue_codes(session, tenant.principal, campaign, count=5)
        for url in (
            f"/dashboard/tasks/{job.id}",
            f"/dashboard/tasks/{job.id}.json",
            "/dashboard/campaigns/new/pattern",
        ):
            assert (await clerk.get(url)).status_code == 403, url
            assert (await manager.get(url)).status_code == 200, url
        for url in (
            "/dashboard/campaigns/new",
            f"/dashboard/campaigns/{campaign.id}/pause",
            f"/dashboard/campaigns/{campaign.id}/edit",
            f"/dashboard/campaigns/{campaign.id}/generate",
        ):
            refused = await post(clerk, url, {**FORM, "count": "5"}, form_page="/staff/")
            assert refused.status_code == 403, url
            assert "A staff login may not use the dashboard" in refused.text
        assert [(c.name, c.status) for c in await campaigns_in(database)] == [("Summer Sale", "active")]
        async with unit_of_work(database) as session:
            assert await session.scalar(select(func.count()).select_from(Job)) == 1  # the one made above

    async def test_forms_without_their_token_change_nothing(
        self, owner: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await make_campaign(database, tenant, name="Lunch")
        for url, data in (
            ("/dashboard/campaigns/new", FORM),
            (f"/dashboard/campaigns/{campaign.id}/edit", {**FORM, "name": "Changed"}),
            (f"/dashboard/campaigns/{campaign.id}/pause", {}),
            (f"/dashboard/campaigns/{campaign.id}/generate", {"count": "5"}),
        ):
            refused = await owner.post(url, data={**data, "csrf_token": "forged"})
            assert refused.status_code == 403, url
            assert "This form has expired" in refused.text
        [kept] = await campaigns_in(database)
        assert (kept.name, kept.status) == ("Lunch", "active")
        async with unit_of_work(database) as session:
            assert await session.scalar(select(func.count()).select_from(Job)) == 0

    async def test_a_campaigns_name_and_terms_are_shown_escaped(
        self, owner: httpx.AsyncClient, database: Database, tenant: Tenant
    ) -> None:
        campaign = await created(owner, database, name=XSS, terms=XSS)
        async with unit_of_work(database) as session:
            job = await vouchers.enqueue_codes(session, tenant.principal, campaign, count=2)
        for url in (
            "/dashboard/campaigns",
            f"/dashboard/campaigns/{campaign.id}/edit",
            f"/dashboard/campaigns/{campaign.id}/generate",
            "/dashboard/tasks",
            f"/dashboard/tasks/{job.id}",
        ):
            html = (await owner.get(url)).text
            assert "<script>alert(1)" not in html, url
            assert "<img src=x" not in html, url
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
        refused = await post(owner, "/dashboard/campaigns/new", {**FORM, "name": XSS, "discount_value": XSS})
        assert refused.status_code == 422
        assert "<img src=x" not in refused.text
