"""distribution

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('customers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_key', sa.String(length=320), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('forename', sa.String(length=100), nullable=True),
    sa.Column('surname', sa.String(length=100), nullable=True),
    sa.Column('mobile', sa.String(length=40), nullable=True),
    sa.Column('mobile_e164', sa.String(length=20), nullable=True),
    sa.Column('postcode', sa.String(length=20), nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_customers_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('client_id', 'external_id', name=op.f('uq_customers_client_id_external_id'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_client_created', ['client_id', 'created_at'], unique=False)
        batch_op.create_index('ix_customers_client_email_key', ['client_id', 'email_key'], unique=False)

    op.create_table('recipients',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('voucher_id', sa.Uuid(), nullable=False),
    sa.Column('identity', sa.String(length=330), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('referred_by', sa.Uuid(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('forename', sa.String(length=100), nullable=True),
    sa.Column('surname', sa.String(length=100), nullable=True),
    sa.Column('mobile', sa.String(length=40), nullable=True),
    sa.Column('postcode', sa.String(length=20), nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clicked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bounced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_recipients_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_recipients_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_recipients_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], name=op.f('fk_recipients_voucher_id_vouchers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recipients')),
    sa.UniqueConstraint('campaign_id', 'identity', name=op.f('uq_recipients_campaign_id_identity')),
    sa.UniqueConstraint('voucher_id', name=op.f('uq_recipients_voucher_id'))
    )
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.create_index('ix_recipients_campaign_created', ['campaign_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_recipients_customer', ['customer_id'], unique=False)

    op.create_table('voucher_owners',
    sa.Column('voucher_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_voucher_owners_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_voucher_owners_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_voucher_owners_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], name=op.f('fk_voucher_owners_voucher_id_vouchers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('voucher_id', name=op.f('pk_voucher_owners')),
    sa.UniqueConstraint('voucher_id', 'customer_id', name=op.f('uq_voucher_owners_voucher_id_customer_id'))
    )
    with op.batch_alter_table('voucher_owners', schema=None) as batch_op:
        batch_op.create_index('ix_voucher_owners_campaign', ['campaign_id'], unique=False)
        batch_op.create_index('ix_voucher_owners_customer', ['customer_id'], unique=False)

    op.create_table('publications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('voucher_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_publications_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_publications_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voucher_id', 'customer_id'], ['voucher_owners.voucher_id', 'voucher_owners.customer_id'], name='fk_publications_owner', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publications'))
    )
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.create_index('ix_publications_campaign_created', ['campaign_id', 'created_at'], unique=False)
        batch_op.create_index('ix_publications_voucher_channel', ['voucher_id', 'channel'], unique=False)
        # A code is published by export once, the first time (a database fact, and what lets the
        # export's publications be written with ON CONFLICT DO NOTHING instead of an anti-join).
        batch_op.create_index(
            'uq_publications_export_voucher',
            ['voucher_id'],
            unique=True,
            postgresql_where=sa.text("channel = 'export'"),
            sqlite_where=sa.text("channel = 'export'"),
        )

    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.create_index('ix_recipients_campaign_voucher', ['campaign_id', 'voucher_id'], unique=False)

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cursor', sa.String(length=200), nullable=True))

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_update', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('landing_slug', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('terms', sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_campaigns_landing_slug'), ['landing_slug'])

    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_type', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('discount_value', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('discount_description', sa.String(length=500), nullable=True))
        # One index for lookups by code with its client and by code alone (the public page).
        batch_op.drop_constraint('uq_vouchers_client_id_code', type_='unique')
        batch_op.create_unique_constraint('uq_vouchers_code_client_id', ['code', 'client_id'])




def downgrade() -> None:

    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_constraint('uq_vouchers_code_client_id', type_='unique')
        batch_op.create_unique_constraint('uq_vouchers_client_id_code', ['client_id', 'code'])
        batch_op.drop_column('discount_description')
        batch_op.drop_column('discount_value')
        batch_op.drop_column('discount_type')

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_campaigns_landing_slug'), type_='unique')
        batch_op.drop_column('terms')
        batch_op.drop_column('landing_slug')
        batch_op.drop_column('auto_update')

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('cursor')

    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_recipients_campaign_voucher')

    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_index('uq_publications_export_voucher')
        batch_op.drop_index('ix_publications_voucher_channel')
        batch_op.drop_index('ix_publications_campaign_created')

    op.drop_table('publications')
    with op.batch_alter_table('voucher_owners', schema=None) as batch_op:
        batch_op.drop_index('ix_voucher_owners_customer')
        batch_op.drop_index('ix_voucher_owners_campaign')

    op.drop_table('voucher_owners')
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_recipients_customer')
        batch_op.drop_index('ix_recipients_campaign_created')

    op.drop_table('recipients')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_client_email_key')
        batch_op.drop_index('ix_customers_client_created')

    op.drop_table('customers')

