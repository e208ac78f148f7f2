"""Bulk code generation as a resumable job: each chunk of codes commits together with the job's
progress, so a killed job continues where it stopped, without duplicates or gaps.

On PostgreSQL several chunks are written side by side (``code_job_connections``), each in its own
transaction: the server's index maintenance, not Python, is what a million codes wait for, and
one connection keeps only one core busy. Each transaction adds its chunk to the job's progress
last, so a killed job's progress counts exactly the codes that were committed."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.config import get_settings
from voucherd.db import unit_of_work
from voucherd.events import service as events
from voucherd.jobs.runner import JobContext, handler
from voucherd.models import Campaign
from voucherd.vouchers.service import GENERATE_CODES, batch_event, issue_codes


@handler(GENERATE_CODES)
async def generate_codes(context: JobContext) -> None:
    settings = get_settings()
    campaign_id = uuid.UUID(context.payload["campaign_id"])
    unclaimed = context.total - context.progress

    async def write_chunks() -> None:
        nonlocal unclaimed
        while unclaimed > 0:
            context.check_stop()
            chunk = min(settings.code_chunk_size, unclaimed)
            unclaimed -= chunk
            async with unit_of_work(context.database) as session:
                campaign = await _campaign(session, campaign_id)
                await issue_codes(session, campaign, count=chunk, job_id=context.job_id)
                await context.add_progress(session, chunk)

    side_by_side = settings.code_job_connections if context.database.is_postgres else 1
    try:
        async with asyncio.TaskGroup() as group:  # one failing cancels the others
            for _ in range(side_by_side):
                group.create_task(write_chunks())
    except ExceptionGroup as failed:  # the runner tells Stopping and LeaseLost apart
        raise failed.exceptions[0] from None

    async with unit_of_work(context.database) as session:
        campaign = await _campaign(session, campaign_id)
        await events.record(
            session,
            campaign.client_id,
            events.VOUCHERS_GENERATED,
            batch_event(campaign, count=context.total, job_id=context.job_id),
        )
        await context.complete(session, {"campaign_id": str(campaign_id), "created": context.total})


async def _campaign(session: AsyncSession, campaign_id: uuid.UUID) -> Campaign:
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"campaign {campaign_id} is gone")
    return campaign
