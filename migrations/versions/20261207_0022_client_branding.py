"""clients: branding (an accent colour and a logo image stored in the row)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (no batch rebuild of the clients table).
    op.add_column("clients", sa.Column("accent_color", sa.String(length=7), nullable=True))
    op.add_column("clients", sa.Column("logo_image", sa.LargeBinary(), nullable=True))
    op.add_column("clients", sa.Column("logo_type", sa.String(length=32), nullable=True))
    op.add_column("clients", sa.Column("logo_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place.
    op.drop_column("clients", "logo_digest")
    op.drop_column("clients", "logo_type")
    op.drop_column("clients", "logo_image")
    op.drop_column("clients", "accent_color")
