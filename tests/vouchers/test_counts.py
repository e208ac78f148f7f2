"""How many codes a campaign has, and how many vouchers a list matches, from the kept figures:
the same numbers a count of the rows gives, with a generation job half done (its codes are not
counted until it succeeds) and for the lists' filters the figures cannot answer."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from voucherd.db import Database, unit_of_work
from voucherd.models import Campaign, Job, Voucher
from voucherd.vouchers import service as vouchers


async def half_done_job(database: Database, tenant: Tenant, campaign: Campaign, written: int) -> Job:
    """A generation job of 10 codes that wrote ``written`` of them, as one killed mid-run leaves it."""
    async with unit_of_work(database) as session:
        job = await vouchers.enqueue_codes(session, tenant.principal, campaign, count=10)
        stored = await session.get(Campaign, campaign.id)
        assert stored is not None
        await vouchers.issue_codes(session, stored, count=written, job_id=job.id)
        job.status = "running"
    return job


async def test_a_running_jobs_codes_are_not_counted_until_it_succeeds(
    database: Database, tenant: Tenant
) -> None:
    # given a campaign of 3 codes and another of 2, and a job that wrote 4 of its 10 codes
    busy = await make_campaign(database, tenant, name="Busy")
    quiet = await make_campaign(database, tenant, name="Quiet")
    await make_codes(database, tenant, busy, 3)
    await make_codes(database, tenant, quiet, 2)
    job = await half_done_job(database, tenant, busy, 4)
    async with unit_of_work(database) as session:
        # then each campaign counts the codes the checkout sees
        assert await vouchers.count_codes(session, tenant.principal, [busy.id, quiet.id]) == {
            busy.id: 3,
            quiet.id: 2,
        }
        # and so do the lists, by campaign and over all
        one = vouchers.VoucherFilter(campaign_id=busy.id)
        assert (await vouchers.find_vouchers(session, tenant.principal, one, limit=2, offset=0))[1] == 3
        every = vouchers.VoucherFilter()
        assert (await vouchers.find_vouchers(session, tenant.principal, every, limit=2, offset=0))[1] == 5
    # when the job succeeds, its codes count
    async with unit_of_work(database) as session:
        stored = await session.get(Job, job.id)
        assert stored is not None
        stored.status = "succeeded"
    async with unit_of_work(database) as session:
        assert await vouchers.count_codes(session, tenant.principal, [busy.id]) == {busy.id: 7}
        assert (await vouchers.find_vouchers(session, tenant.principal, one, limit=2, offset=0))[1] == 7


async def test_a_filter_the_figures_cannot_answer_is_counted(database: Database, tenant: Tenant) -> None:
    # given two campaigns' codes
    first = await make_campaign(database, tenant, name="First")
    second = await make_campaign(database, tenant, name="Second")
    codes = await make_codes(database, tenant, first, 3)
    await make_codes(database, tenant, second, 2)
    async with unit_of_work(database) as session:
        # then a filter by code, by name or by date counts the rows it matches
        for where, expected in (
            (vouchers.VoucherFilter(code=codes[0]), 1),
            (vouchers.VoucherFilter(campaign_name="Second"), 2),
            (vouchers.VoucherFilter(campaign_id=first.id, code=codes[1]), 1),
        ):
            assert (await vouchers.find_vouchers(session, tenant.principal, where, limit=1, offset=0))[
                1
            ] == expected
        # and the kept total over all equals the rows
        rows = await session.scalar(
            select(func.count()).select_from(Voucher).where(Voucher.client_id == tenant.client_id)
        )
        every = vouchers.VoucherFilter()
        assert (
            (await vouchers.find_vouchers(session, tenant.principal, every, limit=1, offset=0))[1]
            == rows
            == 5
        )
