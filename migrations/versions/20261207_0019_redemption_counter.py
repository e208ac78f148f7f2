"""redemptions: the staff member and the sales page of a redemption made at a counter

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staff_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("sales_page_id", sa.Uuid(), nullable=True))
        batch_op.create_index("ix_redemptions_sales_page_created", ["sales_page_id", "created_at"])


def downgrade() -> None:
    # Plain ALTER TABLE, never a batch rebuild: on SQLite a rebuilt redemptions table would lose
    # the figures' triggers of 0018.
    op.drop_index("ix_redemptions_sales_page_created", table_name="redemptions")
    op.execute("ALTER TABLE redemptions DROP COLUMN sales_page_id")
    op.execute("ALTER TABLE redemptions DROP COLUMN staff_id")
