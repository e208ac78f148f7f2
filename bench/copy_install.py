"""``voucherd copy``: a SQLite install with a million codes moved to PostgreSQL, as an operator
would move it (``voucherd copy --to ...``, the same functions), timed in its two parts: the copy
(every table, batches of 10,000 by primary key, one binary COPY per batch, sequences set) and the
verification (every row of both sides read back, hashed and summed per table)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench.common import (
    BENCH_DATABASE,
    POSTGRES,
    Figure,
    Section,
    Tenant,
    _admin,
    create_campaign,
    create_tenant,
    generate_codes,
    progress,
    run_command,
    voucherd_command,
    voucherd_env,
)
from voucherd.db.engine import create_database
from voucherd.ops import copy as copying

TARGET_DATABASE = f"{BENCH_DATABASE}_copy"


async def _sqlite_install(folder: Path, count: int) -> str:
    url = f"sqlite+aiosqlite:///{folder / 'voucherd.db'}"
    env = {**voucherd_env(), "VOUCHERD_DATABASE_URL": url}
    await run_command(voucherd_command("migrate"), env)
    tenant: Tenant = await create_tenant(env)
    database = create_database(url)
    try:
        campaign_id = await create_campaign(database, tenant, "Bench copy")
        progress(f"copy: {count:,} codes into the SQLite install")
        await generate_codes(database, tenant, campaign_id, count)
    finally:
        await database.dispose()
    return url


async def run(count: int) -> Section:
    folder = Path(tempfile.mkdtemp(prefix="voucherd-bench-copy-"))
    target_url = f"{POSTGRES}/{TARGET_DATABASE}".replace("postgresql://", "postgresql+asyncpg://", 1)
    await _admin(f"DROP DATABASE IF EXISTS {TARGET_DATABASE} WITH (FORCE)")
    await _admin(f"CREATE DATABASE {TARGET_DATABASE}")
    try:
        source_url = await _sqlite_install(folder, count)
        await run_command(
            voucherd_command("migrate"), {**voucherd_env(), "VOUCHERD_DATABASE_URL": target_url}
        )
        source = create_database(source_url, pool=False)
        target = create_database(target_url, pool=False)
        try:
            progress(f"copy: moving {count:,} codes to PostgreSQL")
            started = time.perf_counter()
            rows = await copying.copy_install(source, target)
            copied = time.perf_counter() - started
            progress("copy: verifying")
            started = time.perf_counter()
            checks = await copying.verify(source, target)
            verified = time.perf_counter() - started
        finally:
            await source.dispose()
            await target.dispose()
        wrong = [check.table for check in checks if not check.matches]
        if wrong:
            raise RuntimeError(f"copy: the verification found differences in {wrong}")
    finally:
        await _admin(f"DROP DATABASE IF EXISTS {TARGET_DATABASE} WITH (FORCE)")
        shutil.rmtree(folder, ignore_errors=True)
    label = f"{count // 1000}k" if count < 1_000_000 else f"{count // 1_000_000}m"
    notes = [
        f"copy: a SQLite install with {count:,} codes ({rows:,} rows in all) into a new PostgreSQL "
        "database; copy = every table and the sequences, verify = counts and checksums of both sides"
    ]
    return Section(
        notes,
        [
            Figure(f"copy_{label}_codes", copied, "s"),
            Figure(f"copy_{label}_verify", verified, "s"),
            Figure(f"copy_{label}_rows_per_s", rows / copied, "req/s"),
        ],
    )
