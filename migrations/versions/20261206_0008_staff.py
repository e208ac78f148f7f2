"""staff logins: sales pages, staff, refresh tokens, and short numbers for clients

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    grants = op.create_table(
        "number_grants",
        sa.Column("number", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_number_grants")),
    )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_clients_number"), ["number"])
    # Existing clients get their numbers in the order they were made.
    connection = op.get_bind()
    clients = sa.table(
        "clients", sa.column("id", sa.Uuid()), sa.column("number", sa.Integer()), sa.column("created_at")
    )
    for (client_id,) in connection.execute(sa.select(clients.c.id).order_by(clients.c.created_at)).all():
        number = connection.execute(sa.insert(grants).returning(grants.c.number)).scalar_one()
        connection.execute(sa.update(clients).where(clients.c.id == client_id).values(number=number))
    op.create_table(
        "sales_pages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_sales_pages_client_id_clients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_pages")),
        sa.UniqueConstraint("name", name=op.f("uq_sales_pages_name")),
        sa.UniqueConstraint("number", name=op.f("uq_sales_pages_number")),
    )
    op.create_index(op.f("ix_sales_pages_client_id"), "sales_pages", ["client_id"])
    op.create_table(
        "staff",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("token_generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_staff_client_id_clients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("client_id", "email_key", name=op.f("uq_staff_client_id_email_key")),
        sa.UniqueConstraint("number", name=op.f("uq_staff_number")),
    )
    op.create_index("ix_staff_email_key", "staff", ["email_key"])
    op.create_table(
        "staff_sales_pages",
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("sales_page_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_sales_pages_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sales_page_id"],
            ["sales_pages.id"],
            name=op.f("fk_staff_sales_pages_sales_page_id_sales_pages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", "sales_page_id", name=op.f("pk_staff_sales_pages")),
    )
    op.create_index(op.f("ix_staff_sales_pages_sales_page_id"), "staff_sales_pages", ["sales_page_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("sales_page_id", sa.Uuid(), nullable=False),
        sa.Column("access_token_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_refresh_tokens_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sales_page_id"],
            ["sales_pages.id"],
            name=op.f("fk_refresh_tokens_sales_page_id_sales_pages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    op.create_index(op.f("ix_refresh_tokens_family_id"), "refresh_tokens", ["family_id"])
    op.create_index(op.f("ix_refresh_tokens_staff_id"), "refresh_tokens", ["staff_id"])


def downgrade() -> None:
    op.drop_table("refresh_tokens")
    op.drop_table("staff_sales_pages")
    op.drop_table("staff")
    op.drop_table("sales_pages")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_clients_number"), type_="unique")
        batch_op.drop_column("number")
    op.drop_table("number_grants")
