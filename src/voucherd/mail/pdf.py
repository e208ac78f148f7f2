"""The voucher as a printable PDF (A4): the business, the title, the code large, the value or what
it is for, the validity, the buyer's message, the terms, and the QR code of its public page.

fpdf2 writes it (pure Python, typed, kept; see docs/decisions.md). Text is set in DejaVu Sans when
the system has it (Debian's fonts-dejavu-core), which covers most scripts; without it, in the PDF
core font Helvetica, where a character outside Latin-1 prints as ``?`` (the mail's HTML and text
still carry it whole)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from voucherd.core import qr

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_FAMILY = "VoucherSans"
_MARGIN = 20.0  # mm
_QR_SIZE = 55.0  # mm: scans from a phone at arm's length, printed or on a screen
_GREY = (90, 90, 90)
_BLACK = (0, 0, 0)


def _fonts() -> tuple[Path, Path] | None:
    for directory in FONT_DIRS:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class _Voucher(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=True, margin=_MARGIN)
        fonts = _fonts()
        self.unicode_fonts = fonts is not None
        if fonts is not None:
            self.add_font(_FAMILY, "", str(fonts[0]))
            self.add_font(_FAMILY, "B", str(fonts[1]))
            self.voucher_font = _FAMILY
        else:
            self.voucher_font = "helvetica"

    def text_of(self, text: str) -> str:
        return text if self.unicode_fonts else text.encode("latin-1", "replace").decode("latin-1")

    def para(self, text: str, *, size: float, bold: bool = False, grey: bool = False) -> None:
        self.set_font(self.voucher_font, "B" if bold else "", size)
        self.set_text_color(*(_GREY if grey else _BLACK))
        self.multi_cell(0, size * 0.5, self.text_of(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def fitted(self, text: str, *, size: float) -> None:
        """One line, bold, shrunk until it fits the width (the code must never wrap)."""
        text = self.text_of(text)
        while size > 10:
            self.set_font(self.voucher_font, "B", size)
            if self.get_string_width(text) <= self.epw:
                break
            size -= 1
        self.set_text_color(*_BLACK)
        self.cell(0, size * 0.55, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def gap(self, height: float) -> None:
        self.ln(height)


@dataclass(frozen=True)
class Printed:
    """What the PDF shows (``messages`` fills it from a mail)."""

    client_name: str
    title: str
    code: str
    value: str | None
    what_for: str | None
    validity: str | None
    terms: str | None
    message: str | None
    from_name: str | None
    public_url: str
    qr_payload: str


def voucher_pdf(mail: Printed) -> bytes:
    validity = mail.validity
    document = _Voucher()
    document.set_title(document.text_of(f"{mail.client_name}: {mail.title}"))
    document.set_creator("voucherd")
    document.add_page()

    document.para(mail.client_name, size=14, bold=True, grey=True)
    document.gap(4)
    document.para(mail.title, size=22, bold=True)
    document.gap(3)
    if mail.value:
        document.para(mail.value, size=30, bold=True)
    if mail.what_for:
        document.para(mail.what_for, size=13)
    document.gap(8)

    document.para("Your code", size=11, grey=True)
    document.fitted(mail.code, size=26)
    document.gap(4)
    if validity:
        document.para(validity, size=12)
    document.gap(6)

    top = document.get_y()
    if top + _QR_SIZE + 12 > document.h - _MARGIN:
        document.add_page()
        top = document.get_y()
    image = io.BytesIO(qr.png(mail.qr_payload, scale=8))
    document.image(image, x=(document.w - _QR_SIZE) / 2, y=top, w=_QR_SIZE, h=_QR_SIZE)
    document.set_y(top + _QR_SIZE + 2)
    document.set_font(document.voucher_font, "", 9)
    document.set_text_color(*_GREY)
    document.multi_cell(
        0, 4.5, document.text_of(mail.public_url), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    document.gap(8)

    if mail.message and mail.message.strip():
        from_name = " ".join((mail.from_name or "").split())
        heading = f"A message from {from_name}" if from_name else "A message for you"
        document.para(heading, size=11, bold=True, grey=True)
        document.para(mail.message.strip(), size=12)
        document.gap(6)
    if mail.terms and mail.terms.strip():
        document.para("Terms", size=10, bold=True, grey=True)
        document.para(mail.terms.strip(), size=9, grey=True)
    return bytes(document.output())


def filename(title: str) -> str:
    """``voucher-spa-day.pdf``: the title in safe characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    return f"voucher-{slug}.pdf" if slug else "voucher.pdf"
