"""The mail-merge export: every recipient of a campaign with their code, links and tracking, as
CSV, streamed (constant memory for any number of rows).

PostgreSQL writes the CSV itself (``COPY (SELECT ...) TO STDOUT``), which we pass on chunk by
chunk with back-pressure; SQLite rows come through a server-side cursor and Python's ``csv``.
Text that a spreadsheet would run as a formula (starting with ``= + - @``, tab, CR or NUL) gets a
leading ``'`` (RELIABILITY S10), in SQL on PostgreSQL and in :func:`neutralize` on SQLite."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, literal, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core import clock, links
from voucherd.core.ids import new_id
from voucherd.db import Database, unit_of_work
from voucherd.db.session import driver_of
from voucherd.events import service as events
from voucherd.jobs import service as jobs
from voucherd.models import Publication, Recipient, Voucher
from voucherd.publications.schemas import CHANNEL_EXPORT

# The documented columns first (seed 000), then the other recipient fields.
COLUMNS = (
    "email",
    "forename",
    "voucher_code",
    "redemption_url",
    "redeemed",
    "opened_at",
    "clicked_at",
    "surname",
    "mobile",
    "postcode",
    "external_id",
    "recipient_id",
    "customer_id",
    "bounced_at",
    "tracking_pixel_url",
    "click_tracking_url",
    "created_at",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
_CHUNK_ROWS = 5000
# A download's COPY, which waits for the client, is not cut by the statement timeout before this.
EXPORT_TIMEOUT_SECONDS = 3600.0
_QUEUE_CHUNKS = 8  # COPY output waits when the client reads slower than this many chunks behind

_recipients = cast(Table, Recipient.__table__)
_publications = cast(Table, Publication.__table__)
_vouchers = cast(Table, Voucher.__table__)


def neutralize(value: str | None) -> str | None:
    """A cell a spreadsheet would evaluate gets a leading quote; anything else is unchanged."""
    if value and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


RECORD_EXPORT = "record_export_publications"
_PUBLICATION_CHUNK = 50_000


async def record_export(session: AsyncSession, client_id: uuid.UUID, campaign_id: uuid.UUID) -> uuid.UUID:
    """An export publishes its codes (seed 002, channel ``export``). The history rows (one per code,
    the first time it is exported) are written by a background job in chunks, so an export of a
    million recipients starts streaming at once; the job covers the recipients that existed at
    the time of the export. Returns the publication (batch) id."""
    batch_id = new_id()
    await jobs.enqueue(
        session,
        kind=RECORD_EXPORT,
        client_id=client_id,
        payload={
            "campaign_id": str(campaign_id),
            "batch_id": str(batch_id),
            "exported_at": clock.now().isoformat(),
        },
    )
    return batch_id


async def record_export_chunk(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    campaign_id: uuid.UUID,
    batch_id: uuid.UUID,
    exported_at: datetime,
    after: uuid.UUID | None,
    limit: int = _PUBLICATION_CHUNK,
) -> tuple[int, uuid.UUID | None]:
    """``export`` publications for the next ``limit`` recipients of the export in voucher-id order
    after ``after``; returns how many were new and the cursor to go on from (``None``: done).
    Each chunk costs the same however far the job has got: the recipients come from an index in
    key order, and a code published by an earlier export is skipped by the unique index
    (``ON CONFLICT DO NOTHING``), not looked for."""
    recipients = (
        select(_recipients.c.voucher_id)
        .where(
            _recipients.c.campaign_id == campaign_id,
            _recipients.c.client_id == client_id,
            _recipients.c.created_at <= exported_at,
        )
        .order_by(_recipients.c.voucher_id)
    )
    if after is not None:
        recipients = recipients.where(_recipients.c.voucher_id > after)
    chunk = recipients.limit(limit).subquery()
    upto = await session.scalar(select(chunk.c.voucher_id).order_by(chunk.c.voucher_id.desc()).limit(1))
    if upto is None:
        return 0, None
    dialect = session.get_bind().dialect.name
    random_id = "gen_random_uuid()" if dialect == "postgresql" else "lower(hex(randomblob(16)))"
    source = select(
        literal_column(random_id),
        _recipients.c.client_id,
        _recipients.c.campaign_id,
        _recipients.c.voucher_id,
        _recipients.c.customer_id,
        literal(batch_id, _publications.c.batch_id.type),
        literal(CHANNEL_EXPORT),
        literal(exported_at, _publications.c.created_at.type),
    ).where(
        _recipients.c.campaign_id == campaign_id,
        _recipients.c.client_id == client_id,
        _recipients.c.created_at <= exported_at,
        _recipients.c.voucher_id <= upto,
        *([_recipients.c.voucher_id > after] if after is not None else []),
    )
    columns = [
        "id",
        "client_id",
        "campaign_id",
        "voucher_id",
        "customer_id",
        "batch_id",
        "channel",
        "created_at",
    ]
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_(_publications).from_select(columns, source).on_conflict_do_nothing()
    result = await session.execute(statement)
    return max(int(getattr(result, "rowcount", 0) or 0), 0), upto


async def export_published_event(
    session: AsyncSession,
    client_id: uuid.UUID,
    campaign_id: uuid.UUID,
    batch_id: uuid.UUID,
    count: int,
    at: datetime,
) -> None:
    """One ``voucher.published`` event per export that published codes (not one per code)."""
    if count:
        await events.record(
            session,
            client_id,
            events.VOUCHER_PUBLISHED,
            {
                "publication_id": str(batch_id),
                "campaign_id": str(campaign_id),
                "channel": CHANNEL_EXPORT,
                "count": count,
                "published_at": clock.isoformat_z(at),
            },
        )


def _sql_text(column: str) -> str:
    return (
        f"CASE WHEN substr({column}, 1, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') "
        f"THEN '''' || {column} ELSE {column} END"
    )


def _sql_time(column: str) -> str:
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


# Only our own column expressions are interpolated; values are bind parameters.
_PG_QUERY = f"""
SELECT {_sql_text("r.email")} AS email,
       {_sql_text("r.forename")} AS forename,
       {_sql_text("v.code")} AS voucher_code,
       $1 || '/redeem/' || v.code AS redemption_url,
       CASE WHEN v.redeemed_count > 0 THEN 'true' ELSE 'false' END AS redeemed,
       {_sql_time("r.opened_at")} AS opened_at,
       {_sql_time("r.clicked_at")} AS clicked_at,
       {_sql_text("r.surname")} AS surname,
       {_sql_text("r.mobile")} AS mobile,
       {_sql_text("r.postcode")} AS postcode,
       {_sql_text("r.external_id")} AS external_id,
       r.id AS recipient_id,
       r.customer_id AS customer_id,
       {_sql_time("r.bounced_at")} AS bounced_at,
       $1 || '/t/o/' || r.id || '.gif' AS tracking_pixel_url,
       $1 || '/t/c/' || r.id AS click_tracking_url,
       {_sql_time("r.created_at")} AS created_at
