"""publications: the caller's own id (Voucherify's source_id), one publication per id and client

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_id", sa.String(length=200), nullable=True))
        batch_op.create_index(
            "uq_publications_client_source_id",
            ["client_id", "source_id"],
            unique=True,
            postgresql_where=sa.text("source_id IS NOT NULL"),
            sqlite_where=sa.text("source_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_index("uq_publications_client_source_id")
        batch_op.drop_column("source_id")
