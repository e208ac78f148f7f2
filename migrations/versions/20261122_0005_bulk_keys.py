"""bulk keys: one composite foreign key from vouchers to their campaign and client

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_campaigns_id_client_id', ['id', 'client_id'])
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_constraint('fk_vouchers_campaign_id_campaigns', type_='foreignkey')
        batch_op.drop_constraint('fk_vouchers_client_id_clients', type_='foreignkey')
        batch_op.create_foreign_key(
            'fk_vouchers_campaign_client',
            'campaigns',
            ['campaign_id', 'client_id'],
            ['id', 'client_id'],
            ondelete='CASCADE',
        )


def downgrade() -> None:
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_constraint('fk_vouchers_campaign_client', type_='foreignkey')
        batch_op.create_foreign_key(
            'fk_vouchers_client_id_clients', 'clients', ['client_id'], ['id'], ondelete='CASCADE'
        )
        batch_op.create_foreign_key(
            'fk_vouchers_campaign_id_campaigns', 'campaigns', ['campaign_id'], ['id'], ondelete='CASCADE'
        )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint('uq_campaigns_id_client_id', type_='unique')
