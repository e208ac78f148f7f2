"""Distribution: a 10,000-recipient upload and a 1,000,000-recipient mail-merge export, each over
HTTP against ``voucherd serve`` (a fresh process per benchmark, so its peak RSS is its own), each
beside a raw baseline measured in the same run.

Upload baseline: the same rows (customers, vouchers, recipients, owners) stored with raw
``COPY`` by asyncpg into scratch copies of the tables, plus the QR encoding of the 10,000 URLs in
one process. Export baseline: a raw ``COPY (SELECT ...) TO STDOUT`` of the same rows and columns,
read by asyncpg. The export's seed data is written by SQL (not timed)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx

from bench.common import (
    HOST,
    Figure,
    Section,
    Target,
    Tenant,
    checkpoint,
    create_campaign,
    dsn,
    free_port,
    progress,
    ratio,
    running_server,
    settle,
    voucherd_command,
    voucherd_env,
)
from voucherd.core import qr
from voucherd.db import Database
from voucherd.jobs import runner
from voucherd.recipients.export import _PG_QUERY

UPLOAD_COUNT = 10_000
UPLOAD_TARGET_SECONDS = 5.0
EXPORT_TARGET_SECONDS = 10.0
EXPORT_TARGET_RSS_MB = 200.0


def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _recipients(count: int) -> list[dict[str, str]]:
    return [
        {
            "email": f"person{i}@example.com",
            "forename": f"Person{i}",
            "surname": "Bench",
            "mobile": f"0770090{i:04d}",
            "postcode": "SW1A 1AA",
            "external_id": f"CRM-{i}",
        }
        for i in range(count)
    ]


async def _upload_baseline(tenant: Tenant, campaign_id: uuid.UUID, count: int) -> tuple[float, float]:
    """(raw COPY seconds, QR seconds) for the rows one upload of ``count`` writes."""
    connection = await asyncpg.connect(dsn())
    try:
        for table in ("customers", "vouchers", "recipients", "voucher_owners", "publications"):
            await connection.execute(
                f"CREATE TEMP TABLE bench_{table} (LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES)"
            )
        client_id = tenant.principal.client_id
        now = time.time()
        from datetime import UTC, datetime

        stamp = datetime.fromtimestamp(now, UTC)
        customers = [uuid.uuid4() for _ in range(count)]
        vouchers = [uuid.uuid4() for _ in range(count)]
        rows = _recipients(count)
        start = time.perf_counter()
        await connection.copy_records_to_table(
            "bench_customers",
            columns=[
                "id",
                "client_id",
                "email",
                "email_key",
                "forename",
                "surname",
                "mobile",
                "postcode",
                "external_id",
                "created_at",
                "updated_at",
            ],
            records=[
                (
                    c,
                    client_id,
                    r["email"],
                    r["email"],
                    r["forename"],
                    r["surname"],
                    r["mobile"],
                    r["postcode"],
                    r["external_id"],
                    stamp,
                    stamp,
                )
                for c, r in zip(customers, rows, strict=True)
            ],
        )
        await connection.copy_records_to_table(
            "bench_vouchers",
            columns=["id", "client_id", "campaign_id", "code", "redeemed_count", "created_at"],
            records=[(v, client_id, campaign_id, f"BASE-{i:010d}", 0, stamp) for i, v in enumerate(vouchers)],
        )
        await connection.copy_records_to_table(
            "bench_recipients",
            columns=[
                "id",
                "client_id",
                "campaign_id",
                "customer_id",
                "voucher_id",
                "identity",
                "source",
                "email",
                "forename",
                "surname",
                "mobile",
                "postcode",
                "external_id",
                "created_at",
            ],
            records=[
                (
                    uuid.uuid4(),
                    client_id,
                    campaign_id,
                    c,
                    v,
                    f"ext:{r['external_id']}",
                    "upload",
                    r["email"],
                    r["forename"],
                    r["surname"],
                    r["mobile"],
                    r["postcode"],
                    r["external_id"],
                    stamp,
                )
                for c, v, r in zip(customers, vouchers, rows, strict=True)
            ],
        )
        await connection.copy_records_to_table(
            "bench_voucher_owners",
            columns=["voucher_id", "client_id", "campaign_id", "customer_id", "created_at"],
            records=[(v, client_id, campaign_id, c, stamp) for c, v in zip(customers, vouchers, strict=True)],
        )
        copy_seconds = time.perf_counter() - start
    finally:
        await connection.close()
    urls = [f"http://{HOST}:8000/redeem/BASE-{i:010d}" for i in range(count)]
    start = time.perf_counter()
    qr.data_uris(urls)
    qr_seconds = time.perf_counter() - start
    return copy_seconds, qr_seconds


async def _bench_upload(database: Database, tenant: Tenant) -> Section:
    campaign_id = await create_campaign(database, tenant, "Bench upload")
    await checkpoint()
    port = free_port()
    body = {
        "recipients": _recipients(UPLOAD_COUNT),
        "discount_type": "fixed",
        "discount_value": 10,
        "code_prefix": "JAN26",
    }
    progress(f"distribution: uploading {UPLOAD_COUNT:,} recipients")
    async with running_server(
        "voucherd-upload",
        voucherd_command("serve", "--host", HOST, "--port", str(port)),
        voucherd_env(),
        port,
    ) as process:
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=600) as client:
            start = time.perf_counter()
            response = await client.post(
                f"/api/integrations/campaigns/{campaign_id}/recipients",
                json=body,
                headers={"X-API-Key": tenant.api_key},
            )
            elapsed = time.perf_counter() - start
            if response.status_code != 201 or response.json()["total_created"] != UPLOAD_COUNT:
                raise RuntimeError(f"upload failed: {response.status_code} {response.text[:500]}")
            start = time.perf_counter()
            again = await client.post(
                f"/api/integrations/campaigns/{campaign_id}/recipients",
                json=body,
                headers={"X-API-Key": tenant.api_key},
            )
            retry = time.perf_counter() - start
            assert again.json()["total_created"] == 0
        rss = _peak_rss_mb(process.pid)
    progress("distribution: upload baseline (raw COPY, QR in one process)")
    copy_seconds, qr_seconds = await _upload_baseline(tenant, campaign_id, UPLOAD_COUNT)
    return Section(
        notes=[
            f"upload: one POST of {UPLOAD_COUNT:,} recipients (every field, fixed discount, code_prefix) "
            "to a fresh voucherd serve; the retry is the same request again (returns the existing codes)",
            "upload: baseline = raw COPY of the same customers, vouchers, recipients and owner rows into "
            "temp tables with the same indexes; QR = zxing-cpp + our PNG writer for 10,000 URLs in one "
            "process (the server spreads them over a process pool)",
        ],
        figures=[
            Figure("upload 10k recipients", elapsed, "s", Target("<", UPLOAD_TARGET_SECONDS)),
            Figure("upload 10k, retried (nothing new)", retry, "s"),
            Figure("upload: server peak RSS", rss, "MB"),
            Figure("upload baseline: raw COPY of its rows", copy_seconds, "s"),
            Figure("upload baseline: 10k QR codes, one process", qr_seconds, "s"),
            ratio("upload / raw COPY", elapsed, copy_seconds),
        ],
    )


_SEED = [
    """INSERT INTO customers (id, client_id, email, email_key, forename, surname, postcode, external_id,
                              created_at, updated_at)
       SELECT md5('c' || g)::uuid, $1, 'person' || g || '@example.com', 'person' || g || '@example.com',
              CASE WHEN g % 100 = 0 THEN '=HYPERLINK("x")' ELSE 'Person' || g END, 'Bench', 'SW1A 1AA',
              'EXP-' || g, now(), now()
       FROM generate_series(1, $3) AS g WHERE $2::uuid IS NOT NULL""",
    """INSERT INTO vouchers (id, client_id, campaign_id, code, redeemed_count, created_at)
       SELECT md5('v' || g)::uuid, $1, $2, 'EXP-' || lpad(g::text, 10, '0'), (g % 10 = 0)::int, now()
       FROM generate_series(1, $3) AS g""",
    """INSERT INTO voucher_owners (voucher_id, client_id, campaign_id, customer_id, created_at)
       SELECT md5('v' || g)::uuid, $1, $2, md5('c' || g)::uuid, now()
       FROM generate_series(1, $3) AS g""",
    """INSERT INTO recipients (id, client_id, campaign_id, customer_id, voucher_id, identity, source, email,
                               forename, surname, postcode, external_id, opened_at, created_at)
       SELECT md5('r' || g)::uuid, $1, $2, md5('c' || g)::uuid, md5('v' || g)::uuid,
              'ext:EXP-' || g, 'upload',
              'person' || g || '@example.com',
              CASE WHEN g % 100 = 0 THEN '=HYPERLINK("x")' ELSE 'Person' || g END, 'Bench', 'SW1A 1AA',
              'EXP-' || g, CASE WHEN g % 3 = 0 THEN now() END,
              now() + g * interval '1 microsecond'
       FROM generate_series(1, $3) AS g""",
]


async def _bench_export(database: Database, tenant: Tenant, count: int) -> Section:
    campaign_id = await create_campaign(database, tenant, "Bench export")
    progress(f"distribution: seeding {count:,} recipients for the export")
    connection = await asyncpg.connect(dsn())
    try:
        for statement in _SEED:
            await connection.execute(statement, tenant.principal.client_id, campaign_id, count)
    finally:
        await connection.close()
    await settle()
    port = free_port()
    label = f"{count // 1_000_000}m" if count >= 1_000_000 else f"{count // 1000}k"
    progress(f"distribution: exporting {count:,} recipients")
    async with running_server(
        "voucherd-export",
        voucherd_command("serve", "--host", HOST, "--port", str(port)),
        voucherd_env(),
        port,
    ) as process:
        idle_rss = _peak_rss_mb(process.pid)
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=600) as client:
            size = lines = 0
            start = time.perf_counter()
            async with client.stream(
                "GET",
                f"/api/integrations/campaigns/{campaign_id}/recipients/export",
                headers={"X-API-Key": tenant.api_key},
            ) as response:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    lines += chunk.count(b"\n")
            elapsed = time.perf_counter() - start
            if response.status_code != 200 or lines != count + 1:
                raise RuntimeError(f"export gave {response.status_code} with {lines} lines")
            start = time.perf_counter()
            async with client.stream(
                "GET",
                f"/api/integrations/campaigns/{campaign_id}/recipients/export",
                headers={"X-API-Key": tenant.api_key},
            ) as response:
                async for _ in response.aiter_bytes():
                    pass
            second = time.perf_counter() - start
        rss = _peak_rss_mb(process.pid)
    progress("distribution: recording the exports' publications (the job `voucherd worker` runs)")
    start = time.perf_counter()
    await runner.run_until_idle(database)
    recording = time.perf_counter() - start
    progress("distribution: export baseline (raw COPY TO STDOUT)")
    connection = await asyncpg.connect(dsn())
    try:
        raw_size = 0

        async def sink(data: bytes) -> None:
            nonlocal raw_size
            raw_size += len(data)

        start = time.perf_counter()
        await connection.copy_from_query(
            _PG_QUERY,
            f"http://{HOST}:8000",
            campaign_id,
            tenant.principal.client_id,
            output=sink,
            format="csv",
            header=True,
        )
        raw = time.perf_counter() - start
    finally:
        await connection.close()
    return Section(
        notes=[
            f"export: GET of {count:,} recipients ({size / 1e6:.0f} MB of CSV) from a fresh voucherd serve, "
            "read "
            "by a streaming client, twice; each export queues the job that records its `export` "
            "publications, timed afterwards (both jobs, as `voucherd worker` runs them); peak RSS is "
            "the server's VmHWM (idle: "
            f"{idle_rss:.0f} MB)",
            "export: baseline = raw asyncpg COPY (SELECT ...) TO STDOUT of the same query, no HTTP",
        ],
        figures=[
            Figure(f"export {label} recipients (first)", elapsed, "s", Target("<", EXPORT_TARGET_SECONDS)),
            Figure(f"export {label} recipients (again)", second, "s"),
            Figure(f"export {label}: recording its publications (job)", recording, "s"),
            Figure("export: server peak RSS", rss, "MB", Target("<", EXPORT_TARGET_RSS_MB)),
            Figure(f"export baseline: raw COPY of {label}", raw, "s"),
            ratio("export (again) / raw COPY", second, raw),
        ],
    )


async def run(database: Database, tenant: Tenant, export_count: int) -> Section:
    sections = [await _bench_upload(database, tenant)]
    if export_count:  # 0: the upload alone (python -m bench.distribution 0)
        sections.append(await _bench_export(database, tenant, export_count))
    return Section(
        notes=[note for section in sections for note in section.notes],
        figures=[figure for section in sections for figure in section.figures],
    )


async def _alone(export_count: int) -> str:
    """This benchmark by itself (``python -m bench.distribution [COUNT]``)."""
    from bench.common import (
        create_bench_database,
        create_tenant,
        database_url,
        drop_bench_database,
        format_report,
        run_command,
    )
    from voucherd.db.engine import create_database

    await create_bench_database()
    try:
        await run_command(voucherd_command("migrate"), voucherd_env())
        tenant = await create_tenant()
        database = create_database(database_url())
        try:
            section = await run(database, tenant, export_count)
        finally:
            await database.dispose()
    finally:
        await drop_bench_database()
    return format_report(section.notes, section.figures)


if __name__ == "__main__":
    import sys

    import uvloop

    print(uvloop.run(_alone(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)), end="")
