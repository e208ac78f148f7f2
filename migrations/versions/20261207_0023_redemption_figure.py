"""campaign_figures.redemptions: every redemption row, rolled-back ones too (Voucherify's list total)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

The redemptions table's figure triggers (migration 0018) are made again with one more figure, from
0018's own generators: a redemption adds 1 when it is inserted and takes it back when it is
deleted; an update (a rollback) moves nothing of it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _figures_migration(with_redemptions: bool) -> ModuleType:
    """A private copy of migration 0018's module, its redemptions' contributions with or without
    the new figure (the generators read the module's ``CONTRIBUTIONS``)."""
    path = Path(__file__).with_name("20261207_0018_campaign_figures.py")
    spec = importlib.util.spec_from_file_location("_figures_0018", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if with_redemptions:
        module.CONTRIBUTIONS = {
            **module.CONTRIBUTIONS,
            "redemptions": {**module.CONTRIBUTIONS["redemptions"], "redemptions": "1"},
        }
    return module


def _remake_triggers(with_redemptions: bool) -> None:
    figures = _figures_migration(with_redemptions)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION figures_redemptions_row() CASCADE")  # and its triggers
        op.execute("DROP FUNCTION figures_redemptions() CASCADE")
        statements = figures.postgres_triggers("redemptions")
    else:
        for operation in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER figures_redemptions_{operation}")
        statements = figures.sqlite_triggers("redemptions")
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    op.add_column(
        "campaign_figures",
        sa.Column("redemptions", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.execute(
        "INSERT INTO campaign_figures AS f (campaign_id, shard, redemptions) "
        "SELECT r.campaign_id, 0, count(*) FROM redemptions AS r JOIN campaigns AS c ON c.id = r.campaign_id "
        "WHERE true GROUP BY r.campaign_id "
        "ON CONFLICT (campaign_id, shard) DO UPDATE SET redemptions = f.redemptions + excluded.redemptions"
    )
    _remake_triggers(with_redemptions=True)


def downgrade() -> None:
    _remake_triggers(with_redemptions=False)
    # SQLite >= 3.35 drops a column in place.
    op.drop_column("campaign_figures", "redemptions")
