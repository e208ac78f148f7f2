"""The documented command forms, run as real processes, and a worker killed mid-job."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.fixtures.processes import VOUCHERD, env_for, run, serving
from voucherd.db import Database, unit_of_work
from voucherd.db.engine import create_database
from voucherd.models import Job, Voucher


def test_clients_and_keys_commands(db_url: str) -> None:
    env = env_for(db_url)
    created = run(
        ["clients", "create", "Demo Restaurant", "--currency", "EUR", "--timezone", "Europe/Paris", "--json"],
        env,
    )
    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    assert body["api_key"].startswith("vd_live_")
    assert body["currency"] == "EUR"
    second = run(["keys", "create", body["client_id"], "--name", "till", "--json"], env)
    key = json.loads(second.stdout)
    assert key["api_key"] != body["api_key"]
    listing = run(["keys", "list", body["client_id"]], env)
    assert body["api_key"][:16] in listing.stdout
    assert body["api_key"] not in listing.stdout
    assert run(["keys", "revoke", key["api_key_id"]], env).returncode == 0
    refused = run(["clients", "create", "X", "--timezone", "Mars/Olympus"], env)
    assert refused.returncode == 2
    assert "Unknown timezone" in refused.stderr


def test_staff_create_and_the_demo_login(db_url: str) -> None:
    env = env_for(db_url)
    demo = json.loads(run(["demo", "--json"], env).stdout)
    assert demo["staff_email"] == "owner@demo-restaurant.example"
    assert len(demo["staff_password"]) >= 10
    made = subprocess.run(
        [*VOUCHERD, "staff", "create", demo["client_id"], "waiter@example.com", "--domain", "demo-restaurant",
         "--password-stdin", "--json"],
        env=env, input="a long waiter password\n", capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    member = json.loads(made.stdout)
    assert (member["email"], member["role"]) == ("waiter@example.com", "staff")
    assert "password" not in member
    generated = json.loads(run(["staff", "create", demo["client_id"], "boss@example.com", "--role", "manager",
                                "--json"], env).stdout)  # fmt: skip
    assert len(generated["password"]) >= 10
    taken = run(["staff", "create", demo["client_id"], "WAITER@example.com"], env)
    assert taken.returncode == 2
    assert "already has a login" in taken.stderr
    unknown_page = run(["staff", "create", demo["client_id"], "x@example.com", "--domain", "nope"], env)
    assert unknown_page.returncode == 2
    assert "No sales page" in unknown_page.stderr


def test_serve_answers_the_documented_curl(db_url: str, tmp_path: Path) -> None:
    env = env_for(db_url)
    demo = json.loads(run(["demo", "--json"], env).stdout)
    with serving(env) as (base, _):
        response = httpx.get(
            f"{base}/api/webhook/validate/{demo['codes'][0]}", headers={"X-API-Key": demo["api_key"]}
        )
        assert response.status_code == 200
        assert "server" not in response.headers  # no "Server: uvicorn"
        assert response.json()["client_name"] == "Demo Restaurant"
        assert response.json()["discount_description"] == "20% off your order"
        assert httpx.get(f"{base}/docs").status_code == 200
        # the demo's gift card, as the demo's printed curl asks for it
        status = httpx.get(
            f"{base}/vouchercart/v1/status",
            params={"code": demo["gift_card_code"], "domain": demo["domain"]},
            headers={"Authorization": f"Bearer {demo['api_key']}"},
        )
        assert status.status_code == 200, status.text
        assert (status.json()["stock"], status.json()["status"], status.json()["monetary"]) == (
            2500,
            "in_progress",
            True,
        )
        listed = httpx.get(
            f"{base}/vouchercart/v1/vouchers",
            params={"domainId": demo["domain"]},
            headers={"Authorization": f"Bearer {demo['api_key']}"},
        ).json()
        titles = [item["title"] for item in listed]
        assert titles == ["Demo Restaurant gift card", "Dinner for two", "Coffee card"]
        # the demo's gift voucher shop lists the same vouchers
        assert demo["shop_url"] == "http://127.0.0.1:8000/shop/demo-restaurant/"
        shop = httpx.get(f"{base}/shop/demo-restaurant/")
        assert shop.status_code == 200
        assert all(title in shop.text for title in titles)
        # a second demo run leaves existing data alone
        assert json.loads(run(["demo", "--json"], env).stdout) is None


async def _count(db_url: str) -> tuple[int, int, str]:
    database = create_database(db_url, pool=False)
    try:
        async with unit_of_work(database, write=False) as session:
            total = await session.scalar(select(func.count()).select_from(Voucher))
            distinct = await session.scalar(select(func.count(func.distinct(Voucher.code))))
            status = await session.scalar(select(Job.status))
        return int(total or 0), int(distinct or 0), str(status)
    finally:
        await database.dispose()


def _queue_bulk_job(db_url: str, env: dict[str, str], count: int) -> None:
    """Through a real server, as a user would: a campaign and a generation request for a job."""
    client = json.loads(run(["clients", "create", "Bulk", "--json"], env).stdout)
    headers = {"X-API-Key": client["api_key"]}
    with serving({**env, "VOUCHERD_EMBEDDED_WORKER": "false"}) as (base, _):
        campaign = httpx.post(
            f"{base}/api/campaigns",
            json={"name": "Bulk", "discount_type": "fixed", "discount_value": 5, "code_length": 10},
            headers=headers,
        ).json()
        job = httpx.post(
            f"{base}/api/campaigns/{campaign['id']}/vouchers", json={"count": count}, headers=headers
        )
        assert job.status_code == 202


async def _progress(database: Database) -> int:
    async with unit_of_work(database, write=False) as session:
        return int(await session.scalar(select(Job.progress)) or 0)


async def _interrupt_worker(db_url: str, env: dict[str, str], sig: signal.Signals, *, after: int) -> int:
    """Start ``voucherd worker``, wait until it has committed ``after`` more codes of the job, send
    it ``sig`` and return its exit status. The job's progress is polled every 2 ms on one
    connection: the worker writes tens of thousands of codes a second, and a slower poll can miss
    the middle of the job."""
    database = create_database(db_url)
    try:
        target = await _progress(database) + after
        worker = await asyncio.create_subprocess_exec(
            *VOUCHERD, "worker", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        # The database is the only signal there is: poll it.
        while await _progress(database) < target and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        worker.send_signal(sig)
        return await asyncio.wait_for(worker.wait(), 60)
    finally:
        await database.dispose()


@pytest.mark.crash
def test_worker_killed_mid_job_is_taken_over_without_duplicates_or_gaps(db_url: str) -> None:
    env = env_for(
        db_url,
        VOUCHERD_CODE_CHUNK_SIZE="2000",
        VOUCHERD_JOB_LEASE_SECONDS="1",
        VOUCHERD_WORKER_POLL_SECONDS="0.1",
    )
    _queue_bulk_job(db_url, env, 60000)
    kills = 0
    for _ in range(3):  # start a worker, let it commit some chunks, SIGKILL it
        assert asyncio.run(_interrupt_worker(db_url, env, signal.SIGKILL, after=6000)) == -signal.SIGKILL
        kills += 1
    total, _distinct, _status = asyncio.run(_count(db_url))
    assert 0 < total < 60000, "the kills must land mid-job"
    finisher = subprocess.Popen(
        [*VOUCHERD, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and asyncio.run(_count(db_url))[2] != "succeeded":
            time.sleep(0.1)
    finally:
        finisher.send_signal(signal.SIGTERM)
        finisher.wait(timeout=30)
    assert asyncio.run(_count(db_url)) == (60000, 60000, "succeeded")
    assert kills == 3


async def _job(db_url: str) -> tuple[str, int, object]:
    database = create_database(db_url, pool=False)
    try:
        async with unit_of_work(database, write=False) as session:
            job = (await session.scalars(select(Job))).one()
            return job.status, job.progress, job.lease_until
    finally:
        await database.dispose()


def test_worker_stopped_mid_job_hands_it_back_between_chunks(db_url: str) -> None:
    """SIGTERM: the worker stops before its next chunk and puts the job back in the queue, due now
    (no lease to wait out), so that another worker resumes it: no gap, no duplicate (K8)."""
    env = env_for(db_url, VOUCHERD_CODE_CHUNK_SIZE="2000", VOUCHERD_WORKER_POLL_SECONDS="0.1")
    _queue_bulk_job(db_url, env, 60000)
    assert asyncio.run(_interrupt_worker(db_url, env, signal.SIGTERM, after=4000)) == 0
    status, progress, lease_until = asyncio.run(_job(db_url))
    assert (status, lease_until) == ("queued", None)
    assert 0 < progress < 60000, "the stop must land mid-job"
    assert asyncio.run(_count(db_url))[0] == progress
    finisher = subprocess.Popen(
        [*VOUCHERD, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and asyncio.run(_count(db_url))[2] != "succeeded":
            time.sleep(0.1)
    finally:
        finisher.send_signal(signal.SIGTERM)
        finisher.wait(timeout=30)
    assert asyncio.run(_count(db_url)) == (60000, 60000, "succeeded")


@pytest.mark.crash
def test_serve_with_two_processes_sums_their_metrics(db_url: str, tmp_path: Path) -> None:
    """``--workers 2``: prometheus-client's multiprocess mode, so any process's /metrics counts
    the requests every process served."""
    samples = tmp_path / "metrics"  # its own folder: every *.db file in it is read as samples
    samples.mkdir()
    # (several processes need shared rate limits or none: tests/ops/test_serve_processes.py)
    env = env_for(db_url, PROMETHEUS_MULTIPROC_DIR=str(samples), VOUCHERD_RATE_LIMITS_ENABLED="false")
    demo = json.loads(run(["demo", "--json"], env).stdout)
    with serving(env, "--workers", "2") as (base, _):
        for _ in range(40):  # new connections: the kernel spreads them over both processes
            with httpx.Client() as fresh:
                answer = fresh.get(
                    f"{base}/api/webhook/validate/{demo['codes'][0]}", headers={"X-API-Key": demo["api_key"]}
                )
                assert answer.status_code == 200
        pids = {path.name.split("_")[-1] for path in samples.glob("histogram_*.db")}
        assert len(pids) == 2  # both processes served and wrote their samples
        page = httpx.get(f"{base}/metrics").text
        line = next(
            line
            for line in page.splitlines()
            if line.startswith("voucherd_http_request_duration_seconds_count")
            and 'route="/webhook/validate/{code}"' in line
        )
        assert float(line.rsplit(" ", 1)[1]) == 40
