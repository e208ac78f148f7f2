"""schemathesis (``--checks all``) against a real ``voucherd serve`` on each database: every
answer is one the OpenAPI document lists, in the documented shape, no 500s, and no schema-valid
request refused except where a rule across fields allows it (``schemathesis.toml``)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import Tenant
from tests.fixtures.processes import free_port
from voucherd.db import Database

pytestmark = pytest.mark.fuzz
HERE = Path(__file__).parent
EXAMPLES = 10  # per operation and phase: about 1,500 requests, some seconds per database


async def test_the_api_answers_as_its_openapi_document_says(
    database: Database, tenant: Tenant, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "VOUCHERD_DATABASE_URL": database.url,
        "VOUCHERD_RATE_LIMITS_ENABLED": "false",  # limits have their own tests; here they hide logic
        "VOUCHERD_EMBEDDED_WORKER": "false",
    }
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voucherd.cli.main", "serve", "--port", str(port),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(400):
                try:
                    if (await client.get(f"{base}/healthz", timeout=1)).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        fuzz = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file", str(HERE / "schemathesis.toml"), "--no-color",
            "run", f"{base}/api/openapi.json", "--url", f"{base}/api",
            "--checks", "all", "--max-examples", str(EXAMPLES), "--seed", "1",
            # NUL is refused anywhere in a request, unknown fields included (tests/http/test_boundary.py)
            "--generation-allow-x00", "false",
            "--header", f"X-API-Key: {tenant.headers['X-API-Key']}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,  # where it keeps its examples database
        )  # fmt: skip
        output, _ = await asyncio.wait_for(fuzz.communicate(), timeout=300)
        report = output.decode(errors="replace")
        assert fuzz.returncode == 0, report[-20000:]
    finally:
        server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), timeout=30)
