"""The mail.voucher job against a real SMTP server: sent and read back, on its delivery date,
retried while the server is down, failed at once on a permanent refusal, recorded as not sent
when mail is not configured."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

import voucherd.worker  # noqa: F401 - registers the job handlers
from tests.conftest import Tenant
from tests.fixtures.smtp import SmtpServer, free_port, pdf_text, read, set_env, voucher_mail
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.jobs import runner
from voucherd.mail.errors import InvalidRecipientEmail
from voucherd.mail.service import MAIL_VOUCHER, enqueue_voucher_mail
from voucherd.models import Job


async def enqueue(database: Database, tenant: Tenant, **changes: object) -> Job:
    send_at = changes.pop("send_at", None)
    async with unit_of_work(database) as session:
        return await enqueue_voucher_mail(
            session,
            tenant.client_id,
            voucher_mail(**changes),
            send_at,  # type: ignore[arg-type]
        )


async def job_of(database: Database, job: Job) -> Job:
    async with unit_of_work(database, write=False) as session:
        found = await session.get(Job, job.id)
        assert found is not None
        return found


async def test_the_job_sends_the_voucher(database: Database, tenant: Tenant, smtp_server: SmtpServer) -> None:
    job = await enqueue(database, tenant, to_email=" Ann@Example.COM ")
    assert job.kind == MAIL_VOUCHER
    assert job.payload["to_email"] == "Ann@example.com"  # normalized on the way in
    assert await runner.run_until_idle(database) == 1

    [message] = smtp_server.inbox.messages
    [envelope] = smtp_server.inbox.envelopes
    assert envelope.rcpt_tos == ["Ann@example.com"]
    assert envelope.mail_from == "no-reply@localhost"  # VOUCHERD_MAIL_FROM's default
    assert message["Subject"] == "Bob sent you a gift from Demo Spa: Spa Day for two"
    assert message["From"] == "voucherd <no-reply@localhost>"
    parts = read(message)
    assert "Your code: ABCD-EFGH-JKMN-PQRS-TUVW" in parts.text
    assert "ABCD-EFGH-JKMN-PQRS-TUVW" in parts.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; love" in parts.html
    assert "<script" not in parts.html
    assert parts.pdf.startswith(b"%PDF-")
    assert "ABCD-EFGH-JKMN-PQRS-TUVW" in pdf_text(parts.pdf)

    done = await job_of(database, job)
    assert (done.status, done.attempts) == ("succeeded", 1)
    assert done.result == {"status": "sent", "message_id": message["Message-ID"]}


async def test_an_international_domain_is_sent_in_its_ascii_form(
    database: Database, tenant: Tenant, smtp_server: SmtpServer
) -> None:
    job = await enqueue(database, tenant, to_email="ann@exämple.com")
    assert job.payload["to_email"] == "ann@xn--exmple-cua.com"
    await runner.run_until_idle(database)
    assert smtp_server.inbox.envelopes[0].rcpt_tos == ["ann@xn--exmple-cua.com"]


async def test_the_from_header_is_the_setting(
    database: Database, tenant: Tenant, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_env(monkeypatch, "VOUCHERD_MAIL_FROM", "Demo Spa <gifts@spa.example.com>")
    await enqueue(database, tenant)
    await runner.run_until_idle(database)
    [message] = smtp_server.inbox.messages
    assert message["From"] == "Demo Spa <gifts@spa.example.com>"
    assert smtp_server.inbox.envelopes[0].mail_from == "gifts@spa.example.com"


async def test_a_delivery_date_holds_the_mail_until_then(
    database: Database, tenant: Tenant, smtp_server: SmtpServer
) -> None:
    send_at = clock.now() + timedelta(days=3)
    job = await enqueue(database, tenant, send_at=send_at)
    assert await runner.run_until_idle(database) == 0
    assert smtp_server.inbox.envelopes == []
    with clock.frozen(send_at + timedelta(seconds=1)):
        assert await runner.run_until_idle(database) == 1
    assert len(smtp_server.inbox.envelopes) == 1
    assert (await job_of(database, job)).status == "succeeded"


async def test_a_server_that_is_down_is_retried_with_backoff(
    database: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> None:
    set_env(monkeypatch, "VOUCHERD_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")  # nothing listens
    job = await enqueue(database, tenant)
    assert await runner.run_once(database)
    failed = await job_of(database, job)
    assert (failed.status, failed.attempts) == ("queued", 1)
    assert failed.last_error is not None
    assert "127.0.0.1" in failed.last_error
    assert clock.to_utc(failed.run_after) > clock.to_utc(failed.created_at)
    assert smtp_server.inbox.envelopes == []

    # The server is back by the next attempt.
    set_env(monkeypatch, "VOUCHERD_SMTP_URL", smtp_server.url)
    with clock.frozen(clock.now() + timedelta(hours=1)):
        assert await runner.run_until_idle(database) == 1
    assert len(smtp_server.inbox.envelopes) == 1
    sent = await job_of(database, job)
    assert (sent.status, sent.attempts) == ("succeeded", 2)


async def test_a_temporary_refusal_is_retried(
    database: Database, tenant: Tenant, smtp_server: SmtpServer
) -> None:
    smtp_server.inbox.refuse = "451 4.3.0 Try again later"
    job = await enqueue(database, tenant)
    assert await runner.run_once(database)
    failed = await job_of(database, job)
    assert (failed.status, failed.attempts) == ("queued", 1)
    assert failed.last_error is not None
    assert "451" in failed.last_error


async def test_a_permanent_refusal_fails_at_once(
    database: Database, tenant: Tenant, smtp_server: SmtpServer
) -> None:
    smtp_server.inbox.refuse = "550 5.1.1 No such user here"
    job = await enqueue(database, tenant)
    assert await runner.run_once(database)
    failed = await job_of(database, job)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.finished_at is not None
    assert failed.last_error == "the mail server refused the message for good: 550 5.1.1 No such user here"
    with clock.frozen(clock.now() + timedelta(days=1)):
        assert await runner.run_until_idle(database) == 0  # never tried again
    assert smtp_server.inbox.envelopes == []


async def test_without_smtp_the_job_records_that_mail_is_not_configured(
    database: Database, tenant: Tenant
) -> None:
    job = await enqueue(database, tenant)
    assert await runner.run_until_idle(database) == 1
    done = await job_of(database, job)
    assert (done.status, done.attempts) == ("succeeded", 1)
    assert done.result == {"status": "not_configured", "detail": "VOUCHERD_SMTP_URL is not set"}


async def test_an_address_that_cannot_be_mailed_is_refused_before_anything_is_written(
    database: Database, tenant: Tenant
) -> None:
    with pytest.raises(InvalidRecipientEmail, match="The recipient's email cannot be mailed: There must be"):
        await enqueue(database, tenant, to_email="ann@")
    with pytest.raises(InvalidRecipientEmail, match="Internationalized characters before the @-sign"):
        await enqueue(database, tenant, to_email="jörg@example.com")
    async with unit_of_work(database, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Job)) == 0
