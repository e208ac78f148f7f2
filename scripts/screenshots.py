# ruff: noqa: S603 - runs our own voucherd command
"""Refresh the README's screenshots (docs/screenshots/) from the demo, as `make run` makes it.

    .venv/bin/python scripts/screenshots.py

Creates the demo client in a throw-away SQLite database, serves it, hands its five codes out and
redeems three online through the checkout API so that the campaign page has figures, and takes,
in Debian's Chromium, the staff screen checking a code on a 390 px phone (then redeeming it at the
counter) and the campaign page on a desktop.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
VOUCHERD = str(Path(sys.executable).parent / "voucherd")
CHROMIUM = os.environ.get("VOUCHERD_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "VOUCHERD_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/voucherd.db",
            "VOUCHERD_PUBLIC_URL": base,
        }
        subprocess.run([VOUCHERD, "migrate"], env=env, check=True, capture_output=True)
        demo = json.loads(
            subprocess.run([VOUCHERD, "demo", "--json"], env=env, check=True, capture_output=True).stdout
        )
        server = subprocess.Popen([VOUCHERD, "serve", "--port", str(port)], env=env)
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            key = {"X-API-Key": demo["api_key"]}
            names = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Joan Clarke", "Tim Berners-Lee")
            for code, name in zip(demo["codes"], names, strict=True):
                customer = {"name": name, "email": f"{name.split()[0].lower()}@example.com"}
                body = {"voucher": code, "customer": customer, "channel": "email"}
                httpx.post(f"{base}/api/publications", json=body, headers=key).raise_for_status()
            for number, (code, total) in enumerate(
                zip(demo["codes"][1:4], ("48.50", "31.20", "64.00"), strict=True)
            ):
                body = {
                    "code": code,
                    "transaction_amount": total,
                    "order_reference": f"ORDER-{1001 + number}",
                }
                httpx.post(f"{base}/api/webhook/redemption", json=body, headers=key).raise_for_status()
            shoot(base, demo)
        finally:
            server.terminate()
            server.wait(timeout=30)


def shoot(base: str, demo: dict[str, object]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        phone.goto(f"{base}/staff/login")
        phone.fill("#email", str(demo["staff_email"]))
        phone.fill("#password", str(demo["staff_password"]))
        phone.click("button[type=submit]")
        phone.wait_for_url(f"{base}/staff/")
        phone.fill("#code", str(demo["codes"][0]))  # type: ignore[index]
        phone.press("#code", "Enter")
        phone.wait_for_url(f"{base}/staff/check*")
        phone.screenshot(path=str(OUT / "staff-check-phone.png"))
        phone.fill("#amount", "52.00")  # and it is redeemed at the counter, for the in-store figures
        phone.press("#amount", "Enter")
        phone.wait_for_load_state()

        desktop = browser.new_page(viewport={"width": 1280, "height": 900})
        desktop.context.add_cookies(phone.context.cookies())
        desktop.goto(f"{base}/dashboard/campaigns/{demo['campaign_id']}")
        desktop.wait_for_selector("canvas")
        desktop.wait_for_timeout(800)  # the charts' entry animation
        desktop.screenshot(path=str(OUT / "campaign-page-desktop.png"), full_page=True)
        browser.close()
    for name in ("staff-check-phone.png", "campaign-page-desktop.png"):
        print(OUT / name)


if __name__ == "__main__":
    main()
