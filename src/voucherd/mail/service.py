"""Mailing a voucher: a ``mail.voucher`` job, enqueued in the caller's transaction (an order's), so
the mail goes only if the order commits, and at its delivery date when it has one.

Whether mail is configured is the worker's concern, not the order's: the job is enqueued either
way, and without ``VOUCHERD_SMTP_URL`` it ends recording ``not_configured``."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core.emails import ContactError, normalize_email
from voucherd.jobs import service as jobs
from voucherd.mail.errors import InvalidRecipientEmail
from voucherd.mail.messages import VoucherMail, to_payload
from voucherd.models import Job

MAIL_VOUCHER = "mail.voucher"


async def enqueue_voucher_mail(
    session: AsyncSession, client_id: uuid.UUID, mail: VoucherMail, send_at: datetime | None
) -> Job:
    """A job that mails ``mail`` at ``send_at`` (a delivery date; now when ``None`` or past).
    An address that cannot be mailed is :class:`InvalidRecipientEmail` (a 422), before anything
    is written; the address is stored normalized."""
    try:
        to_email = normalize_email(mail.to_email)
    except ContactError as error:
        raise InvalidRecipientEmail(f"The recipient's email {error}.", field="email") from None
    mail = dataclasses.replace(mail, to_email=to_email)
    return await jobs.enqueue(
        session, kind=MAIL_VOUCHER, client_id=client_id, payload=to_payload(mail), run_after=send_at
    )
