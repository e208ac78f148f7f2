"""Signing (W1-W3), the retry schedule and URL rules, without a database."""

from __future__ import annotations

import ipaddress
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from voucherd.webhooks import payloads, rules
from voucherd.webhooks.delivery import Claimed, signed_headers

SECRET = rules.new_secret()


def claimed(body: str, secrets: list[str]) -> Claimed:
    return Claimed(
        delivery_id=uuid.uuid4(),
        endpoint_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        event_type="voucher.redeemed",
        body=body,
        attempt=1,
        url="https://example.com/hook",
        secrets=secrets,
    )


def flip(body: bytes, position: int) -> bytes:
    index = position % len(body)
    return body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]


texts = st.one_of(
    st.just(""),
    st.text(max_size=2000),
    st.builds(lambda s: s * 5000, st.text(min_size=1, max_size=200)),  # up to about 1 MB
)
# Bodies are JSON (the standardwebhooks verifier parses what it verified): any Unicode inside.
bodies = texts.map(
    lambda text: payloads.render("lead.captured", datetime(2026, 2, 1, tzinfo=UTC), {"note": text})
)


class TestSignatures:
    @settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body=bodies, position=st.integers(min_value=0))
    def test_w1_every_payload_verifies_and_any_flipped_byte_fails(self, body: str, position: int) -> None:
        item = claimed(body, [SECRET])
        headers = signed_headers(item, timestamp=int(time.time()))
        raw = body.encode("utf-8")
        # both recipes accept what we send
        assert rules.verify_vouchertrack(SECRET, raw, headers["X-VoucherTrack-Signature"])
        Webhook(SECRET).verify(raw, headers)
        tampered = flip(raw, position)
        assert not rules.verify_vouchertrack(SECRET, tampered, headers["X-VoucherTrack-Signature"])
        # rejected: a bad signature, or bytes that are no longer UTF-8 at all
        with pytest.raises((WebhookVerificationError, UnicodeDecodeError)):
            Webhook(SECRET).verify(tampered, headers)

    def test_the_documented_header_is_hex_hmac_of_the_raw_body_with_the_secret_string(self) -> None:
        import hashlib
        import hmac

        body = b'{"event":"lead.captured"}'
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert rules.vouchertrack_signature([SECRET], body) == expected

    @pytest.mark.parametrize("header", ["sha256=é", "\udc80", "x,sha256=\u2603", "\x00"])
    def test_a_header_with_any_characters_is_refused_not_an_error(self, header: str) -> None:
        # Fuzzing (fuzz/signatures.py): compare_digest raised TypeError on non-ASCII str.
        assert rules.verify_vouchertrack(SECRET, b"{}", header) is False
        signed = rules.vouchertrack_signature([SECRET], b"{}")
        assert rules.verify_vouchertrack(SECRET, b"{}", f"{header},{signed}") is True

    def test_only_compare_digest_is_used(self) -> None:
        import inspect

        source = inspect.getsource(rules.verify_vouchertrack)
        assert "compare_digest" in source
        assert "==" not in source

    @pytest.mark.parametrize(("offset", "accepted"), [(-299, True), (299, True), (-301, False), (301, False)])
    def test_w2_timestamp_window(self, offset: int, accepted: bool) -> None:
        item = claimed('{"event":"voucher.redeemed"}', [SECRET])
        headers = signed_headers(item, timestamp=int(time.time()) + offset)
        if accepted:
            Webhook(SECRET).verify(item.body, headers)
        else:
            with pytest.raises(WebhookVerificationError):
                Webhook(SECRET).verify(item.body, headers)

    def test_w3_during_a_rotation_both_secrets_verify(self) -> None:
        new = rules.new_secret()
        for number in range(100):
            item = claimed(f'{{"n":{number}}}', [new, SECRET])
            headers = signed_headers(item, timestamp=int(time.time()))
            raw = item.body.encode()
            for secret in (new, SECRET):
                assert rules.verify_vouchertrack(secret, raw, headers["X-VoucherTrack-Signature"])
                Webhook(secret).verify(raw, headers)
        # after the overlap only the new one signs
        item = claimed('{"n":0}', [new])
        headers = signed_headers(item, timestamp=int(time.time()))
        assert not rules.verify_vouchertrack(SECRET, b'{"n":0}', headers["X-VoucherTrack-Signature"])
        with pytest.raises(WebhookVerificationError):
            Webhook(SECRET).verify(b'{"n":0}', headers)

    def test_secrets_are_standard_webhooks_secrets(self) -> None:
        import base64

        assert SECRET.startswith("whsec_")
        assert len(base64.b64decode(SECRET.removeprefix("whsec_"))) == 32
        assert rules.new_secret() != rules.new_secret()


