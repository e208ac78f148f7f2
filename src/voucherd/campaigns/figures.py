"""A campaign's kept counts (codes, hand-outs, recipients, redemptions, money), read in constant
time whatever the campaign's size: the database keeps them in the statements that change the
counted rows (:class:`voucherd.models.CampaignFigures`)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import structlog
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.db import Database, unit_of_work
from voucherd.models import Campaign, CampaignFigures
from voucherd.models.figures import FIGURES, QUARTER_FIGURES

log = structlog.get_logger(__name__)


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


async def client_redemptions(session: AsyncSession, client_id: uuid.UUID) -> int:
    """How many redemptions the client's campaigns recorded, rolled-back ones too: the sum of
    their kept ``redemptions`` (it grows with the campaigns, not with their redemptions)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(CampaignFigures.redemptions), 0))
        .join(Campaign, Campaign.id == CampaignFigures.campaign_id)
        .where(Campaign.client_id == client_id)
    )
    return int(total or 0)


# How often the worker folds the figure rows of closed connections into one (PostgreSQL).
FOLD_SECONDS = 600.0
# Each kept table: its key (without the shard) and its figures.
_KEPT = {
    # publication_batches (0025) is kept beside FIGURES: Voucherify's publication list total.
    "campaign_figures": ("campaign_id", (*FIGURES, "publication_batches")),
    "client_figures": ("client_id", ("customers",)),
    "campaign_quarters": ("campaign_id, quarter", QUARTER_FIGURES),
}


def _fold_statement(table: str) -> str:
    key, names = _KEPT[table]
    columns = ", ".join(names)
    sums = ", ".join(f"sum({name})" for name in names)
    updates = ", ".join(f"{name} = f.{name} + excluded.{name}" for name in names)
    # Our own table and column names only.
    return (
        f"WITH gone AS (DELETE FROM {table} WHERE shard <> 0 "  # noqa: S608
        f"AND shard NOT IN (SELECT pid FROM pg_stat_activity) RETURNING *) "
        f"INSERT INTO {table} AS f ({key}, shard, {columns}) "
        f"SELECT {key}, 0, {sums} FROM gone GROUP BY {key} "
        f"ON CONFLICT ({key}, shard) DO UPDATE SET {updates}"
    )


async def fold(database: Database | None = None) -> int:
    """On PostgreSQL every connection keeps its own figure rows (its backend pid is the shard);
    once a connection is gone its rows are folded into shard 0, in one statement per table, so a
    campaign's figures stay a few rows however many connections came and went. A pid reused by
    a live connection is left alone. Returns how many rows were folded (0 on SQLite, where every
    figure is in shard 0)."""
    async with unit_of_work(database) as session:
        if session.get_bind().dialect.name != "postgresql":
            return 0
        folded = 0
        for table in _KEPT:
            result = await session.execute(text(_fold_statement(table)))
            folded += max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
        return folded


async def run(database: Database, stop: asyncio.Event, every: float = FOLD_SECONDS) -> None:
    """The worker's fold loop: every ``every`` seconds until told to stop."""
    while not stop.is_set():
        try:
            folded = await fold(database)
            if folded:
                log.info("figures.folded", campaigns_and_clients=folded)
        except Exception as error:  # a database hiccup: try again next turn
            log.error("figures.fold_failed", error=repr(error))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
