"""The fold of figure rows (both databases): on PostgreSQL the rows closed connections kept are
folded into one per campaign and client, the figures unchanged; a live connection's row is left
alone; on SQLite there is nothing to fold."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from tests.stats.test_kept_figures import counted, kept
from voucherd.campaigns import figures
from voucherd.db import Database, unit_of_work
from voucherd.db.engine import create_database
from voucherd.models import CampaignFigures, ClientFigures, Customer


async def _rows(database: Database, model: type[CampaignFigures] | type[ClientFigures]) -> int:
    async with unit_of_work(database, write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _gone(database: Database, pids: set[int]) -> None:
    """Wait until the backends of closed connections have left pg_stat_activity."""
    for _ in range(200):
        async with unit_of_work(database, write=False) as session:
            live = set((await session.scalars(text("SELECT pid FROM pg_stat_activity"))).all())
        if not pids & live:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"backends {pids & live} did not end")


async def test_closed_connections_rows_fold_into_one_and_the_figures_stay(
    database: Database, tenant: Tenant
) -> None:
    campaign = await make_campaign(database, tenant)
    # given codes and customers written over three connections that then close
    pids: set[int] = set()
    for round_ in range(3):
        other = create_database(database.url)
        try:
            async with unit_of_work(other) as session:
                if other.is_postgres:
                    pids.add(int(await session.scalar(text("SELECT pg_backend_pid()")) or 0))
                session.add(Customer(client_id=tenant.client_id, email=f"c{round_}@example.com"))
            await make_codes(other, tenant, campaign, 5)
        finally:
            await other.dispose()
    before = await kept(database, campaign.id)
    assert before["issued"] == 15
    if not database.is_postgres:
        assert await figures.fold(database) == 0
        assert await _rows(database, CampaignFigures) == 1
        return
    await _gone(database, pids)
    # and one connection still open (back in its pool), its row kept
    live = create_database(database.url)
    try:
        async with unit_of_work(live) as session:
            live_pid = int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)
            session.add(Customer(client_id=tenant.client_id, email="live@example.com"))
        await make_codes(live, tenant, campaign, 2)
        assert await figures.fold(database) >= 2  # the campaign's rows and the client's
        async with unit_of_work(database, write=False) as session:
            shards = set((await session.scalars(select(CampaignFigures.shard))).all())
            client_shards = set((await session.scalars(select(ClientFigures.shard))).all())
        assert 0 in shards
        assert not (shards | client_shards) & pids
        assert live_pid in client_shards
    finally:
        await live.dispose()
    # then the figures are what they were, and what the rows count
    after = await kept(database, campaign.id)
    assert after["issued"] == 17
    assert after == await counted(database, campaign.id)
    async with unit_of_work(database, write=False) as session:
        customers = await session.scalar(select(func.sum(ClientFigures.customers)))
    assert customers == 4
    # and folding again finds nothing new of the closed ones
    assert await figures.fold(database) >= 0
    assert await kept(database, campaign.id) == after
