"""gift_orders: a payment status (``paid``, or ``awaiting_payment`` for a shop order whose codes
are issued when staff record its payment) and when it was paid

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gift_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=24), nullable=False, server_default="paid")
        )
        batch_op.add_column(sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gift_orders", schema=None) as batch_op:
        batch_op.drop_column("paid_at")
        batch_op.drop_column("status")
