"""coupons and discounts (VoucherCart): a coupon is a campaign, a discount one of its codes; a
code may end before its campaign (an expiry counted from its purchase)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "coupons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("sales_page_id", sa.Uuid(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("expiry_type", sa.String(length=8), nullable=True),
        sa.Column("expiry_interval", sa.String(length=8), nullable=True),
        sa.Column("expiry_period", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "expiry_period IS NULL OR expiry_period >= 1", name=op.f("ck_coupons_expiry_period_positive")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_coupons_client_id_clients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_coupons_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sales_page_id"],
            ["sales_pages.id"],
            name=op.f("fk_coupons_sales_page_id_sales_pages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_coupons_campaign_id")),
        sa.UniqueConstraint("number", name=op.f("uq_coupons_number")),
    )
    op.create_index(op.f("ix_coupons_sales_page_id"), "coupons", ["sales_page_id"])
    op.create_table(
        "discounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("coupon_id", sa.Uuid(), nullable=False),
        sa.Column("voucher_id", sa.Uuid(), nullable=False),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("payments", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_discounts_client_id_clients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupons.id"], name=op.f("fk_discounts_coupon_id_coupons"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_discounts_voucher_id_vouchers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discounts")),
        sa.UniqueConstraint("voucher_id", name=op.f("uq_discounts_voucher_id")),
    )
    op.create_index(op.f("ix_discounts_coupon_id"), "discounts", ["coupon_id"])


def downgrade() -> None:
    op.drop_table("discounts")
    op.drop_table("coupons")
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.drop_column("valid_until")
