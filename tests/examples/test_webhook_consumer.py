"""The sample webhook consumer (examples/webhook_consumer.py) on hand-made deliveries: signatures,
duplicates, held events and gaps. tests/webhooks/test_ordering.py feeds it real deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from examples.webhook_consumer import Consumer, Voucher, make_server, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VOUCHER = "5d9e1c9a-0b5e-4d0e-9a43-1f7c2d9b8e01"


def delivery(
    event: str, data: dict[str, Any], *, event_id: str | None = None, secret: str = SECRET
) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"event": event, "timestamp": "2026-02-01T12:00:00Z", "data": data}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-VoucherTrack-Signature": signature, "webhook-id": event_id or str(uuid.uuid4())}, body


def about(number: int, event: str = "voucher.redeemed", **data: Any) -> tuple[dict[str, str], bytes]:
    return delivery(event, {"voucher_id": VOUCHER, "sequence": number, **data})


def redeemed(number: int, redemption: str) -> tuple[dict[str, str], bytes]:
    return about(number, "voucher.redeemed", redemption_id=redemption)


def rolled_back(number: int, redemption: str) -> tuple[dict[str, str], bytes]:
    return about(number, "redemption.rolled_back", redemption_id=redemption)


class TestVerify:
    def test_the_documented_header_and_both_values_while_rotating(self) -> None:
        headers, body = delivery("lead.captured", {})
        signature = headers["X-VoucherTrack-Signature"]
        assert verify(SECRET, body, signature)
        other = "sha256=" + hmac.new(b"whsec_other", body, hashlib.sha256).hexdigest()
        assert verify(SECRET, body, f"{other},{signature}")
        assert not verify(SECRET, body + b" ", signature)
        assert not verify("whsec_wrong", body, signature)

    @pytest.mark.parametrize("header", ["sha256=é", "\udc80", "x,sha256=\u2603", "\x00"])
    def test_a_header_with_any_characters_is_refused_not_an_error(self, header: str) -> None:
        # Fuzzing (fuzz/signatures.py): compare_digest raised TypeError on non-ASCII str.
        assert verify(SECRET, b"{}", header) is False

    def test_an_unsigned_or_tampered_delivery_changes_nothing(self) -> None:
        consumer = Consumer(SECRET)
        headers, body = redeemed(1, "r1")
        assert consumer.receive({"webhook-id": headers["webhook-id"]}, body) == 401
        assert consumer.receive(headers, body.replace(b"r1", b"r2")) == 401
        assert (consumer.vouchers, consumer.seen) == ({}, set())


class TestOrder:
    def test_a_duplicate_is_applied_once(self) -> None:
        consumer = Consumer(SECRET)
        headers, body = redeemed(1, "r1")
        assert [consumer.receive(headers, body) for _ in range(3)] == [200, 200, 200]
        assert consumer.vouchers[VOUCHER].uses == 1

    def test_an_event_after_a_gap_waits_for_the_missing_one(self) -> None:
        # given redeemed (1), rolled back (2), redeemed again (3), arriving 3, 2, 1
        consumer = Consumer(SECRET)
        for headers, body in (redeemed(3, "r2"), rolled_back(2, "r1")):
            assert consumer.receive(headers, body) == 200
        # then nothing is applied while 1 is missing
        assert consumer.vouchers[VOUCHER].sequence == 0
        assert sorted(consumer.held[VOUCHER]) == [2, 3]
        # when 1 arrives, all three apply in order
        consumer.receive(*redeemed(1, "r1"))
        voucher = consumer.vouchers[VOUCHER]
        assert (voucher.uses, voucher.redemptions, voucher.sequence) == (1, ("r2",), 3)
        assert voucher.last_event == "voucher.redeemed"
        assert consumer.held == {}

    def test_without_waiting_the_same_arrival_gives_a_wrong_state(self) -> None:
        # the rule is what makes the state right: newer-wins drops the late, older events
        consumer = Consumer(SECRET, wait_for_gaps=False)
        for headers, body in (redeemed(3, "r2"), rolled_back(2, "r1"), redeemed(1, "r1")):
            consumer.receive(headers, body)
        voucher = consumer.vouchers[VOUCHER]
        assert (voucher.uses, voucher.redemptions, voucher.sequence) == (1, ("r2",), 3)
        assert voucher.last_event == "voucher.redeemed"
        consumer = Consumer(SECRET, wait_for_gaps=False)
        for headers, body in (redeemed(1, "r1"), redeemed(3, "r2"), rolled_back(2, "r1")):
            consumer.receive(headers, body)
        # the rollback (2) came after 3 and was ignored: r1 still counts
        assert consumer.vouchers[VOUCHER].redemptions == ("r1", "r2")

    def test_a_gap_that_never_fills_can_be_skipped(self) -> None:
        consumer = Consumer(SECRET)
        consumer.receive(*about(2, "voucher.published", customer_id="c1"))
        consumer.receive(*redeemed(3, "r1"))
        assert consumer.overdue(-1.0) == [VOUCHER]
        assert consumer.overdue(3600.0) == []
        consumer.skip_gap(VOUCHER)
        voucher = consumer.vouchers[VOUCHER]
        assert (voucher.customer_id, voucher.uses, voucher.sequence) == ("c1", 1, 3)
        assert consumer.held == {}
        consumer.receive(*about(1, "voucher.created", voucher_code="LATE"))  # too late: ignored
        assert voucher.code is None

    def test_events_about_no_voucher_and_unnumbered_ones_apply_at_once(self) -> None:
        consumer = Consumer(SECRET)
        consumer.receive(*delivery("voucher.batch_created", {"count": 1000}))
        consumer.receive(*delivery("voucher.redeemed", {"voucher_id": VOUCHER, "redemption_id": "r0"}))
        assert consumer.other_events == {"voucher.batch_created": 1}
        assert consumer.vouchers[VOUCHER] == Voucher(
            uses=1, redemptions=("r0",), last_event="voucher.redeemed"
        )


@pytest.fixture
def server() -> Iterator[tuple[Consumer, str]]:
    consumer = Consumer(SECRET)
    http = make_server(consumer, "127.0.0.1", 0)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield consumer, f"http://127.0.0.1:{http.server_address[1]}/"
    finally:
        http.shutdown()
        http.server_close()


def test_the_server_answers_as_the_consumer_decides(server: tuple[Consumer, str]) -> None:
    consumer, url = server
    headers, body = redeemed(1, "r1")
    assert httpx.post(url, content=body, headers=headers).status_code == 200
    assert httpx.post(url, content=body + b" ", headers=headers).status_code == 401
    assert consumer.vouchers[VOUCHER].uses == 1
