"""What a voucher mail says, and the message that says it: HTML and plain text alternatives (the
HTML with the QR code inline), and the voucher as a printable PDF attached.

The buyer's message, names and titles are untrusted input: the HTML template autoescapes them, and
header values lose their control characters (no header injection through a name)."""

from __future__ import annotations

import dataclasses
import email.errors
import email.message
import email.utils
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from voucherd.core import clock, qr

if TYPE_CHECKING:
    from voucherd.mail.pdf import Printed


@dataclass(frozen=True)
class VoucherMail:
    to_email: str
    to_name: str | None
    client_name: str  # the business
    title: str  # the product ("Spa Day ...") or the coupon title
    code: str  # "AAAA-BBBB-CCCC-DDDD-EEEE"
    value: str | None  # "£50.00" for stored values, None for a thing/experience
    what_for: str | None  # description of what it is for (fixed/ticket)
    valid_from: datetime | None
    valid_until: datetime | None
    timezone: str  # the client's IANA zone, for printing dates
    terms: str | None
    message: str | None  # the buyer's message to the recipient
    from_name: str | None  # buyer's name
    public_url: str  # link to the voucher's public page
    qr_payload: str  # what the QR code encodes (the public URL)


_DATETIMES = ("valid_from", "valid_until")


def to_payload(mail: VoucherMail) -> dict[str, Any]:
    """The mail as JSON for a job's payload: every field, date-times in ISO 8601 UTC."""
    payload = dataclasses.asdict(mail)
    for name in _DATETIMES:
        value = payload[name]
        payload[name] = None if value is None else clock.to_utc(value).isoformat()
    return payload


def from_payload(payload: dict[str, Any]) -> VoucherMail:
    """The mail back from :func:`to_payload` (fields it does not know are ignored)."""
    names = {field.name for field in dataclasses.fields(VoucherMail)}
    values: dict[str, Any] = {name: payload.get(name) for name in names}
    for name in _DATETIMES:
        value = values[name]
        values[name] = None if value is None else datetime.fromisoformat(value)
    return VoucherMail(**values)


@dataclass(frozen=True)
class Validity:
    """The validity of a voucher as a person reads it, in the business's timezone."""

    valid_from: str | None
    valid_until: str | None

    @property
    def text(self) -> str | None:
        if self.valid_from and self.valid_until:
            return f"Valid from {self.valid_from} until {self.valid_until}"
        if self.valid_until:
            return f"Valid until {self.valid_until}"
        if self.valid_from:
            return f"Valid from {self.valid_from}"
        return None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_moment(value: datetime, zone: str) -> str:
    """``31 December 2026``; with the time (``14:30``) unless it is a day's start or its last
    minute (a date-only expiry ends at the end of the day, in the business's timezone)."""
    local = clock.to_utc(value).astimezone(_zone(zone))
    day = f"{local.day} {local:%B %Y}"
    if (local.hour, local.minute) in ((0, 0), (23, 59)):
        return day
    return f"{day}, {local:%H:%M}"


def validity(mail: VoucherMail) -> Validity:
    return Validity(
        valid_from=None if mail.valid_from is None else format_moment(mail.valid_from, mail.timezone),
        valid_until=None if mail.valid_until is None else format_moment(mail.valid_until, mail.timezone),
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str) -> str:
    """A header value or a one-line field: control characters (CR, LF, tabs) become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def recipient(mail: VoucherMail) -> Address:
    """The To address, or :class:`ValueError` when the address cannot be written."""
    try:
        return Address(display_name=one_line(mail.to_name or ""), addr_spec=mail.to_email.strip())
    except (ValueError, IndexError, email.errors.MessageError) as error:
        raise ValueError(f"{mail.to_email!r} is not an email address ({error})") from None


def subject(mail: VoucherMail) -> str:
    if mail.from_name and one_line(mail.from_name):
        return one_line(f"{mail.from_name} sent you a gift from {mail.client_name}: {mail.title}")
    return one_line(f"Your voucher from {mail.client_name}: {mail.title}")


def printed(mail: VoucherMail) -> Printed:
    from voucherd.mail import pdf  # fpdf2 and Pillow: 0.5 s to import, only where mail is built

    return pdf.Printed(
        client_name=mail.client_name,
        title=mail.title,
        code=mail.code,
        value=mail.value,
        what_for=mail.what_for,
        validity=validity(mail).text,
        terms=mail.terms,
        message=mail.message,
        from_name=one_line(mail.from_name or "") or None,
        public_url=mail.public_url,
        qr_payload=mail.qr_payload,
    )


HERE = Path(__file__).parent
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    # HTML escaped always; the plain text part is not HTML, so it is not escaped.
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    undefined=StrictUndefined,
    auto_reload=False,
    keep_trailing_newline=True,
)
QR_CID_DOMAIN = "voucherd.mail"


@dataclass(frozen=True)
class MailBrand:
    """The business's branding as a mail wears it (``accounts.branding``): its accent colour
    (a band under white text, and the links) and its logo's absolute URL."""

    accent: str | None = None
    logo_url: str | None = None


def build_message(
    mail: VoucherMail, *, sender: str, brand: MailBrand | None = None
) -> email.message.EmailMessage:
    """The message to send: text and HTML alternatives (the QR code inline in the HTML) and the
    voucher as a PDF attachment. ``sender`` is the From header (``VOUCHERD_MAIL_FROM``)."""
    from voucherd.mail import pdf

    message = email.message.EmailMessage()
    message["Subject"] = subject(mail)
    message["From"] = sender
    message["To"] = recipient(mail)
    message["Date"] = email.utils.format_datetime(clock.now())
    domain = sender.rpartition("@")[2].strip(" >") or "localhost"
    message["Message-ID"] = email.utils.make_msgid(domain=domain)

    qr_cid = email.utils.make_msgid(domain=QR_CID_DOMAIN)
    context = {
        "mail": mail,
        "to_name": one_line(mail.to_name or ""),
        "from_name": one_line(mail.from_name or ""),
        "validity": validity(mail).text,
        "message_lines": (mail.message or "").strip().splitlines(),
        "terms_lines": (mail.terms or "").strip().splitlines(),
        "qr_src": "cid:" + qr_cid.strip("<>"),
        "brand": brand or MailBrand(),
        "link_color": (brand.accent if brand and brand.accent else "#1a5fb4"),
    }
    message.set_content(templates.get_template("voucher.txt").render(**context))
    message.add_alternative(templates.get_template("voucher.html").render(**context), subtype="html")
    html = next(part for part in message.iter_parts() if part.get_content_type() == "text/html")
    html.add_related(qr.png(mail.qr_payload, scale=6), "image", "png", cid=qr_cid, filename="qr.png")
    message.add_attachment(
        pdf.voucher_pdf(printed(mail)),
        maintype="application",
        subtype="pdf",
        filename=pdf.filename(mail.title),
    )
    return message
