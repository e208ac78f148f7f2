"""``voucherd serve --workers N``: in-memory rate limits would be counted per process (N times each
limit, a lockout that holds in one process only), so several processes need Redis, or no limits."""

from __future__ import annotations

import httpx

from tests.fixtures.processes import env_for, free_port, run, serving


def test_several_processes_without_redis_are_refused_with_the_setting_to_set(db_url: str) -> None:
    refused = run(["serve", "--port", str(free_port()), "--workers", "2"], env_for(db_url))
    assert refused.returncode == 2
    assert "VOUCHERD_REDIS_URL" in refused.stderr
    assert "--workers 2 needs shared rate limits" in refused.stderr


def _serves(db_url: str, **extra: str) -> None:
    with serving(env_for(db_url, **extra), "--workers", "2") as (base, server):
        assert httpx.get(f"{base}/healthz").status_code == 200
    assert server.returncode == 0


def test_several_processes_start_with_redis(db_url: str) -> None:
    _serves(db_url, VOUCHERD_REDIS_URL="redis://127.0.0.1:6379/0")


def test_several_processes_start_with_the_limits_turned_off(db_url: str) -> None:
    _serves(db_url, VOUCHERD_RATE_LIMITS_ENABLED="false")
