"""a staff email is unique among the client's live members only (a removed member's email may log in again)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_staff_client_id_email_key"), type_="unique")
    op.create_index(
        "uq_staff_live_email",
        "staff",
        ["client_id", "email_key"],
        unique=True,
        postgresql_where=_LIVE,
        sqlite_where=_LIVE,
    )


def downgrade() -> None:
    # Fails if a removed member's email was given to a new login of the same client since.
    op.drop_index("uq_staff_live_email", table_name="staff")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_staff_client_id_email_key"), ["client_id", "email_key"])
