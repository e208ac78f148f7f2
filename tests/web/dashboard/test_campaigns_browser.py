"""The dashboard's campaigns in Chromium at phone and desktop sizes: an owner creates a campaign
(the code pattern checked as it is typed), asks for codes, and watches the progress bar follow a
real ``voucherd worker`` to done."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign
from tests.web.dashboard.conftest import SIZES, browser_log_in, checked
from tests.web.test_browser import VOUCHERD
from tests.web.test_staff import member
from voucherd.accounts.service import Role
from voucherd.db import Database

pytestmark = pytest.mark.browser


@pytest.fixture
def start_worker(db_url: str, tmp_path: Path) -> Iterator[Any]:
    """Starts a real ``voucherd worker`` over the test database when called (stopped at the end)."""
    started: list[subprocess.Popen[bytes]] = []
    log = (tmp_path / "worker.log").open("wb")

    def start() -> None:
        env = {**os.environ, "VOUCHERD_DATABASE_URL": db_url}
        started.append(subprocess.Popen([*VOUCHERD, "worker"], env=env, stdout=log, stderr=log))

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)
    log.close()


@pytest.mark.parametrize("size", SIZES)
async def test_an_owner_creates_a_campaign_and_watches_its_codes_being_made(
    server: str, browser: Any, database: Database, tenant: Tenant, start_worker: Any, size: str
) -> None:
    who = await member(database, tenant, "olive@example.com", role=Role.OWNER)
    await make_campaign(database, tenant, name="Lunch", discount_value=10, minimum_spend=25)
    page = await browser.new_page(viewport=SIZES[size])
    await browser_log_in(page, server, who.email)

    # the list, and its "New campaign" button
    await page.click("nav.sections >> text=Campaigns")
    await page.wait_for_url(f"{server}/dashboard/campaigns")
    assert await page.locator("nav.sections [aria-current=page]").inner_text() == "Campaigns"
    await page.click("text=New campaign")
    await page.wait_for_url(f"{server}/dashboard/campaigns/new")

    # a form sent empty comes back with its messages beside their fields
    await page.click("button:text('Create campaign')")
    await page.locator("#form-errors").wait_for()
    assert await page.get_attribute("#discount_value", "aria-invalid") == "true"
    await checked(page, f"campaign-form-errors-{size}")

    # the form: the pattern's room is checked as it is typed
    await page.fill("#name", "Spring sale")
    await page.select_option("#discount_type", "fixed")
    await page.fill("#discount_value", "5")
    # the corrected field loses its mark and message before the form is sent again
    assert await page.get_attribute("#discount_value", "aria-invalid") is None
    assert not await page.locator("#discount_value-error").is_visible()
    await page.fill("#valid_until", "2026-12-31T23:30")
    await page.fill("#planned_codes", "2000")
    await page.fill("#code_pattern", "SPR-####")
    room = page.locator("#pattern-room")
    await room.filter(has_text="2,000 do not fit").wait_for()
    assert "refused" in (await room.get_attribute("class") or "")
    await page.fill("#code_pattern", "SPR-########")
    await room.filter(has_text="2,000 fit.").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await checked(page, f"campaign-form-{size}")
    await page.click("button:text('Create campaign')")
    await page.wait_for_url(f"{server}/dashboard/campaigns/*")
    campaign_id = page.url.rsplit("/", 1)[1]

    # codes are asked for; the progress page waits for a worker
    await page.goto(f"{server}/dashboard/campaigns/{campaign_id}/generate")
    await page.fill("#count", "2000")
    await page.click("button:text('Make codes')")
    await page.wait_for_url(f"{server}/dashboard/tasks/*")
    assert await page.locator("#task-message").inner_text() == "Waiting to start."
    assert not await page.locator("#task-refresh").is_visible()  # the script follows it instead
    await checked(page, f"task-waiting-{size}")
    await page.evaluate("window.notReloaded = true")

    # when a worker starts, the bar follows it to done without a reload
    start_worker()
    await page.locator("#task-message").filter(has_text="Done: 2,000 codes made.").wait_for(timeout=60_000)
    assert await page.evaluate("window.notReloaded === true")
    assert await page.eval_on_selector("#task-progress", "bar => [bar.value, bar.max]") == [2000, 2000]
    assert await page.locator("#task-state").inner_text() == "Done"
    await checked(page, f"task-done-{size}")
    await page.click("text=Back to Spring sale")
    await page.wait_for_url(f"{server}/dashboard/campaigns/{campaign_id}")

    # the list shows both campaigns with their codes
    await page.goto(f"{server}/dashboard/campaigns")
    row = page.locator("tr", has_text="Spring sale")
    assert "£5 off your order" in await row.inner_text()
    assert "2,000" in await row.inner_text()
    assert "Until 31 December 2026, 23:30" in await row.inner_text()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await checked(page, f"campaigns-{size}")
    await page.goto(f"{server}/dashboard/tasks")
    await checked(page, f"tasks-{size}")