FROM recipients r JOIN vouchers v ON v.id = r.voucher_id
WHERE r.campaign_id = $2 AND r.client_id = $3
ORDER BY r.created_at, r.id
"""  # noqa: S608


async def stream_csv(
    database: Database, client_id: uuid.UUID, campaign_id: uuid.UUID
) -> AsyncIterator[bytes]:
    """The CSV, header first, in chunks, read in one transaction (one consistent snapshot)."""
    if database.is_postgres:
        async for chunk in _stream_postgres(database, client_id, campaign_id):
            yield chunk
    else:
        async for chunk in _stream_rows(database, client_id, campaign_id):
            yield chunk


async def _stream_postgres(
    database: Database, client_id: uuid.UUID, campaign_id: uuid.UUID
) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=_QUEUE_CHUNKS)

    async def produce() -> None:
        try:
            async with unit_of_work(database, write=False) as session:
                driver = await driver_of(session)
                await driver.copy_from_query(
                    _PG_QUERY,
                    links.base_url(),
                    campaign_id,
                    client_id,
                    output=lambda data: queue.put(bytes(data)),
                    format="csv",
                    header=True,
                    # The COPY lasts as long as the download (it waits for a slow client), so the
                    # statement timeout of a request would cut a big export; an hour instead.
                    timeout=EXPORT_TIMEOUT_SECONDS,
                )
        finally:
            await queue.put(None)

    task = asyncio.create_task(produce())
    try:
        while True:
            chunk = await queue.get()
            if chunk is None:
                break
            yield chunk
        await task  # re-raises a failed COPY
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _time(value: datetime | None) -> str | None:
    return clock.isoformat_z(value) if value is not None else None


def _csv_rows(rows: Iterable[Any], base: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        recipient_id = str(row.id)
        writer.writerow(
            (
                neutralize(row.email),
                neutralize(row.forename),
                neutralize(row.code),
                f"{base}/redeem/{row.code}",
                "true" if row.redeemed_count > 0 else "false",
                _time(row.opened_at),
                _time(row.clicked_at),
                neutralize(row.surname),
                neutralize(row.mobile),
                neutralize(row.postcode),
                neutralize(row.external_id),
                recipient_id,
                str(row.customer_id),
                _time(row.bounced_at),
                f"{base}/t/o/{recipient_id}.gif",
                f"{base}/t/c/{recipient_id}",
                _time(row.created_at),
            )
        )
    return buffer.getvalue().encode("utf-8")


async def _stream_rows(
    database: Database, client_id: uuid.UUID, campaign_id: uuid.UUID
) -> AsyncIterator[bytes]:
    base = links.base_url()
    yield (",".join(COLUMNS) + "\n").encode()
    query = (
        select(
            _recipients.c.id,
            _recipients.c.customer_id,
            _recipients.c.email,
            _recipients.c.forename,
            _recipients.c.surname,
            _recipients.c.mobile,
            _recipients.c.postcode,
            _recipients.c.external_id,
            _recipients.c.opened_at,
            _recipients.c.clicked_at,
            _recipients.c.bounced_at,
            _recipients.c.created_at,
            _vouchers.c.code,
            _vouchers.c.redeemed_count,
        )
        .join(_vouchers, _vouchers.c.id == _recipients.c.voucher_id)
        .where(_recipients.c.campaign_id == campaign_id, _recipients.c.client_id == client_id)
        .order_by(_recipients.c.created_at, _recipients.c.id)
        .execution_options(yield_per=_CHUNK_ROWS)
    )
    async with unit_of_work(database, write=False) as session:
        result = await session.stream(query)
        async for partition in result.partitions(_CHUNK_ROWS):
            yield _csv_rows(partition, base)