class TestSchedule:
    def test_delays_follow_the_schedule_within_ten_percent(self) -> None:
        schedule = [5.0, 300.0, 1800.0]
        for attempt, planned in enumerate(schedule, start=1):
            for _ in range(200):
                delay = rules.next_delay(schedule, attempt)
                assert delay is not None
                assert planned * 0.9 <= delay <= planned * 1.1
        assert rules.next_delay(schedule, len(schedule) + 1) is None

    def test_retry_after_wins_when_longer(self) -> None:
        assert rules.next_delay([5.0], 1, retry_after=120) == 120
        delay = rules.next_delay([300.0], 1, retry_after=1)
        assert delay is not None
        assert delay >= 270

    @pytest.mark.parametrize(
        ("header", "seconds"),
        [("120", 120.0), (" 5 ", 5.0), ("-1", None), ("soon", None), (None, None), ("999999", 86400.0)],
    )
    def test_parse_retry_after(self, header: str | None, seconds: float | None) -> None:
        assert rules.parse_retry_after(header) == seconds

    def test_the_default_schedule_spans_days(self) -> None:
        from voucherd.config import Settings

        schedule = Settings().webhook_retry_schedule
        assert sum(schedule) / 86400 > 5


BAD_HOSTS = [
    "localhost",
    "127.1",
    "2130706433",
    "0177.0.0.1",
    "0.0.0.0",  # noqa: S104 - a refused host, not a bind
    "[::1]",
    "[::ffff:127.0.0.1]",
    "10.0.0.1",
    "10.255.255.254",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[fe80::1]",
]


class TestAddresses:
    @pytest.mark.parametrize("host", BAD_HOSTS)
    def test_private_loopback_link_local_and_metadata_addresses_are_refused(self, host: str) -> None:
        name = host.strip("[]")
        address = rules.literal_address(name)
        if name == "localhost":
            addresses: list[Any] = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
        else:
            assert address is not None
            addresses = [address]
        with pytest.raises(rules.UnsafeUrl):
            rules.check_addresses(name, addresses, ())

    @pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "1.1.1.1"])
    def test_public_addresses_pass(self, address: str) -> None:
        rules.check_addresses("example.com", [ipaddress.ip_address(address)], ())

    def test_w11_loopback_only_with_an_allowed_cidr(self) -> None:
        loopback = [ipaddress.ip_address("127.0.0.1")]
        with pytest.raises(rules.UnsafeUrl):
            rules.check_addresses("127.0.0.1", loopback, ())
        rules.check_addresses("127.0.0.1", loopback, rules.allowed_networks(["127.0.0.0/8"]))

    def test_w11_the_production_default_allows_nothing_extra(self) -> None:
        from voucherd.config import Settings

        assert Settings().webhook_allowed_cidrs == []

    @pytest.mark.parametrize(
        "url",
        [
            "file:///etc/passwd",
            "gopher://example.com/",
            "ftp://example.com/",
            "http://a@127.0.0.1/",
            "https://",
            "",
        ],
    )
    def test_bad_urls_are_refused_before_any_lookup(self, url: str) -> None:
        with pytest.raises(rules.UnsafeUrl):
            rules.parse_url(url)


class TestPayloads:
    def test_money_becomes_decimals_of_the_currency_and_the_rest_passes_through(self) -> None:
        body = payloads.render(
            "voucher.redeemed",
            datetime(2026, 2, 1, 12, 0, tzinfo=UTC),
            {"currency": "GBP", "discount_applied_minor": 920, "order_reference": "ORD-1", "count": 3},
        )
        assert body == (
            '{"event":"voucher.redeemed","timestamp":"2026-02-01T12:00:00Z",'
            '"data":{"currency":"GBP","discount_applied":9.20,"order_reference":"ORD-1","count":3,'
            '"created_at":"2026-02-01T12:00:00.000000Z"}}'
        )

    def test_created_at_is_the_events_time_to_the_microsecond(self) -> None:
        # given an event written at a fractional second, about a voucher
        at = datetime(2026, 2, 1, 12, 0, 5, 123456, tzinfo=UTC)
        body = json.loads(
            payloads.render("voucher.redeemed", at, {"voucher_id": "v1", "sequence": 4, "currency": "GBP"})
        )
        # then the documented top level is unchanged and data carries both fields
        assert list(body) == ["event", "timestamp", "data"]
        assert body["timestamp"] == "2026-02-01T12:00:05Z"
        assert body["data"] == {
            "voucher_id": "v1",
            "sequence": 4,
            "currency": "GBP",
            "created_at": "2026-02-01T12:00:05.123456Z",
        }

    def test_without_a_currency_minor_amounts_stay(self) -> None:
        assert payloads.webhook_data({"amount_minor": 5}) == {"amount_minor": 5}

    def test_zero_decimal_currency(self) -> None:
        assert str(payloads.webhook_data({"currency": "JPY", "amount_minor": 500})["amount"]) == "500"
