"""``voucherd worker --jobs`` / ``--webhooks`` as real processes: each runs only its own kind, so
that each scales with its own number of processes (both by default)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign
from tests.fixtures.receiver import running_receiver
from tests.webhooks.conftest import make_endpoint
from tests.webhooks.test_workers import WORKER, add_events, count_deliveries, stop, worker_env
from voucherd.db import Database, unit_of_work
from voucherd.models import Job, Voucher
from voucherd.vouchers import service as vouchers

pytestmark = pytest.mark.usefixtures("loopback_allowed")


async def _job_and_codes(database: Database) -> tuple[str, int]:
    async with unit_of_work(database, write=False) as session:
        status = await session.scalar(select(Job.status))
        codes = await session.scalar(select(func.count()).select_from(Voucher))
    return str(status), int(codes or 0)


async def _until(
    condition: Callable[[], Awaitable[bool]], process: subprocess.Popen[bytes], what: str
) -> None:
    """A hang guard, not a performance threshold."""
    deadline = time.monotonic() + 120
    while not await condition():
        assert process.poll() is None, f"the worker exited before it {what}"
        assert time.monotonic() < deadline, f"the worker never {what}"
        await asyncio.sleep(0.05)


def _start(command: list[str], db_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, env=worker_env(db_url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def _queue(database: Database, tenant: Tenant) -> None:
    campaign = await make_campaign(database, tenant)
    async with unit_of_work(database) as session:
        await vouchers.enqueue_codes(session, tenant.principal, campaign, count=3000)
    await add_events(database, tenant, 5)


@pytest.mark.parametrize(
    ("flags", "runs_jobs", "runs_webhooks"),
    [(["--webhooks"], False, True), (["--jobs"], True, False), ([], True, True)],
    ids=["webhooks", "jobs", "both"],
)
async def test_a_worker_runs_only_the_kinds_it_is_given(
    database: Database, tenant: Tenant, db_url: str, flags: list[str], runs_jobs: bool, runs_webhooks: bool
) -> None:
    with running_receiver() as receiver:
        # given a queued bulk job of 3,000 codes and 5 redemption events for a subscribed endpoint
        await make_endpoint(database, tenant, receiver.url, events=["voucher.redeemed"])
        await _queue(database, tenant)
        # when a worker with these flags runs until what it should do is done
        worker = _start([*WORKER, *flags], db_url)
        try:
            if runs_webhooks:

                async def delivered() -> bool:
                    return await count_deliveries(database, "succeeded") == 5

                await _until(delivered, worker, "delivered the webhooks")
            if runs_jobs:

                async def finished() -> bool:
                    return (await _job_and_codes(database))[0] == "succeeded"

                await _until(finished, worker, "finished the job")
            # and then has had time to touch the other kind too (several polls of each loop)
            await asyncio.sleep(1.5)
        finally:
            stop(worker)
        assert worker.returncode == 0
    # then the other kind is left for its own workers
    status, codes = await _job_and_codes(database)
    assert (status, codes) == (("succeeded", 3000) if runs_jobs else ("queued", 0))
    assert await count_deliveries(database) == (5 if runs_webhooks else 0)
    assert len(receiver.requests) == (5 if runs_webhooks else 0)
