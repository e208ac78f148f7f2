"""``voucherd copy --to postgresql+asyncpg://...``: a populated SQLite install moved to
PostgreSQL, interrupted and resumed, verified, and then served from PostgreSQL by real processes:
the same API keys, codes, gift card balance and ledger, and the webhooks still owed, delivered."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL, _admin
from tests.fixtures.processes import VOUCHERD, env_for, free_port, run, wait_for
from tests.fixtures.receiver import Receiver, running_receiver
from voucherd.api.app import create_app
from voucherd.config import get_settings
from voucherd.db import Database, set_database, unit_of_work
from voucherd.db.engine import create_database
from voucherd.models import CampaignFigures, Event, NumberGrant, Voucher, WebhookDelivery
from voucherd.ops import copy as copying
from voucherd.webhooks import delivery

pytestmark = pytest.mark.crash  # real processes
HOOKS = '["127.0.0.0/8"]'


class Stop(Exception):
    """The copy's simulated crash."""


@pytest.fixture
def postgres_target() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("voucherd copy needs PostgreSQL: set VOUCHERD_TEST_POSTGRES_URL (CI sets it)")
    name = f"voucherd_copy_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    migrated = run(["migrate"], env_for(url))
    assert migrated.returncode == 0, migrated.stderr
    yield url
    asyncio.run(_admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
async def sqlite_install(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, Database]]:
    path = tmp_path / "voucherd.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    monkeypatch.setenv("VOUCHERD_DATABASE_URL", url)
    monkeypatch.setenv("VOUCHERD_WEBHOOK_ALLOWED_CIDRS", HOOKS)
    get_settings.cache_clear()
    database = create_database(url)
    set_database(database)
    yield url, database
    set_database(None)
    await database.dispose()


async def _populate(url: str, database: Database, receiver: Receiver) -> dict[str, Any]:
    """Every kind of thing an install holds, made through the API (and the CLI's demo)."""
    demo = json.loads(run(["demo", "--json"], env_for(url)).stdout)
    second_key = json.loads(
        run(["keys", "create", demo["client_id"], "--name", "till", "--json"], env_for(url)).stdout
    )
    headers = {"X-API-Key": demo["api_key"]}
    app = create_app(embedded_worker=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://voucherd.test", headers=headers
    ) as api:
        hook = await api.post(
            "/api/integrations/webhooks",
            json={"name": "Shop", "url": receiver.url, "events": ["voucher.redeemed"]},
        )
        assert hook.status_code == 201, hook.text
        campaign = (
            await api.post(
                "/api/campaigns", json={"name": "Autumn", "discount_type": "fixed", "discount_value": 5}
            )
        ).json()
        codes = (await api.post(f"/api/campaigns/{campaign['id']}/vouchers", json={"count": 50})).json()[
            "codes"
        ]
        uploaded = await api.post(
            f"/api/integrations/campaigns/{campaign['id']}/recipients",
            json={
                "recipients": [{"email": "ann@example.com", "forename": "Ann"}, {"email": "bo@example.com"}]
            },
        )
        assert uploaded.status_code == 201, uploaded.text

        async def redeem(code: str, order: str) -> None:
            body = {"code": code, "transaction_amount": 40, "order_reference": order}
            answer = await api.post("/api/webhook/redemption", json=body)
            assert answer.status_code == 201, answer.text

        # a redemption whose delivery is waiting to be sent, and one whose event is not even
        # turned into a delivery yet (no worker ran)
        await redeem(codes[0], "ORD-1")
        assert await delivery.dispatch_once(database) > 0
        await redeem(codes[1], "ORD-2")
        card = demo["gift_card_code"]
        held = (await api.post(f"/api/giftcards/{card}/holds", json={"amount": "5"})).json()
        captured = await api.post(
            f"/api/giftcards/{card}/holds/{held['id']}/capture", json={"amount": "3.25"}
        )
        assert captured.status_code == 200, captured.text
        shown = (await api.get(f"/api/giftcards/{card}")).json()
    assert shown["balance"] == 21.75
    async with unit_of_work(database, write=False) as session:
        pending = await session.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "pending")
        )
        events = await session.scalar(select(func.count()).select_from(Event))
        last_number = await session.scalar(select(func.max(NumberGrant.number)))
    assert pending == 1
    assert (events or 0) > 2
    return {
        **demo,
        "second_key": second_key["api_key"],
        "codes": codes,
        "card": shown,
        "last_number": last_number,
    }


