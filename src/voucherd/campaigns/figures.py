"""A campaign's kept counts (codes, hand-outs, recipients, redemptions, money), read in constant
time whatever the campaign's size: the database keeps them in the statements that change the
counted rows (:class:`voucherd.models.CampaignFigures`)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.models import CampaignFigures
from voucherd.models.figures import FIGURES


async def campaign_figures(session: AsyncSession, campaign_id: uuid.UUID) -> dict[str, int]:
    """Each of :data:`FIGURES`: the sum over the campaign's shard rows (0 when none)."""
    row = (
        await session.execute(
            select(*(func.coalesce(func.sum(getattr(CampaignFigures, name)), 0) for name in FIGURES)).where(
                CampaignFigures.campaign_id == campaign_id
            )
        )
    ).one()
    return {name: int(value) for name, value in zip(FIGURES, row, strict=True)}


async def figures_of_campaigns(
    session: AsyncSession, campaign_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """:func:`campaign_figures` of each campaign, in one query (a list page's rows)."""
    found: dict[uuid.UUID, dict[str, int]] = {
        campaign_id: dict.fromkeys(FIGURES, 0) for campaign_id in campaign_ids
    }
    if not campaign_ids:
        return found
    rows = await session.execute(
        select(CampaignFigures.campaign_id, *(func.sum(getattr(CampaignFigures, name)) for name in FIGURES))
        .where(CampaignFigures.campaign_id.in_(campaign_ids))
        .group_by(CampaignFigures.campaign_id)
    )
    for campaign_id, *values in rows.all():
        found[campaign_id] = {name: int(value or 0) for name, value in zip(FIGURES, values, strict=True)}
    return found
