"""publishable (client-side) API keys with their allowed origins, and each client's client-side
"danger zone" switches

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("publishable", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(
            sa.Column("allowed_origins", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True)
        )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_side_redeem", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("client_side_publish", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("client_side_publish")
        batch_op.drop_column("client_side_redeem")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("allowed_origins")
        batch_op.drop_column("publishable")
