"""The ``mail.voucher`` job: build the message (in a thread: the PDF takes about 0.1 s of CPU that
the worker's loop, which also delivers webhooks, must not wait for) and send it.

A send that fails for a while (server down, timeout, 4xx, failed login) is retried with the job
runner's backoff; a permanent refusal (5xx to the recipient or the message) or an address that
cannot be written fails the job at once. Delivery is at least once: a worker that dies between
the server's answer and the job's completion sends again when the job is taken over."""

from __future__ import annotations

import asyncio

import structlog

from voucherd.accounts import branding
from voucherd.config import get_settings
from voucherd.core import links
from voucherd.db import unit_of_work
from voucherd.jobs.runner import JobContext, PermanentFailure, handler
from voucherd.mail import sender
from voucherd.mail.messages import MailBrand, build_message, from_payload
from voucherd.mail.service import MAIL_VOUCHER

log = structlog.get_logger(__name__)


async def _brand(context: JobContext) -> MailBrand | None:
    """The business's branding as it is when the mail is sent (a mail with a delivery date
    wears the logo and colour of that day)."""
    if context.client_id is None:
        return None
    async with unit_of_work(context.database, write=False) as session:
        brand = await branding.brand_of(session, context.client_id)
    logo_url = (
        f"{links.base_url()}/brand/{brand.number}/logo?v={brand.logo_version}" if brand.has_logo else None
    )
    return MailBrand(accent=brand.accent, logo_url=logo_url)


@handler(MAIL_VOUCHER)
async def send_voucher_mail(context: JobContext) -> None:
    settings = get_settings()
    mail = from_payload(context.payload)
    if not settings.smtp_url:
        log.warning("mail.not_configured", job_id=str(context.job_id), kind=context.kind)
        async with unit_of_work(context.database) as session:
            await context.complete(
                session, {"status": "not_configured", "detail": "VOUCHERD_SMTP_URL is not set"}
            )
        return
    brand = await _brand(context)
    try:
        message = await asyncio.to_thread(build_message, mail, sender=settings.mail_from, brand=brand)
    except ValueError as error:  # an address or header that cannot be written: never will be
        raise PermanentFailure(f"the mail cannot be written: {error}") from None
    try:
        await sender.send(message, settings)
    except sender.MailRefused as refused:
        raise PermanentFailure(str(refused)) from None
    log.info("mail.sent", job_id=str(context.job_id), message_id=message["Message-ID"])
    async with unit_of_work(context.database) as session:
        await context.complete(session, {"status": "sent", "message_id": str(message["Message-ID"])})
