"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.models import Base, Client, Voucher


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    def differences(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return [d for d in compare_metadata(context, Base.metadata) if d[0] != "remove_table"]

    async with database.engine.connect() as connection:
        found = await connection.run_sync(differences)
    assert found == []


async def test_a_code_cannot_belong_to_another_client_than_its_campaign(
    database: Database, tenant: Tenant
) -> None:
    # given a campaign of the tenant and a second client
    campaign = await make_campaign(database, tenant)
    other = uuid.uuid4()
    async with unit_of_work(database) as session:
        await session.execute(
            insert(Client).values(
                id=other, name="Other", currency="GBP", timezone="UTC", created_at=clock.now()
            )
        )
    # when a code of that campaign is stored under the other client, the database refuses it
    with pytest.raises(IntegrityError):
        async with unit_of_work(database) as session:
            await session.execute(
                insert(Voucher).values(
                    client_id=other, campaign_id=campaign.id, code="STRAY-1", redeemed_count=0
                )
            )
