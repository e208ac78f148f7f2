"""campaign_quarters: a campaign's standing redemptions per quarter hour, kept by triggers

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

The campaign page's days (``stats.daily``) are sums of these rows, however many redemptions a day
had: each row is one campaign's quarter hour (``quarter``: seconds since the epoch / 900, in UTC;
every timezone's offset is a whole number of quarter hours, so a local day is whole quarters).
Kept as campaign_figures is (migration 0018): inserts and deletes of redemptions run one
statement-level trigger on PostgreSQL (the transition table summed, one upsert per quarter), a
rollback or any change that moves a figure runs a row trigger, each connection adds to its own
shard (its backend pid) and the worker folds closed connections' rows into shard 0. SQLite has
row triggers into shard 0. A redemption of a campaign being deleted adds nothing.
"""

# ruff: noqa: S608 - the DDL is built from this file's constants, never from input

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = "{r}.rolled_back_at IS NULL"
_ONLINE = "{r}.channel = 'online'"
# What one redemption {r} adds to its quarter; anything not online counts in store (stats.daily).
FIGURES: dict[str, str] = {
    "online": f"CASE WHEN {_LIVE} AND {_ONLINE} THEN 1 ELSE 0 END",
    "in_store": f"CASE WHEN {_LIVE} AND NOT {_ONLINE} THEN 1 ELSE 0 END",
    "revenue_online": f"CASE WHEN {_LIVE} AND {_ONLINE} THEN {{r}}.transaction_amount ELSE 0 END",
    "revenue_in_store": f"CASE WHEN {_LIVE} AND NOT {_ONLINE} THEN {{r}}.transaction_amount ELSE 0 END",
    "discount_given": f"CASE WHEN {_LIVE} THEN {{r}}.discount_applied ELSE 0 END",
}
_PG_QUARTER = "floor(extract(epoch FROM {r}.created_at) / 900)::bigint"
_SQLITE_QUARTER = "CAST(strftime('%s', {r}.created_at) AS INTEGER) / 900"
_NAMES = ", ".join(FIGURES)
_KEY = "(campaign_id, quarter, shard)"


def _updates(target: str) -> str:
    return ", ".join(f"{name} = {target}.{name} + excluded.{name}" for name in FIGURES)


def _pg_upsert(source: str, sign: str) -> str:
    """The rows of ``source`` (a transition table) added (``sign`` "") or taken back ("-")."""
    quarter = _PG_QUARTER.format(r="t")
    sums = ", ".join(f"{sign}sum({expression.format(r='t')})" for expression in FIGURES.values())
    return (
        f"INSERT INTO campaign_quarters AS f (campaign_id, quarter, shard, {_NAMES}) "
        f"SELECT t.campaign_id, {quarter}, pg_backend_pid(), {sums} FROM {source} AS t "
        f"JOIN campaigns AS c ON c.id = t.campaign_id GROUP BY t.campaign_id, {quarter} "
        f"ORDER BY t.campaign_id, {quarter} ON CONFLICT {_KEY} DO UPDATE SET {_updates('f')};"
    )


def _pg_row_upsert(row: str, sign: str) -> str:
    values = ", ".join(f"{sign}({expression.format(r=row)})" for expression in FIGURES.values())
    return (
        f"INSERT INTO campaign_quarters AS f (campaign_id, quarter, shard, {_NAMES}) "
        f"SELECT {row}.campaign_id, {_PG_QUARTER.format(r=row)}, pg_backend_pid(), {values} "
        f"WHERE EXISTS (SELECT 1 FROM campaigns WHERE id = {row}.campaign_id) "
        f"ON CONFLICT {_KEY} DO UPDATE SET {_updates('f')};"
    )


def _moved() -> str:
    return " OR ".join(
        f"({expression.format(r='OLD')}) IS DISTINCT FROM ({expression.format(r='NEW')})"
        for expression in FIGURES.values()
    )


def _postgres() -> list[str]:
    return [
        f"""CREATE FUNCTION quarters_redemptions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_pg_upsert("new_rows", "")}
  ELSE
    {_pg_upsert("old_rows", "-")}
  END IF;
  RETURN NULL;
END $$""",
        f"""CREATE FUNCTION quarters_redemptions_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_pg_row_upsert("OLD", "-")}
  {_pg_row_upsert("NEW", "")}
  RETURN NULL;
END $$""",
        "CREATE TRIGGER quarters_insert AFTER INSERT ON redemptions REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION quarters_redemptions()",
        "CREATE TRIGGER quarters_delete AFTER DELETE ON redemptions REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION quarters_redemptions()",
        f"CREATE TRIGGER quarters_update AFTER UPDATE ON redemptions FOR EACH ROW WHEN ({_moved()}) "
        "EXECUTE FUNCTION quarters_redemptions_row()",
    ]


def _sqlite_upsert(row: str, sign: str) -> str:
    values = ", ".join(f"{sign}({expression.format(r=row)})" for expression in FIGURES.values())
    return (
        f"INSERT INTO campaign_quarters (campaign_id, quarter, shard, {_NAMES}) "
        f"VALUES ({row}.campaign_id, {_SQLITE_QUARTER.format(r=row)}, 0, {values}) "
        f"ON CONFLICT {_KEY} DO UPDATE SET {_updates('campaign_quarters')};"
    )


def _sqlite() -> list[str]:
    exists = "EXISTS (SELECT 1 FROM campaigns WHERE id = {r}.campaign_id)"
    moved = _moved().replace("IS DISTINCT FROM", "IS NOT")
    return [
        f"CREATE TRIGGER quarters_redemptions_insert AFTER INSERT ON redemptions FOR EACH ROW "
        f"WHEN {exists.format(r='NEW')} BEGIN {_sqlite_upsert('NEW', '')} END",
        f"CREATE TRIGGER quarters_redemptions_delete AFTER DELETE ON redemptions FOR EACH ROW "
        f"WHEN {exists.format(r='OLD')} BEGIN {_sqlite_upsert('OLD', '-')} END",
        f"CREATE TRIGGER quarters_redemptions_update AFTER UPDATE ON redemptions FOR EACH ROW "
        f"WHEN {exists.format(r='NEW')} AND ({moved}) "
        f"BEGIN {_sqlite_upsert('OLD', '-')} {_sqlite_upsert('NEW', '')} END",
    ]


def upgrade() -> None:
    op.create_table(
        "campaign_quarters",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("quarter", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("online", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("in_store", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("revenue_online", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("revenue_in_store", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("discount_given", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_campaign_quarters_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "quarter", "shard", name="pk_campaign_quarters"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    quarter = (_PG_QUARTER if postgres else _SQLITE_QUARTER).format(r="t")
    sums = ", ".join(f"sum({expression.format(r='t')})" for expression in FIGURES.values())
    op.execute(
        f"INSERT INTO campaign_quarters (campaign_id, quarter, shard, {_NAMES}) "
        f"SELECT t.campaign_id, {quarter}, 0, {sums} FROM redemptions AS t "
        f"JOIN campaigns AS c ON c.id = t.campaign_id GROUP BY t.campaign_id, {quarter}"
    )
    for statement in _postgres() if postgres else _sqlite():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # the functions go with their triggers
        op.execute("DROP FUNCTION quarters_redemptions_row() CASCADE")
        op.execute("DROP FUNCTION quarters_redemptions() CASCADE")
    else:
        for operation in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER quarters_redemptions_{operation}")
    op.drop_table("campaign_quarters")
