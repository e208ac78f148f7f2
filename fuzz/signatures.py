"""The webhook signature parser: ``X-VoucherTrack-Signature`` as voucherd checks it
(:func:`voucherd.webhooks.rules.verify_vouchertrack`) and as the sample receiver does
(examples/webhook_consumer.py ``verify``). Contract: a bool for any header; True for the header
voucherd signs, with one or two secrets."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["voucherd.webhooks.rules", "examples.webhook_consumer"]):
    from examples.webhook_consumer import verify
    from voucherd.webhooks.rules import verify_vouchertrack, vouchertrack_signature

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - a test secret


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    header = fdp.ConsumeUnicode(200)
    body = fdp.ConsumeBytes(200)
    for check in (verify_vouchertrack, verify):
        assert isinstance(check(SECRET, body, header), bool)
        assert check(SECRET, body, vouchertrack_signature([SECRET], body)) is True
        assert check(SECRET, body, vouchertrack_signature(["whsec_new", SECRET], body)) is True
        assert check(SECRET, body + b"x", vouchertrack_signature([SECRET], body)) is False
