"""campaign_figures.publication_batches and two publications indexes: Voucherify's publication list

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07

An item of ``GET /v1/publications`` is a group of publication rows: one batch (one publish call,
upload or export) to one customer on one channel. Each campaign keeps how many groups its rows
make, as campaign_figures keeps its other counts (migration 0018): inserts and deletes of
publications run one statement-level trigger on PostgreSQL, which counts the groups of the
statement's transition table that have no other row (a group is new when all its rows are the
statement's; gone when none is left), one upsert per statement into the connection's own shard.
SQLite has row triggers into shard 0. Publications are never updated. A row of a campaign being
deleted adds nothing (the figures go with the campaign). The list pages over
``ix_publications_client_listed`` in order and reads a page's groups by ``ix_publications_batch``.
"""

# ruff: noqa: S608 - the DDL is built from this file's constants, never from input

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A group's rows, for the group {g} (a row or a grouped row).
_GROUP = (
    "p.batch_id = {g}.batch_id AND p.customer_id = {g}.customer_id AND p.channel = {g}.channel "
    "AND p.campaign_id = {g}.campaign_id"
)
_UPSERT = (
    "ON CONFLICT (campaign_id, shard) DO UPDATE "
    "SET publication_batches = {f}.publication_batches + excluded.publication_batches"
)

_PG_FUNCTION = f"""
CREATE FUNCTION publication_batches() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO campaign_figures AS f (campaign_id, shard, publication_batches)
    SELECT g.campaign_id, pg_backend_pid(), count(*)
    FROM (SELECT t.campaign_id, t.batch_id, t.customer_id, t.channel, count(*) AS n
          FROM new_rows AS t GROUP BY t.campaign_id, t.batch_id, t.customer_id, t.channel) AS g
    JOIN campaigns AS c ON c.id = g.campaign_id
    WHERE g.n = (SELECT count(*) FROM publications AS p WHERE {_GROUP.format(g="g")})
    GROUP BY g.campaign_id ORDER BY g.campaign_id
    {_UPSERT.format(f="f")};
  ELSE
    INSERT INTO campaign_figures AS f (campaign_id, shard, publication_batches)
    SELECT g.campaign_id, pg_backend_pid(), -count(*)
    FROM (SELECT DISTINCT t.campaign_id, t.batch_id, t.customer_id, t.channel FROM old_rows AS t) AS g
    JOIN campaigns AS c ON c.id = g.campaign_id
    WHERE NOT EXISTS (SELECT 1 FROM publications AS p WHERE {_GROUP.format(g="g")})
    GROUP BY g.campaign_id ORDER BY g.campaign_id
    {_UPSERT.format(f="f")};
  END IF;
  RETURN NULL;
END $$"""


def _postgres() -> list[str]:
    return [
        _PG_FUNCTION,
        *(
            f"CREATE TRIGGER publication_batches_{operation.lower()} AFTER {operation} ON publications "
            f"REFERENCING {rows} FOR EACH STATEMENT EXECUTE FUNCTION publication_batches()"
            for operation, rows in (("INSERT", "NEW TABLE AS new_rows"), ("DELETE", "OLD TABLE AS old_rows"))
        ),
    ]


def _sqlite() -> list[str]:
    rows = "SELECT {what} FROM publications AS p WHERE " + _GROUP
    statements = []
    for operation, row, condition, change in (
        ("insert", "NEW", f"({rows.format(what='count(*)', g='NEW')}) = 1", "1"),
        ("delete", "OLD", f"NOT EXISTS ({rows.format(what='1', g='OLD')})", "-1"),
    ):
        live = f"EXISTS (SELECT 1 FROM campaigns WHERE id = {row}.campaign_id)"
        statements.append(
            f"CREATE TRIGGER publication_batches_{operation} AFTER {operation.upper()} ON publications "
            f"FOR EACH ROW WHEN {live} AND {condition} "
            f"BEGIN INSERT INTO campaign_figures (campaign_id, shard, publication_batches) "
            f"VALUES ({row}.campaign_id, 0, {change}) {_UPSERT.format(f='campaign_figures')}; END"
        )
    return statements


def upgrade() -> None:
    op.add_column(
        "campaign_figures",
        sa.Column("publication_batches", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_index(
        "ix_publications_client_listed",
        "publications",
        ["client_id", "created_at", "batch_id", "customer_id", "channel"],
    )
    op.create_index("ix_publications_batch", "publications", ["batch_id", "customer_id", "channel"])
    op.execute(
        "INSERT INTO campaign_figures AS f (campaign_id, shard, publication_batches) "
        "SELECT g.campaign_id, 0, count(*) FROM (SELECT DISTINCT campaign_id, batch_id, customer_id, channel "
        "FROM publications) AS g JOIN campaigns AS c ON c.id = g.campaign_id "
        f"WHERE true GROUP BY g.campaign_id {_UPSERT.format(f='f')}"
    )
    for statement in _postgres() if op.get_bind().dialect.name == "postgresql" else _sqlite():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION publication_batches() CASCADE")  # and its triggers
    else:
        for operation in ("insert", "delete"):
            op.execute(f"DROP TRIGGER publication_batches_{operation}")
    op.drop_index("ix_publications_batch", table_name="publications")
    op.drop_index("ix_publications_client_listed", table_name="publications")
    # SQLite >= 3.35 drops a column in place.
    op.drop_column("campaign_figures", "publication_batches")
