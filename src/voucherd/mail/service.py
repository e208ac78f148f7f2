"""Mailing a voucher: a ``mail.voucher`` job, enqueued in the caller's transaction (an order's), so
the mail goes only if the order commits, and at its delivery date when it has one.

Whether mail is configured is the worker's concern, not the order's: the job is enqueued either
way, and without ``VOUCHERD_SMTP_URL`` it ends recording ``not_configured``."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.jobs import service as jobs
from voucherd.mail.errors import InvalidRecipientEmail
from voucherd.mail.messages import VoucherMail, to_payload
from voucherd.models import Job

MAIL_VOUCHER = "mail.voucher"


def mail_address(value: str) -> str:
    """The address as we send to it: checked, the domain lower-cased and in its ASCII form
    (``ann@xn--exmple-cua.com`` for ``ann@exämple.com``), so that any SMTP server takes it. A
    local part in non-ASCII characters needs SMTPUTF8, which many servers lack: refused here
    rather than failing in the worker."""
    value = value.strip()
    try:
        if len(value) > 320:
            raise EmailNotValidError("it is longer than 320 characters")
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidRecipientEmail(
            f"The recipient's email cannot be mailed: {error}", field="email"
        ) from None
    return checked.ascii_email or checked.normalized


async def enqueue_voucher_mail(
    session: AsyncSession, client_id: uuid.UUID, mail: VoucherMail, send_at: datetime | None
) -> Job:
    """A job that mails ``mail`` at ``send_at`` (a delivery date; now when ``None`` or past).
    An address that cannot be mailed is :class:`InvalidRecipientEmail` (a 422), before anything
    is written; the address is stored as it is sent (see :func:`mail_address`)."""
    mail = dataclasses.replace(mail, to_email=mail_address(mail.to_email))
    return await jobs.enqueue(
        session, kind=MAIL_VOUCHER, client_id=client_id, payload=to_payload(mail), run_after=send_at
    )
