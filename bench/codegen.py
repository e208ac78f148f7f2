"""Bulk code generation: voucherd's job, as users run it, against a raw COPY of as many rows.

The job path is ``generate_vouchers`` (what ``POST /api/campaigns/{id}/vouchers`` calls) and then
``jobs.runner.run_until_idle`` (what ``voucherd worker`` runs): ``code_chunk_size`` codes per
transaction. The baseline makes the codes with the same generator and stores them with one
``copy_records_to_table`` into a scratch table made ``LIKE vouchers`` (same columns, constraints
and indexes, without the foreign key), with time-ordered ids and one ``created_at`` per chunk as
the job writes them, so that every index sees the same keys."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import asyncpg  # type: ignore[import-untyped]

from bench.common import (
    CODE_LENGTH,
    BenchError,
    Figure,
    Section,
    Target,
    Tenant,
    checkpoint,
    create_campaign,
    dsn,
    generate_codes,
    progress,
    ratio,
)
from voucherd.config import get_settings
from voucherd.core import ids
from voucherd.core.codes import CodePattern
from voucherd.db import Database

TARGET_SECONDS = {100_000: 3.0, 1_000_000: 15.0}
SCRATCH_TABLE = "bench_vouchers_copy"
COPY_COLUMNS = ["id", "client_id", "campaign_id", "code", "redeemed_count", "job_id", "created_at"]


def _label(count: int) -> str:
    return f"{count // 1_000_000}m" if count % 1_000_000 == 0 else f"{count // 1000}k"


async def _time_job(database: Database, connection: asyncpg.Connection, tenant: Tenant, count: int) -> float:
    campaign_id = await create_campaign(database, tenant, f"Bench codegen {_label(count)}")
    await checkpoint()
    start = time.perf_counter()
    await generate_codes(database, tenant, campaign_id, count)
    elapsed = time.perf_counter() - start
    stored = await connection.fetchval("SELECT count(*) FROM vouchers WHERE campaign_id = $1", campaign_id)
    if stored != count:
        raise BenchError(f"the job stored {stored:,} codes, not {count:,}")
    return elapsed


async def _time_copy(connection: asyncpg.Connection, tenant: Tenant, count: int) -> float:
    pattern = CodePattern.build(length=CODE_LENGTH)
    chunk = get_settings().code_chunk_size
    client_id, campaign_id = tenant.principal.client_id, uuid.uuid4()
    await checkpoint()
    start = time.perf_counter()
    unique: set[str] = set()
    while len(unique) < count:  # the unique index refuses the rare duplicate draw
        unique.update(pattern.generate(count - len(unique)))
    codes = list(unique)
    records: list[tuple[object, ...]] = []
    for first in range(0, count, chunk):
        now = datetime.now(UTC)
        part = codes[first : first + chunk]
        made = ids.driver_ids(len(part))
        records += [
            (i, client_id, campaign_id, code, 0, None, now) for i, code in zip(made, part, strict=True)
        ]
    await connection.copy_records_to_table(SCRATCH_TABLE, records=records, columns=COPY_COLUMNS)
    return time.perf_counter() - start


async def run(database: Database, tenant: Tenant, counts: tuple[int, ...]) -> Section:
    figures: list[Figure] = []
    connection = await asyncpg.connect(dsn())
    try:
        await connection.execute(f"CREATE TABLE {SCRATCH_TABLE} (LIKE vouchers INCLUDING ALL)")
        for count in counts:
            label = _label(count)
            progress(f"codegen: {count:,} codes through the job")
            job = await _time_job(database, connection, tenant, count)
            progress(f"codegen: {count:,} codes through COPY")
            copy = await _time_copy(connection, tenant, count)
            target = TARGET_SECONDS.get(count)
            figures += [
                Figure(f"codegen.{label}.job", job, "s", Target("<", target) if target else None),
                Figure(f"codegen.{label}.copy", copy, "s"),
                ratio(f"codegen.{label}.job/copy", job, copy),
            ]
        await connection.execute(f"DROP TABLE {SCRATCH_TABLE}")
    finally:
        await connection.close()
    notes = [
        f"codegen: job = generate_vouchers + jobs.runner.run_until_idle, {get_settings().code_chunk_size:,} "
        f"codes per transaction, codes of {CODE_LENGTH} symbols; copy = the same generator + one "
        "copy_records_to_table into a table LIKE vouchers INCLUDING ALL (same indexes, no foreign "
        "keys), with time-ordered ids as voucherd makes them and one created_at per chunk as the job "
        "writes; the job writes on "
        f"{get_settings().code_job_connections} connections side by side",
    ]
    return Section(notes=notes, figures=figures)
