"""The voucher mail: both alternatives, the buyer's message escaped, headers that cannot be
injected into, dates in the business's timezone, and the PDF with the code and the QR code."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import numpy as np
import pytest
import zxingcpp

from tests.fixtures.smtp import pdf_text, read, voucher_mail
from voucherd.mail import pdf
from voucherd.mail.messages import build_message, format_moment, from_payload, to_payload

SENDER = "voucherd <no-reply@vouchers.example.com>"


def roundtrip(message: email.message.EmailMessage) -> email.message.EmailMessage:
    """As a receiver parses it from the wire."""
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_the_message_has_text_html_the_qr_inline_and_the_pdf() -> None:
    message = roundtrip(build_message(voucher_mail(), sender=SENDER))
    assert message["Subject"] == "Bob sent you a gift from Demo Spa: Spa Day for two"
    assert message["From"] == SENDER
    assert message["To"] == "Ann Smith <ann@example.com>"
    assert message["Message-ID"].endswith("@vouchers.example.com>")
    assert message.get_content_type() == "multipart/mixed"
    parts = read(message)
    for body in (parts.text, parts.html):
        assert "ABCD-EFGH-JKMN-PQRS-TUVW" in body
        assert "£50.00" in body
        assert "Valid from 1 December 2026 until 30 June 2027" in body
        assert "Not exchangeable for cash." in body
        assert "https://vouchers.example.com/redeem/ABCD-EFGH-JKMN-PQRS-TUVW" in body
        assert "Hello Ann Smith" in body
    assert "<script>alert('x')</script> & love" in parts.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; love" in parts.html
    assert "<script" not in parts.html
    assert "Happy birthday<br>" in parts.html
    assert parts.pdf_name == "voucher-spa-day-for-two.pdf"
    # The inline image is the QR code of the public page, referenced by the HTML.
    image = message.get_body(("related",))
    assert image is not None
    [png] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert f'src="cid:{png["Content-ID"].strip("<>")}"' in parts.html


def test_the_pdf_shows_the_voucher_and_its_qr_code() -> None:
    parts = read(roundtrip(build_message(voucher_mail(), sender=SENDER)))
    assert parts.pdf.startswith(b"%PDF-")
    text = pdf_text(parts.pdf)
    for expected in (
        "Demo Spa",
        "Spa Day for two",
        "£50.00",
        "ABCD-EFGH-JKMN-PQRS-TUVW",
        "Valid from 1 December 2026 until 30 June 2027",
        "A message from Bob",
        "<script>alert('x')</script> & love",
        "Not exchangeable for cash.",
    ):
        assert expected in text, expected
    # The QR image in the PDF decodes to the public page.
    from io import BytesIO

    from pypdf import PdfReader

    [image] = PdfReader(BytesIO(parts.pdf)).pages[0].images
    pixels = np.asarray(image.image.convert("L"))
    [found] = zxingcpp.read_barcodes(pixels)
    assert found.text == "https://vouchers.example.com/redeem/ABCD-EFGH-JKMN-PQRS-TUVW"


def test_a_thing_or_an_experience_says_what_it_is_for() -> None:
    mail = voucher_mail(value=None, what_for="A massage and lunch for two", from_name=None, message=None)
    message = roundtrip(build_message(mail, sender=SENDER))
    assert message["Subject"] == "Your voucher from Demo Spa: Spa Day for two"
    parts = read(message)
    for body in (parts.text, parts.html, pdf_text(parts.pdf)):
        assert "A massage and lunch for two" in body
        assert "£" not in body
        assert "A message" not in body


def test_names_cannot_inject_headers() -> None:
    mail = voucher_mail(to_name="Ann\r\nBcc: eve@example.com", from_name="Bob\nBcc: eve@example.com")
    raw = build_message(mail, sender=SENDER).as_bytes()
    message = roundtrip(build_message(mail, sender=SENDER))
    assert message["Bcc"] is None
    assert b"\nBcc:" not in raw
    assert message["To"] == '"Ann Bcc: eve@example.com" <ann@example.com>'
    # (the stdlib folds this one right after "Subject:", and reads the fold back as a space)
    assert (
        message["Subject"].strip()
        == "Bob Bcc: eve@example.com sent you a gift from Demo Spa: Spa Day for two"
    )


def test_an_address_that_cannot_be_written_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="is not an email address"):
        build_message(voucher_mail(to_email="ann@"), sender=SENDER)


def test_dates_print_in_the_business_timezone() -> None:
    assert format_moment(datetime(2027, 6, 30, 22, 59, 59, tzinfo=UTC), "Europe/London") == "30 June 2027"
    assert (
        format_moment(datetime(2027, 1, 5, 13, 30, tzinfo=UTC), "America/New_York") == "5 January 2027, 08:30"
    )
    assert format_moment(datetime(2027, 1, 5, tzinfo=UTC), "Not/AZone") == "5 January 2027"


def test_the_payload_round_trips_as_json() -> None:
    import json

    mail = voucher_mail()
    payload = json.loads(json.dumps(to_payload(mail)))
    assert payload["valid_until"] == "2027-06-30T22:59:59+00:00"
    assert from_payload(payload) == mail


def test_without_a_unicode_font_the_pdf_still_carries_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf, "FONT_DIRS", ())
    mail = voucher_mail(message="お誕生日おめでとう", title="Spa Day ★")
    parts = read(roundtrip(build_message(mail, sender=SENDER)))
    text = pdf_text(parts.pdf)
    assert "ABCD-EFGH-JKMN-PQRS-TUVW" in text
    assert "£50.00" in text
    assert "お誕生日おめでとう" in parts.text  # the mail itself keeps it whole
