"""A real SMTP server (aiosmtpd) on a free port, keeping what it receives, and a voucher mail."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from voucherd.config import get_settings
from voucherd.mail.messages import VoucherMail


def set_env(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Inbox:
    """What the server received; ``refuse`` answers every RCPT with that reply instead."""

    envelopes: list[Envelope] = field(default_factory=list)
    refuse: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        parsed = []
        for envelope in self.envelopes:
            raw = envelope.original_content or envelope.content
            assert isinstance(raw, bytes)
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def start(inbox: Inbox, **kwargs: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A plain SMTP server, set as ``VOUCHERD_SMTP_URL``."""
    inbox = Inbox()
    controller, port = start(inbox)
    server = SmtpServer(inbox=inbox, port=port)
    set_env(monkeypatch, "VOUCHERD_SMTP_URL", server.url)
    try:
        yield server
    finally:
        controller.stop()


def voucher_mail(**changes: Any) -> VoucherMail:
    values: dict[str, Any] = {
        "to_email": "ann@example.com",
        "to_name": "Ann Smith",
        "client_name": "Demo Spa",
        "title": "Spa Day for two",
        "code": "ABCD-EFGH-JKMN-PQRS-TUVW",
        "value": "£50.00",
        "what_for": None,
        "valid_from": datetime(2026, 12, 1, tzinfo=UTC),
        # The end of 30 June 2027 in London (summer time): printed as that day.
        "valid_until": datetime(2027, 6, 30, 22, 59, 59, tzinfo=UTC),
        "timezone": "Europe/London",
        "terms": "Not exchangeable for cash.",
        "message": "Happy birthday\n<script>alert('x')</script> & love",
        "from_name": "Bob",
        "public_url": "https://vouchers.example.com/redeem/ABCD-EFGH-JKMN-PQRS-TUVW",
        "qr_payload": "https://vouchers.example.com/redeem/ABCD-EFGH-JKMN-PQRS-TUVW",
    }
    values.update(changes)
    return VoucherMail(**values)


@dataclass(frozen=True)
class Read:
    """A received message, taken apart."""

    text: str
    html: str
    pdf: bytes
    pdf_name: str | None
    qr_png: bytes


def read(message: EmailMessage) -> Read:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    [image] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    return Read(
        text=text.get_content(),
        html=html.get_content(),
        pdf=attachment.get_content(),
        pdf_name=attachment.get_filename(),
        qr_png=image.get_content(),
    )


def pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
