"""Bulk code generation as a resumable job: each chunk of codes commits together with the job's
progress, so a killed job continues where it stopped, without duplicates or gaps."""

from __future__ import annotations

import uuid

from voucherd.config import get_settings
from voucherd.db import unit_of_work
from voucherd.events import service as events
from voucherd.jobs.runner import JobContext, handler
from voucherd.models import Campaign
from voucherd.vouchers.service import GENERATE_CODES, batch_event, issue_codes


@handler(GENERATE_CODES)
async def generate_codes(context: JobContext) -> None:
    chunk_size = get_settings().code_chunk_size
    campaign_id = uuid.UUID(context.payload["campaign_id"])
    while True:
        async with unit_of_work(context.database) as session:
            campaign = await session.get(Campaign, campaign_id)
            if campaign is None:
                raise LookupError(f"campaign {campaign_id} is gone")
            remaining = context.total - context.progress
            if remaining <= 0:
                await events.record(
                    session,
                    campaign.client_id,
                    events.VOUCHERS_GENERATED,
                    batch_event(campaign, count=context.total, job_id=context.job_id),
                )
                await context.complete(session, {"campaign_id": str(campaign_id), "created": context.total})
                return
            chunk = min(chunk_size, remaining)
            await context.advance(session, chunk)
            await issue_codes(session, campaign, count=chunk, job_id=context.job_id)
