"""Sending a message over SMTP (aiosmtplib), as ``VOUCHERD_SMTP_URL`` says: ``smtp://`` in plain
(a local relay), ``smtp+starttls://`` upgraded with STARTTLS (required, never skipped),
``smtps://`` over TLS from the first byte; the URL's user and password log in.

A refusal the server means for good (a 5xx reply to the recipient or to the message) is
:class:`MailRefused`, which is not worth retrying; anything else (the server down, a timeout, a 4xx,
a failed login) is raised as it is and retried by the job."""

from __future__ import annotations

import email.message
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiosmtplib

from voucherd.config import Settings

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class MailNotConfigured(Exception):
    """``VOUCHERD_SMTP_URL`` is not set: nothing can be sent."""


class MailRefused(Exception):
    """The server refused the recipient or the message with a permanent (5xx) reply."""

    def __init__(self, code: int, reply: str) -> None:
        super().__init__(f"the mail server refused the message for good: {code} {reply}")
        self.code = code
        self.reply = reply


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # TLS from the start (smtps)
    start_tls: bool  # STARTTLS, required (smtp+starttls)


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an SMTP URL: {parts.scheme}://{parts.hostname or ''}")
    return SmtpTarget(
        hostname=parts.hostname,
        port=parts.port or DEFAULT_PORTS[scheme],
        username=None if parts.username is None else unquote(parts.username),
        password=None if parts.password is None else unquote(parts.password),
        use_tls=scheme == "smtps",
        start_tls=scheme == "smtp+starttls",
    )


def _permanent(code: int) -> bool:
    return 500 <= code < 600


async def send(message: email.message.EmailMessage, settings: Settings) -> None:
    """Send ``message`` to its To recipients, or raise (see the module's docstring)."""
    if not settings.smtp_url:
        raise MailNotConfigured("VOUCHERD_SMTP_URL is not set")
    target = parse_smtp_url(settings.smtp_url)
    try:
        errors, _ = await aiosmtplib.send(
            message,
            hostname=target.hostname,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.use_tls,
            start_tls=target.start_tls,
            timeout=settings.smtp_timeout_seconds,
            cert_bundle=None if settings.smtp_ca_file is None else str(settings.smtp_ca_file),
        )
    except aiosmtplib.SMTPRecipientsRefused as refused:
        # Every recipient refused: permanent if every refusal was.
        if refused.recipients and all(_permanent(each.code) for each in refused.recipients):
            first = refused.recipients[0]
            raise MailRefused(first.code, first.message) from None
        raise
    except aiosmtplib.SMTPDataError as refused:
        if _permanent(refused.code):
            raise MailRefused(refused.code, refused.message) from None
        raise
    # One recipient per message: a refusal of it raised above; others are not expected.
    for recipient, response in errors.items():
        if _permanent(response.code):
            raise MailRefused(response.code, f"{recipient}: {response.message}")
