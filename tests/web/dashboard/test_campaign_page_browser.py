"""The campaign page in Chromium at phone and desktop sizes: the charts drawn from the page's data
with the numbers of the table under them, and an upload whose bad lines are listed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from tests.web.dashboard.conftest import SIZES, browser_log_in, checked
from tests.web.dashboard.test_campaign_page import redeem_at
from tests.web.test_staff import member
from voucherd.accounts.service import Role
from voucherd.core import clock
from voucherd.db import Database
from voucherd.redemptions.schemas import Channel

pytestmark = pytest.mark.browser

# What the page's script gave Chart.js: each chart's labels and datasets.
CHART_DATA = """() => Object.fromEntries(Object.entries(window.voucherdCharts).map(([name, chart]) =>
  [name, {labels: chart.data.labels, sets: chart.data.datasets.map(set => set.data)}]))"""
# The table under the charts, oldest day first as the charts draw them.
TABLE_DATA = """() => Array.from(document.querySelectorAll('#daily-table tbody tr')).reverse().map(row =>
  [row.dataset.day, ...Array.from(row.querySelectorAll('td')).map(cell => cell.textContent)])"""


@pytest.mark.parametrize("size", SIZES)
async def test_the_charts_show_the_tables_numbers_and_an_upload_lists_its_bad_lines(
    server: str, browser: Any, database: Database, tenant: Tenant, size: str
) -> None:
    who = await member(database, tenant, "olive@example.com", role=Role.OWNER)
    campaign = await make_campaign(database, tenant, name="Winter <b>sale</b>", discount_value=10)
    codes = await make_codes(database, tenant, campaign, 4)
    now = clock.now()
    await redeem_at(database, tenant, codes[0], "40.00", Channel.ONLINE, now - timedelta(days=2))
    await redeem_at(database, tenant, codes[1], "12.50", Channel.IN_STORE, now - timedelta(days=2))
    await redeem_at(database, tenant, codes[2], "30.00", Channel.IN_STORE, now)
    page = await browser.new_page(viewport=SIZES[size])
    await browser_log_in(page, server, who.email)
    await page.goto(f"{server}/dashboard/campaigns/{campaign.id}")
    assert await page.locator("h1").inner_text() == "Winter <b>sale</b> Active"
    await page.wait_for_function("() => window.voucherdCharts && window.voucherdCharts.revenue")
    charts = await page.evaluate(CHART_DATA)
    table = await page.evaluate(TABLE_DATA)
    assert len(table) == 30
    assert charts["uses"]["labels"] == [row[0] for row in table]
    assert charts["uses"]["sets"] == [[int(row[1]) for row in table], [int(row[2]) for row in table]]
    assert charts["revenue"]["sets"] == [
        [float(row[3].lstrip("£")) for row in table],
        [float(row[4].lstrip("£")) for row in table],
    ]
    assert sum(charts["uses"]["sets"][1]) == 2
    assert sum(charts["revenue"]["sets"][0]) == 40
    assert await page.locator("#uses-chart").is_visible()
    assert await page.locator("[data-figure=redeemed] .value").inner_text() == "3"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[size]["width"]
    await checked(page, f"campaign-{size}")

    await page.click("text=Upload recipients")
    await page.set_input_files(
        "#file",
        files=[
            {
                "name": "list.csv",
                "mimeType": "text/csv",
                "buffer": b"email,forename\nann@example.com,Ann\nnot-an-email,<b>Bob</b>\n,Nobody\n",
            }
        ],
    )
    await page.click("text=Check the file")
    await page.wait_for_selector("#problems-table")
    rows = [
        await row.locator("th, td").all_inner_texts()
        for row in await page.locator("#problems-table tbody tr").all()
    ]
    assert [row[:2] for row in rows] == [["3", "Email"], ["4", "Email"]]
    assert "needs an email or a mobile" in rows[1][2]
    assert await page.locator("text=<b>Bob</b>").count() == 1  # the cell, shown as text
    assert await page.locator("button[value=import]").count() == 0
    await checked(page, f"campaign-upload-errors-{size}")
