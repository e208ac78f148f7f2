"""Recording an export's publications in chunks, in voucher-id order: the job's cursor says where
it got to, so a resumed job goes on from there (and a repeated chunk writes nothing twice)."""

from __future__ import annotations

import uuid
from datetime import datetime

from voucherd.db import unit_of_work
from voucherd.jobs.runner import JobContext, handler
from voucherd.recipients.export import RECORD_EXPORT, export_published_event, record_export_chunk


@handler(RECORD_EXPORT)
async def record_export_publications(context: JobContext) -> None:
    payload = context.payload
    campaign_id = uuid.UUID(payload["campaign_id"])
    batch_id = uuid.UUID(payload["batch_id"])
    exported_at = datetime.fromisoformat(payload["exported_at"])
    assert context.client_id is not None
    while True:
        async with unit_of_work(context.database) as session:
            after = uuid.UUID(context.cursor) if context.cursor else None
            count, upto = await record_export_chunk(
                session,
                client_id=context.client_id,
                campaign_id=campaign_id,
                batch_id=batch_id,
                exported_at=exported_at,
                after=after,
            )
            if upto is not None:
                await context.advance(session, count, cursor=str(upto))
                continue
            await export_published_event(
                session, context.client_id, campaign_id, batch_id, context.progress, exported_at
            )
            await context.complete(session, {"campaign_id": str(campaign_id), "published": context.progress})
            return
