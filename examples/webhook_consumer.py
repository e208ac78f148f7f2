"""A sample receiver of voucherd's webhooks: verify, de-duplicate, apply each voucher's events in order.

    VOUCHERD_WEBHOOK_SECRET=whsec_... python examples/webhook_consumer.py --port 8080

Standard library only. Register its public address (``https://hooks.example.com/`` in front of
``--host``/``--port``) with ``"events": ["*"]``.

What every receiver has to do, and how this one does it:

1. **Verify** the raw body before reading it. ``X-VoucherTrack-Signature`` is ``sha256=`` + the hex
   HMAC-SHA256 of the body, keyed with the secret exactly as shown (``whsec_...``); while a secret
   is being rotated it lists two values separated by ``,``. Compare in constant time.
2. **De-duplicate** on the event id, ``webhook-id``: delivery is at least once, so an event can
   arrive twice (a worker died after sending, or your answer got lost). The id never changes.
3. **Order** each voucher's events. Deliveries arrive in any order (retries, parallel sends,
   several workers). An event about a voucher carries ``data.voucher_id`` and ``data.sequence``:
   1, 2, 3... per voucher, in the order the changes committed. Number n is applied after n-1;
   a number at or below the last one applied is ignored; an event after a gap is held until the
   missing one arrives.

The numbers count every event about the voucher, so waiting for gaps needs every such event: an
endpoint subscribed to ``"*"`` since before the vouchers' first events. A gap that outlives the
retry schedule (about 5 days) will not fill: the missing event was given up, happened while the
endpoint was disabled or before it existed, or is of a type the endpoint does not take. Read the
voucher from the API then, and call :meth:`Consumer.skip_gap`. An endpoint that takes only some
event types should use ``wait_for_gaps=False``: newer wins and older is ignored, which is right for
what an event overwrites (status, owner, last change) but not for counts.

A real receiver keeps ``seen``, ``held`` and the state in its database and changes them in one
transaction per delivery, before answering 2xx; here they live in memory.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SIGNATURE_HEADER = "X-VoucherTrack-Signature"
ID_HEADER = "webhook-id"


def verify(secret: str, body: bytes, signature_header: str) -> bool:
    """Whether one of the header's ``sha256=<hex>`` values signs ``body`` with ``secret``. Compare
    bytes: ``compare_digest`` raises TypeError on a ``str`` with non-ASCII characters."""
    expected = ("sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()).encode()
    return any(
        hmac.compare_digest(expected, value.strip().encode("utf-8", "surrogatepass"))
        for value in signature_header.split(",")
    )


@dataclass
class Voucher:
    """What this receiver knows about one voucher."""

    code: str | None = None
    uses: int = 0  # redemptions minus rollbacks
    redemptions: tuple[str, ...] = ()  # ids of the live redemptions, oldest first
    customer_id: str | None = None  # whom it was published to
    lead_email: str | None = None  # who claimed it on a landing page
    referred: bool = False
    email: str | None = None  # the last signal about the message that carried it
    last_event: str | None = None
    changed_at: str | None = None  # data.created_at of the last event applied
    sequence: int = 0  # the number of the last event applied


def apply(voucher: Voucher, event: str, data: dict[str, Any]) -> None:
    """One event's change. Not commutative (a rollback removes the redemption it names, the last
    event wins the status), which is why the order matters."""
    voucher.code = data.get("voucher_code", voucher.code)
    voucher.last_event = event
    voucher.changed_at = data.get("created_at", voucher.changed_at)
    if event == "voucher.published":
        voucher.customer_id = data.get("customer_id")
    elif event == "voucher.redeemed":
        voucher.uses += 1
        voucher.redemptions += (data["redemption_id"],)
    elif event == "redemption.rolled_back":
        voucher.uses -= 1
        voucher.redemptions = tuple(r for r in voucher.redemptions if r != data["redemption_id"])
    elif event == "lead.captured":
        voucher.lead_email = data.get("email")
    elif event == "referral.converted":
        voucher.referred = True
    elif event.startswith("email."):
        voucher.email = event.removeprefix("email.")


@dataclass
class Held:
    event: str
    data: dict[str, Any]
    arrived: float


@dataclass
class Consumer:
    secret: str
    wait_for_gaps: bool = True
    vouchers: dict[str, Voucher] = field(default_factory=dict)
    held: dict[str, dict[int, Held]] = field(default_factory=dict)  # voucher id -> number -> event
    seen: set[str] = field(default_factory=set)  # event ids handled
    other_events: Counter[str] = field(default_factory=Counter)  # events about no single voucher

    def receive(self, headers: Mapping[str, str], body: bytes) -> int:
        """Handle one delivery; the HTTP status to answer."""
        signature = _header(headers, SIGNATURE_HEADER)
        if signature is None or not verify(self.secret, body, signature):
            return 401
        event_id = _header(headers, ID_HEADER)
        if event_id is None:
            return 400
        if event_id in self.seen:
            return 200  # a redelivery: handled before
        payload = json.loads(body)
        self.seen.add(event_id)
        self.handle(payload["event"], payload["data"])
        return 200

    def handle(self, event: str, data: dict[str, Any]) -> None:
        voucher_id, number = data.get("voucher_id"), data.get("sequence")
        if voucher_id is None:
            self.other_events[event] += 1
            return
        voucher = self.vouchers.setdefault(voucher_id, Voucher())
        if number is None:  # written before voucherd numbered events: no order to restore
            apply(voucher, event, data)
            return
        if number <= voucher.sequence:
            return  # not newer than what is applied (with wait_for_gaps, it was applied)
        if self.wait_for_gaps and number > voucher.sequence + 1:
            self.held.setdefault(voucher_id, {})[number] = Held(event, data, time.monotonic())
            return
        self._apply(voucher_id, voucher, number, event, data)

    def _apply(
        self, voucher_id: str, voucher: Voucher, number: int, event: str, data: dict[str, Any]
    ) -> None:
        apply(voucher, event, data)
        voucher.sequence = number
        waiting = self.held.get(voucher_id, {})
        while voucher.sequence + 1 in waiting:  # the gap is filled: release what waited for it
            held = waiting.pop(voucher.sequence + 1)
            apply(voucher, held.event, held.data)
            voucher.sequence += 1
        if not waiting:
            self.held.pop(voucher_id, None)

    def overdue(self, seconds: float) -> list[str]:
        """Vouchers whose oldest held event has waited longer than ``seconds``."""
        now = time.monotonic()
        return [
            voucher_id
            for voucher_id, waiting in self.held.items()
            if now - min(held.arrived for held in waiting.values()) > seconds
        ]

    def skip_gap(self, voucher_id: str) -> None:
        """Give up waiting: apply the held events in number order, over the gaps."""
        waiting = self.held.pop(voucher_id, {})
        voucher = self.vouchers[voucher_id]
        for number in sorted(waiting):
            apply(voucher, waiting[number].event, waiting[number].data)
            voucher.sequence = number


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def make_server(consumer: Consumer, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server that hands every POST to ``consumer`` (one at a time)."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                status = consumer.receive(dict(self.headers.items()), body)
                if status == 200:
                    print(_summary(consumer, body), flush=True)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the summary line above says what arrived

    return ThreadingHTTPServer((host, port), Handler)


def _summary(consumer: Consumer, body: bytes) -> str:
    payload = json.loads(body)
    voucher = consumer.vouchers.get(payload["data"].get("voucher_id", ""))
    if voucher is None:
        return str(payload["event"])
    return f"{payload['event']} #{payload['data'].get('sequence')}: {voucher}"


def main() -> None:
    parser = argparse.ArgumentParser(description="A sample receiver of voucherd's webhooks.")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--newer-wins", action="store_true", help="do not wait for gaps (partial subscriptions)"
    )
    arguments = parser.parse_args()
    secret = os.environ.get("VOUCHERD_WEBHOOK_SECRET")
    if not secret:
        parser.error("set VOUCHERD_WEBHOOK_SECRET to the endpoint's secret (whsec_...)")
    consumer = Consumer(secret, wait_for_gaps=not arguments.newer_wins)
    make_server(consumer, arguments.host, arguments.port).serve_forever()


if __name__ == "__main__":
    main()
