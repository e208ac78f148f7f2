"""redemptions: the stack a redemption belongs to (Voucherify's parent redemption); clients: the
Voucherify API version pinned for the client

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stack_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_redemptions_stack",
            ["stack_id"],
            postgresql_where=sa.text("stack_id IS NOT NULL"),
            sqlite_where=sa.text("stack_id IS NOT NULL"),
        )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voucherify_api_version", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("voucherify_api_version")
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_redemptions_stack")
        batch_op.drop_column("stack_id")
