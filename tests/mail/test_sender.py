"""SMTP by the URL's scheme against a real aiosmtpd: STARTTLS with a login, TLS from the start,
a wrong password (retried, not a permanent refusal), STARTTLS required (no login in plain text)."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.fixtures.smtp import Inbox, SmtpServer, start, voucher_mail
from voucherd.config import Settings
from voucherd.mail import sender
from voucherd.mail.messages import build_message
from voucherd.mail.sender import parse_smtp_url

USER, PASSWORD = "shop", "pa:ss@word"
URL_PASSWORD = "pa%3Ass%40word"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl, an EC key: milliseconds)."""
    if shutil.which("openssl") is None:
        if os.environ.get("CI"):
            pytest.fail("the TLS mail tests need the openssl command (apt-get install openssl)")
        pytest.skip("the TLS mail tests need the openssl command (apt-get install openssl)")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def tls_server(certificate: tuple[Path, Path], *, implicit: bool) -> Iterator[SmtpServer]:
    inbox = Inbox()
    options: dict[str, Any] = {"authenticator": authenticator, "auth_required": True}
    if implicit:
        # aiosmtpd does not count a TLS-from-the-start connection as TLS for AUTH (and warns).
        options.update(ssl_context=server_context(certificate), auth_require_tls=False)
    else:
        options.update(tls_context=server_context(certificate), require_starttls=True)
    controller, port = start(inbox, **options)
    try:
        yield SmtpServer(inbox=inbox, port=port)
    finally:
        controller.stop()


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    yield from tls_server(certificate, implicit=False)


@pytest.fixture
def smtps_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    yield from tls_server(certificate, implicit=True)


def settings(url: str, certificate: tuple[Path, Path]) -> Settings:
    return Settings(smtp_url=url, smtp_ca_file=certificate[0], smtp_timeout_seconds=5)


def message() -> Any:
    return build_message(voucher_mail(), sender="voucherd <no-reply@localhost>")


def test_urls_parse_with_default_ports_and_encoded_credentials() -> None:
    plain = parse_smtp_url("smtp://mail.internal")
    assert (plain.hostname, plain.port, plain.use_tls, plain.start_tls, plain.username) == (
        "mail.internal", 25, False, False, None
    )  # fmt: skip
    upgraded = parse_smtp_url(f"smtp+starttls://{USER}:{URL_PASSWORD}@smtp.example.com")
    assert (upgraded.port, upgraded.start_tls, upgraded.username, upgraded.password) == (
        587, True, USER, PASSWORD
    )  # fmt: skip
    implicit = parse_smtp_url("smtps://u:p@smtp.example.com:2465")
    assert (implicit.port, implicit.use_tls, implicit.start_tls) == (2465, True, False)


def test_a_bad_smtp_url_or_sender_is_refused_at_startup() -> None:
    for url in ("http://mail.example.com", "smtp://", "smtp://mail.example.com:twenty-five"):
        with pytest.raises(ValueError, match="VOUCHERD_SMTP_URL must look like"):
            Settings(smtp_url=url)
    assert Settings(smtp_url="").smtp_url is None
    for sender_address in ("voucherd", "", "a@b\nBcc: c@d"):
        with pytest.raises(ValueError, match="VOUCHERD_MAIL_FROM must be an address"):
            Settings(mail_from=sender_address)


async def test_starttls_with_a_login(starttls_server: SmtpServer, certificate: tuple[Path, Path]) -> None:
    url = f"smtp+starttls://{USER}:{URL_PASSWORD}@127.0.0.1:{starttls_server.port}"
    await sender.send(message(), settings(url, certificate))
    [received] = starttls_server.inbox.messages
    assert received["Subject"] == "Bob sent you a gift from Demo Spa: Spa Day for two"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_tls_from_the_start_with_a_login(
    smtps_server: SmtpServer, certificate: tuple[Path, Path]
) -> None:
    url = f"smtps://{USER}:{URL_PASSWORD}@127.0.0.1:{smtps_server.port}"
    await sender.send(message(), settings(url, certificate))
    assert len(smtps_server.inbox.envelopes) == 1


async def test_a_wrong_password_is_an_error_to_retry(
    starttls_server: SmtpServer, certificate: tuple[Path, Path]
) -> None:
    url = f"smtp+starttls://{USER}:wrong@127.0.0.1:{starttls_server.port}"
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await sender.send(message(), settings(url, certificate))
    assert starttls_server.inbox.envelopes == []


async def test_starttls_is_required_when_the_url_asks_for_it(
    smtp_server: SmtpServer, certificate: tuple[Path, Path]
) -> None:
    url = f"smtp+starttls://{USER}:{URL_PASSWORD}@127.0.0.1:{smtp_server.port}"  # a plain server
    with pytest.raises(aiosmtplib.SMTPException, match="STARTTLS"):
        await sender.send(message(), settings(url, certificate))
    assert smtp_server.inbox.envelopes == []
