"""``voucherd serve --workers N``: in-memory rate limits would be counted per process (N times each
limit, a lockout that holds in one process only), so several processes need Redis, or no limits."""

from __future__ import annotations

import signal
import subprocess

import httpx

from tests.cli.test_commands import VOUCHERD, env_for, free_port, run, wait_until_serving


def test_several_processes_without_redis_are_refused_with_the_setting_to_set(db_url: str) -> None:
    refused = run(["serve", "--port", str(free_port()), "--workers", "2"], env_for(db_url))
    assert refused.returncode == 2
    assert "VOUCHERD_REDIS_URL" in refused.stderr
    assert "--workers 2 needs shared rate limits" in refused.stderr


def _serves(db_url: str, **extra: str) -> None:
    port = free_port()
    server = subprocess.Popen(
        [*VOUCHERD, "serve", "--port", str(port), "--workers", "2"],
        env=env_for(db_url, **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base)
        assert httpx.get(f"{base}/healthz").status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert server.returncode == 0


def test_several_processes_start_with_redis(db_url: str) -> None:
    _serves(db_url, VOUCHERD_REDIS_URL="redis://127.0.0.1:6379/0")


def test_several_processes_start_with_the_limits_turned_off(db_url: str) -> None:
    _serves(db_url, VOUCHERD_RATE_LIMITS_ENABLED="false")
