"""campaign_figures, client_figures: counts kept by triggers in the statements that change them

Revision ID: 0018
Revises: 0020
Create Date: 2026-12-07

Each counted table adds what its rows contribute to their campaign's figures (a row inserted adds
its contribution, a row deleted takes it back, a row updated adds the difference). On PostgreSQL
inserts and deletes run one statement-level trigger that sums the statement's transition table, so
a chunk of 10,000 codes is one upsert; updates run a row trigger, and only when they move a figure
(the WHEN clause: an ``event_sequence`` bump runs nothing). Each connection adds to its own shard row
(its backend pid), so concurrent redemptions neither queue nor deadlock on a figures row. SQLite (one writer at
a time) has row triggers into shard 0. A row of a campaign being deleted adds nothing (the figures go with the
campaign). A later migration that rebuilds one of these tables on SQLite (``batch_alter_table``)
drops its triggers and must create them again (:func:`sqlite_triggers`).
"""

# ruff: noqa: S608 - the DDL is built from this file's constants, never from input

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each server process (backend) adds to a row of its own: two transactions running at once never
# share one, so the figures add no lock wait and no deadlock to anything (with pid modulo 16, a
# redemption, which locks its code and then the figures, deadlocked with a rollback, which takes
# them in the other order). A campaign gets one row per backend that ever wrote to it.
_PG_SHARD = "pg_backend_pid()"
FIGURES = (
    "issued",
    "redeemed_codes",
    "published",
    "publications",
    "recipients",
    "opened",
    "clicked",
    "bounced",
    "leads",
    "referrals",
    "redemptions_online",
    "redemptions_in_store",
    "revenue",
    "discount_given",
)