async def _copy_until_interrupted(source_url: str, target_url: str) -> None:
    """The copy, crashed on its third batch of the codes' table (batches of 20)."""
    source = create_database(source_url, pool=False)
    target = create_database(target_url, pool=False)
    batches = 0

    def crash(table: str, done: int, total: int) -> None:
        nonlocal batches
        if table == "vouchers" and done > 0:
            batches += 1
            if batches == 2:
                raise Stop

    try:
        with pytest.raises(Stop):
            await copying.copy_install(source, target, batch=20, on_progress=crash)
        assert await copying._count(target, copying.Base.metadata.tables["vouchers"]) == 40
    finally:
        await source.dispose()
        await target.dispose()


def _serve_on(url: str, receiver: Receiver) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes], str]:
    env = env_for(url, VOUCHERD_WEBHOOK_ALLOWED_CIDRS=HOOKS, VOUCHERD_WEBHOOK_POLL_SECONDS="0.05")
    port = free_port()
    server = subprocess.Popen(
        [*VOUCHERD, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [*VOUCHERD, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz", server)
    return server, worker, base


async def test_a_populated_install_moves_to_postgres_and_keeps_working(
    sqlite_install: tuple[str, Database], postgres_target: str, receiver: Receiver
) -> None:
    url, database = sqlite_install
    install = await _populate(url, database, receiver)
    await database.dispose()
    # when the copy is interrupted mid-table, then run again by the command
    await _copy_until_interrupted(url, postgres_target)
    resumed = await asyncio.to_thread(run, ["copy", "--to", postgres_target], env_for(url))
    assert resumed.returncode == 0, resumed.stderr
    assert f"verified {len(copying.tables())} tables" in resumed.stderr
    # the figures were copied, not counted again by the triggers as the rows went in
    target = create_database(postgres_target, pool=False)
    try:
        async with unit_of_work(target, write=False) as session:
            issued = await session.scalar(select(func.sum(CampaignFigures.issued)))
            codes = await session.scalar(select(func.count()).select_from(Voucher))
    finally:
        await target.dispose()
    assert issued == codes
    again = await asyncio.to_thread(run, ["copy", "--to", postgres_target], env_for(url))
    assert "copied 0 rows" in again.stderr  # nothing left to copy, and still the same
    # then PostgreSQL serves the install: the keys, the codes, the card, the owed webhooks
    assert receiver.requests == []
    server, worker, base = _serve_on(postgres_target, receiver)
    try:
        async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": install["api_key"]}) as api:
            fresh = (await api.get(f"/api/webhook/validate/{install['codes'][2]}")).json()
            assert (fresh["valid"], fresh["remaining_uses"], fresh["campaign_name"]) == (True, 1, "Autumn")
            used = (await api.get(f"/api/webhook/validate/{install['codes'][0]}")).json()
            assert used["valid"] is False
            till = {"X-API-Key": install["second_key"]}
            card = (await api.get(f"/api/giftcards/{install['gift_card_code']}", headers=till)).json()
            assert card == install["card"]
            again = await api.post(
                "/api/webhook/redemption",
                json={"code": install["codes"][0], "transaction_amount": 40, "order_reference": "ORD-1"},
            )
            assert again.status_code == 201  # the same order again: the original redemption
            assert again.json()["voucher_code"] == install["codes"][0]
            new = await api.post(
                "/api/webhook/redemption",
                json={"code": install["codes"][3], "transaction_amount": 40, "order_reference": "ORD-3"},
            )
            assert new.status_code == 201, new.text
            deadline = time.monotonic() + 60  # a hang guard
            while len(receiver.requests) < 3:
                assert time.monotonic() < deadline, receiver.requests
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        delivered = sorted(json.loads(request.body)["data"]["voucher_code"] for request in receiver.requests)
        assert delivered == sorted(install["codes"][n] for n in (0, 1, 3))
        # and a new staff login takes the next number (number_grants' sequence moved past the copied)
        made = await asyncio.to_thread(
            run,
            ["staff", "create", install["client_id"], "new@example.com", "--json"],
            env_for(postgres_target),
        )
        assert made.returncode == 0, made.stderr
        assert json.loads(made.stdout)["id"] == install["last_number"] + 1
    finally:
        for process in (server, worker):
            process.send_signal(signal.SIGTERM)
        for process in (server, worker):
            process.wait(timeout=30)


def test_copy_refuses_a_target_of_another_schema_or_install(
    sqlite_template: Path, tmp_path: Path, postgres_target: str
) -> None:
    path = tmp_path / "voucherd.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    # another install's client on the target
    assert run(["clients", "create", "Someone else"], env_for(postgres_target)).returncode == 0
    refused = run(["copy", "--to", postgres_target], env_for(url))
    assert refused.returncode == 2
    assert "holds clients this install does not have" in refused.stderr
    not_postgres = run(["copy", "--to", f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"], env_for(url))
    assert not_postgres.returncode == 2
    assert "--to must be a PostgreSQL URL" in not_postgres.stderr
