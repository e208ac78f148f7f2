"""``voucherd backup`` while a real server commits redemptions, and ``voucherd restore``."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from tests.fixtures.processes import env_for, run, serving

pytestmark = pytest.mark.crash  # real processes


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "voucherd.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


def _counts(path: Path) -> tuple[int, int, int, str]:
    """(redemptions, codes marked redeemed, redemptions the campaign figures count, integrity)."""
    with sqlite3.connect(path) as copy:
        redemptions = copy.execute("SELECT count(*) FROM redemptions").fetchone()[0]
        redeemed = copy.execute("SELECT count(*) FROM vouchers WHERE redeemed_count > 0").fetchone()[0]
        figures = copy.execute(
            "SELECT coalesce(sum(redemptions_online), 0) FROM campaign_figures"
        ).fetchone()[0]
        integrity = copy.execute("PRAGMA integrity_check").fetchone()[0]
    return redemptions, redeemed, figures, integrity


def test_backups_taken_during_redemptions_are_whole_and_consistent(sqlite_url: str, tmp_path: Path) -> None:
    # given a server redeeming codes from four clients without pause
    env = env_for(sqlite_url, VOUCHERD_RATE_LIMITS_ENABLED="false", VOUCHERD_LOG_LEVEL="ERROR")
    key = json.loads(run(["clients", "create", "Shop", "--json"], env).stdout)["api_key"]
    acknowledged: list[int] = []
    stop = threading.Event()
    with serving(env) as (base, _):
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as api:
            campaign = api.post(
                "/api/campaigns", json={"name": "Sale", "discount_type": "percentage", "discount_value": 10}
            ).json()
            codes = api.post(f"/api/campaigns/{campaign['id']}/vouchers", json={"count": 1000}).json()[
                "codes"
            ]

        def redeem(mine: list[str]) -> None:
            with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as api:
                for code in mine:
                    if stop.is_set():
                        return
                    body = {"code": code, "transaction_amount": 20, "order_reference": code}
                    answer = api.post("/api/webhook/redemption", json=body)
                    assert answer.status_code == 201, answer.text
                    acknowledged.append(1)

        writers = [threading.Thread(target=redeem, args=(codes[n::4],)) for n in range(4)]
        for writer in writers:
            writer.start()
        # when three backups are taken while they write
        results = []
        for n in range(3):
            before = len(acknowledged)
            copy = tmp_path / f"backup-{n}.db"
            made = run(["backup", str(copy)], env)
            assert made.returncode == 0, made.stderr
            results.append((before, copy, len(acknowledged)))
        stop.set()
        for writer in writers:
            writer.join()
    # then each copy opens, is whole, holds every redemption acknowledged before it started, and
    # is one moment of the database (codes, redemptions and figures agree)
    for before, copy, after in results:
        redemptions, redeemed, figures, integrity = _counts(copy)
        assert integrity == "ok"
        assert before <= redemptions <= after
        assert redeemed == figures == redemptions
    assert results[-1][0] > 0, "the backups must land while redemptions are committed"
    assert not list(tmp_path.glob("*.partial"))


def test_restore_refuses_a_database_with_data_unless_forced(sqlite_url: str, tmp_path: Path) -> None:
    env = env_for(sqlite_url)
    first = json.loads(run(["clients", "create", "First", "--json"], env).stdout)
    copy = tmp_path / "first.db"
    assert run(["backup", str(copy)], env).returncode == 0
    # a restore into a new, empty install works
    fresh = env_for(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    restored = run(["restore", str(copy)], fresh)
    assert restored.returncode == 0, restored.stderr
    listed = run(["clients", "list"], fresh)
    assert first["client_id"] in listed.stdout
    # a later write is not lost by accident
    run(["clients", "create", "Second", "--json"], env)
    refused = run(["restore", str(copy)], env)
    assert refused.returncode == 2
    assert "already holds data" in refused.stderr
    assert "Second" in run(["clients", "list"], env).stdout
    # --force puts the backup back as it was
    assert run(["restore", str(copy), "--force"], env).returncode == 0
    listing = run(["clients", "list"], env).stdout
    assert "First" in listing
    assert "Second" not in listing
    # the restored install still takes the key made before the backup
    assert run(["migrate"], env).returncode == 0
    assert run(["keys", "list", first["client_id"]], env).stdout.count(first["api_key"][:16]) == 1


def test_backup_and_restore_refuse_what_they_cannot_do(tmp_path: Path) -> None:
    postgres = env_for("postgresql+asyncpg://postgres@127.0.0.1:5432/anything")
    refused = run(["backup", str(tmp_path / "x.db")], postgres)
    assert refused.returncode == 2
    assert "pg_dump" in refused.stderr
    (tmp_path / "not-a-backup.db").write_text("hello")
    sqlite = env_for(f"sqlite+aiosqlite:///{tmp_path / 'voucherd.db'}")
    refused = run(["restore", str(tmp_path / "not-a-backup.db")], sqlite)
    assert refused.returncode == 2
    assert "not a SQLite database" in refused.stderr
