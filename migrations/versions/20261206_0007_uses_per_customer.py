"""uses per customer: a campaign may limit how often one customer redeems it; a redemption may
name its customer

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uses_per_customer", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("require_customer", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_campaigns_uses_per_customer_positive"),
            "uses_per_customer IS NULL OR uses_per_customer >= 1",
        )
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_redemptions_customer_id_customers", "customers", ["customer_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_redemptions_customer_campaign", ["customer_id", "campaign_id"])


def downgrade() -> None:
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_redemptions_customer_campaign")
        batch_op.drop_constraint("fk_redemptions_customer_id_customers", type_="foreignkey")
        batch_op.drop_column("customer_id")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaigns_uses_per_customer_positive"), type_="check")
        batch_op.drop_column("require_customer")
        batch_op.drop_column("uses_per_customer")