def _flag(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


_LIVE = "{r}.rolled_back_at IS NULL"
# What one row of each table adds to its campaign's figures; {r} is the row.
CONTRIBUTIONS: dict[str, dict[str, str]] = {
    "vouchers": {"issued": "1", "redeemed_codes": _flag("{r}.redeemed_count > 0")},
    "voucher_owners": {"published": "1"},
    "publications": {"publications": "1"},
    "recipients": {
        "recipients": "1",
        "opened": _flag("{r}.opened_at IS NOT NULL"),
        "clicked": _flag("{r}.clicked_at IS NOT NULL"),
        "bounced": _flag("{r}.bounced_at IS NOT NULL"),
        "leads": _flag("{r}.source = 'landing_page'"),
        "referrals": _flag("{r}.referred_by IS NOT NULL"),
    },
    "redemptions": {
        "redemptions_online": _flag(f"{_LIVE} AND {{r}}.channel = 'online'"),
        "redemptions_in_store": _flag(f"{_LIVE} AND {{r}}.channel = 'in_store'"),
        "revenue": f"CASE WHEN {_LIVE} THEN {{r}}.transaction_amount ELSE 0 END",
        "discount_given": f"CASE WHEN {_LIVE} THEN {{r}}.discount_applied ELSE 0 END",
    },
    # A client's customers, erased ones left out (the customers list's total).
    "customers": {"customers": _flag("{r}.deleted_at IS NULL")},
}


# Where a table's rows are counted: (figures table, the rows' key column, the table it keys).
CAMPAIGN = ("campaign_figures", "campaign_id", "campaigns")
TARGETS = {"customers": ("client_figures", "client_id", "clients")}


def _upsert_columns(figures: dict[str, str], target: str = "f") -> tuple[str, str]:
    names = ", ".join(figures)
    updates = ", ".join(f"{name} = {target}.{name} + excluded.{name}" for name in figures)
    return names, updates


def _changes(figures: dict[str, str], old: str, new: str) -> dict[str, str]:
    """Each figure's change when row ``old`` becomes ``new``."""
    return {name: f"({e.format(r=new)}) - ({e.format(r=old)})" for name, e in figures.items()}


def _moved(delta: dict[str, str]) -> str:
    return " OR ".join(f"({value}) <> 0" for value in delta.values())


def _statement_function(table: str) -> str:
    """Rows inserted or deleted in bulk: one upsert per statement and campaign (or client)."""
    into, key, parent = TARGETS.get(table, CAMPAIGN)
    figures = CONTRIBUTIONS[table]
    names, updates = _upsert_columns(figures)

    def upsert(source: str, sign: str) -> str:
        sums = ", ".join(f"{sign}sum({expression.format(r='t')})" for expression in figures.values())
        return (
            f"INSERT INTO {into} AS f ({key}, shard, {names}) "
            f"SELECT t.{key}, {_PG_SHARD}, {sums} FROM {source} AS t "
            f"JOIN {parent} AS c ON c.id = t.{key} GROUP BY t.{key} ORDER BY t.{key} "
            f"ON CONFLICT ({key}, shard) DO UPDATE SET {updates};"
        )

    return f"""
CREATE FUNCTION figures_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {upsert("new_rows", "")}
  ELSE
    {upsert("old_rows", "-")}
  END IF;
  RETURN NULL;
END $$"""


def _row_function(table: str) -> str:
    """One row updated: its change to the figures."""
    into, key, parent = TARGETS.get(table, CAMPAIGN)
    figures = CONTRIBUTIONS[table]
    names, updates = _upsert_columns(figures)
    return f"""
CREATE FUNCTION figures_{table}_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {into} AS f ({key}, shard, {names})
  SELECT NEW.{key}, {_PG_SHARD}, {", ".join(_changes(figures, "OLD", "NEW").values())}
  WHERE EXISTS (SELECT 1 FROM {parent} WHERE id = NEW.{key})
  ON CONFLICT ({key}, shard) DO UPDATE SET {updates};
  RETURN NULL;
END $$"""


def postgres_triggers(table: str) -> list[str]:
    """Inserts and deletes: one upsert per statement (a row trigger would update one row once per
    row inserted, and a transaction's own versions of a row cannot be pruned: a bulk insert of
    100,000 redemptions took minutes). Updates: a row trigger, which an update that moves no
    figure (most of them: an event number, a flag) does not even call."""
    statements = [_row_function(table)]
    delta = _changes(CONTRIBUTIONS[table], "OLD", "NEW")
    statements.append(
        f"CREATE TRIGGER figures_update AFTER UPDATE ON {table} FOR EACH ROW "
        f"WHEN ({_moved(delta)}) EXECUTE FUNCTION figures_{table}_row()"
    )
    statements.append(_statement_function(table))
    for operation, rows in (("INSERT", "NEW TABLE AS new_rows"), ("DELETE", "OLD TABLE AS old_rows")):
        statements.append(
            f"CREATE TRIGGER figures_{operation.lower()} AFTER {operation} ON {table} "
            f"REFERENCING {rows} FOR EACH STATEMENT EXECUTE FUNCTION figures_{table}()"
        )
    return statements


def sqlite_triggers(table: str) -> list[str]:
    into, key, parent = TARGETS.get(table, CAMPAIGN)
    figures = CONTRIBUTIONS[table]
    names, updates = _upsert_columns(figures, into)
    statements = []
    for operation, row, delta in (
        ("insert", "NEW", {name: f"({e.format(r='NEW')})" for name, e in figures.items()}),
        ("delete", "OLD", {name: f"-({e.format(r='OLD')})" for name, e in figures.items()}),
        ("update", "NEW", _changes(figures, "OLD", "NEW")),
    ):
        condition = f"EXISTS (SELECT 1 FROM {parent} WHERE id = {row}.{key})"
        if operation == "update":
            # The key never changes; a change that moves no figure writes nothing.
            condition += f" AND ({_moved(delta)})"
        statements.append(
            f"CREATE TRIGGER figures_{table}_{operation} AFTER {operation.upper()} ON {table} "
            f"FOR EACH ROW WHEN {condition} BEGIN "
            f"INSERT INTO {into} ({key}, shard, {names}) "
            f"VALUES ({row}.{key}, 0, {', '.join(delta.values())}) "
            f"ON CONFLICT ({key}, shard) DO UPDATE SET {updates}; END"
        )
    return statements


def _backfill(table: str) -> str:
    into, key, parent = TARGETS.get(table, CAMPAIGN)
    figures = CONTRIBUTIONS[table]
    names, updates = _upsert_columns(figures)
    sums = ", ".join(f"sum({expression.format(r='t')})" for expression in figures.values())
    return (
        f"INSERT INTO {into} AS f ({key}, shard, {names}) "
        f"SELECT t.{key}, 0, {sums} FROM {table} AS t JOIN {parent} AS c ON c.id = t.{key} "
        f"WHERE true GROUP BY t.{key} ON CONFLICT ({key}, shard) DO UPDATE SET {updates}"
    )


def upgrade() -> None:
    op.create_table(
        "campaign_figures",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        *(
            sa.Column(
                name,
                sa.BigInteger() if name in ("revenue", "discount_given") else sa.Integer(),
                server_default=sa.text("0"),
                nullable=False,
            )
            for name in FIGURES
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_campaign_figures_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "shard", name="pk_campaign_figures"),
    )
    op.create_table(
        "client_figures",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("customers", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_client_figures_client_id_clients", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("client_id", "shard", name="pk_client_figures"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in CONTRIBUTIONS:
        op.execute(_backfill(table))
        for statement in postgres_triggers(table) if postgres else sqlite_triggers(table):
            op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in CONTRIBUTIONS:
        if postgres:  # the functions go with their triggers
            op.execute(f"DROP FUNCTION figures_{table}_row() CASCADE")
            op.execute(f"DROP FUNCTION figures_{table}() CASCADE")
        else:
            for operation in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER figures_{table}_{operation}")
    op.drop_table("client_figures")
    op.drop_table("campaign_figures")
