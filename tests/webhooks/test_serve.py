"""`voucherd serve` on SQLite delivers webhooks by itself (the embedded worker)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.fixtures.processes import free_port
from tests.fixtures.receiver import running_receiver


@pytest.mark.crash
def test_serve_on_sqlite_delivers_a_redemption_webhook(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the embedded worker is the SQLite default")
    env = {
        **os.environ,
        "VOUCHERD_DATABASE_URL": db_url,
        "VOUCHERD_WEBHOOK_ALLOWED_CIDRS": '["127.0.0.0/8"]',
        "COLUMNS": "250",
    }
    created = subprocess.run(
        [sys.executable, "-m", "voucherd.cli.main", "clients", "create", "Shop", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    key = json.loads(created.stdout)["api_key"]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "voucherd.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"X-API-Key": key}
    try:
        with running_receiver() as receiver, httpx.Client(base_url=base, headers=headers, timeout=10) as api:
            deadline = time.monotonic() + 60
            while True:
                try:
                    api.get("/healthz")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.2)
            hook = api.post(
                "/api/integrations/webhooks",
                json={"name": "Shop", "url": receiver.url, "events": ["voucher.redeemed"]},
            )
            assert hook.status_code == 201, hook.text
            campaign = api.post(
                "/api/campaigns",
                json={"name": "Summer Sale", "discount_type": "percentage", "discount_value": 20},
            ).json()
            [code] = api.post(f"/api/campaigns/{campaign['id']}/vouchers", json={"count": 1}).json()["codes"]
            redeemed = api.post(
                "/api/webhook/redemption",
                json={"code": code, "transaction_amount": 45.99, "order_reference": "ORD-1"},
            )
            assert redeemed.status_code == 201
            deadline = time.monotonic() + 60
            while not receiver.requests:
                assert time.monotonic() < deadline, "no delivery arrived"
                time.sleep(0.1)
            [request] = receiver.requests
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    body = json.loads(request.body)
    assert body["event"] == "voucher.redeemed"
    assert body["data"]["voucher_code"] == code
    assert body["data"]["discount_applied"] == 9.2
