"""customer profiles: phone as written, description, birthdate, address

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("phone", sa.String(length=60)),
    ("description", sa.String(length=1000)),
    ("birthdate", sa.Date()),
    ("address_line_1", sa.String(length=200)),
    ("address_line_2", sa.String(length=200)),
    ("city", sa.String(length=100)),
    ("state", sa.String(length=100)),
    ("country", sa.String(length=100)),
)


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name, _ in reversed(_COLUMNS):
            batch_op.drop_column(name)
