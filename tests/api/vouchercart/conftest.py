from __future__ import annotations

import pytest

from tests.conftest import make_tenant
from tests.fixtures.shops import Shop, open_shop
from voucherd.db import Database


@pytest.fixture
async def shop(database: Database) -> Shop:
    """A spa selling gift vouchers in USD (its gift vouchers may name another currency)."""
    return await open_shop(database, await make_tenant(database, "Spa Town", currency="USD"), "spa-town")
