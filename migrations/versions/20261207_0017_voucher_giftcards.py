"""giftcards: a Voucherify gift voucher's balance (a card of one of our vouchers, no order)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("giftcards", schema=None) as batch_op:
        batch_op.alter_column("order_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.alter_column("product_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.alter_column(
            "code", existing_type=sa.String(length=32), type_=sa.String(length=64), existing_nullable=False
        )
        batch_op.add_column(sa.Column("voucher_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_giftcards_voucher_id_vouchers", "vouchers", ["voucher_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_unique_constraint("uq_giftcards_voucher_id", ["voucher_id"])
        batch_op.drop_constraint("uq_giftcards_code", type_="unique")
        batch_op.create_unique_constraint("uq_giftcards_client_id_code", ["client_id", "code"])


def downgrade() -> None:
    op.execute("DELETE FROM giftcards WHERE voucher_id IS NOT NULL")
    with op.batch_alter_table("giftcards", schema=None) as batch_op:
        batch_op.drop_constraint("uq_giftcards_client_id_code", type_="unique")
        batch_op.create_unique_constraint("uq_giftcards_code", ["code"])
        batch_op.drop_constraint("uq_giftcards_voucher_id", type_="unique")
        batch_op.drop_constraint("fk_giftcards_voucher_id_vouchers", type_="foreignkey")
        batch_op.drop_column("voucher_id")
        batch_op.alter_column(
            "code", existing_type=sa.String(length=64), type_=sa.String(length=32), existing_nullable=False
        )
        batch_op.alter_column("product_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column("order_id", existing_type=sa.Uuid(), nullable=False)
