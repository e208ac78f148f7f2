"""Public pages, server-rendered and mobile-first: the voucher as a customer shows it at the
counter (``/redeem/{code}``: a campaign's voucher or a gift voucher), and a campaign's landing
page where visitors claim the offer (``/c/{slug}``). No scripts; styles from one stylesheet (a CSP
without ``unsafe-inline``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts import branding
from voucherd.accounts.branding import Brand
from voucherd.core import clock, links, qr
from voucherd.core.codes import normalize
from voucherd.core.money import describe_amount
from voucherd.giftcards import public as giftcards
from voucherd.giftcards.public import PublicState
from voucherd.http.ratelimit import rate_limit
from voucherd.http.session import SessionDep, writes
from voucherd.models import Client, Recipient
from voucherd.offers import repository as offers
from voucherd.offers.rules import VoucherState, voucher_state
from voucherd.recipients import leads
from voucherd.tracking import service as tracking
from voucherd.tracking.service import Signal
from voucherd.web.formats import moment_text

HERE = Path(__file__).parent
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True), auto_reload=False
)
# Public pages: a per-IP limit against scraping codes and bot claims (the tracking links have none:
# mail providers fetch images through a few shared proxies).
router = APIRouter(include_in_schema=False, dependencies=[rate_limit("public_per_ip", per="ip")])

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store, private",
}
STATE_LABELS = {
    VoucherState.ACTIVE: "Valid",
    VoucherState.REDEEMED: "Redeemed",
    VoucherState.EXPIRED: "Expired",
    VoucherState.NOT_YET_ACTIVE: "Not yet valid",
    VoucherState.PAUSED: "Paused",
}
GIFT_CARD_LABELS = {
    PublicState.USABLE: "Valid",
    PublicState.NOT_YET_VALID: "Not yet valid",
    PublicState.USED_UP: "Used up",
    PublicState.EXPIRED: "Expired",
    PublicState.REFUNDED: "Refunded: no longer valid",
    PublicState.REPLACED: "Replaced by a new code: no longer valid",
}


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(
        templates.get_template(name).render(**context), status_code=status_code, headers=HEADERS
    )


def not_found() -> HTMLResponse:
    """The same bytes for every code that cannot be shown: unknown, another's, deleted."""
    return render(
        "message.html",
        404,
        heading="Voucher not found",
        message="Check the link or the code and try again.",
    )


def _when(value: datetime | None, timezone: str) -> str | None:
    return moment_text(value, timezone) or None


@router.get("/static/voucherd.css")
async def stylesheet() -> FileResponse:
    return FileResponse(
        HERE / "static" / "voucherd.css", media_type="text/css", headers={"Cache-Control": "max-age=3600"}
    )


@router.get("/redeem/{code}")
@writes  # opening the page counts as the recipient's click
async def voucher_page(code: str, session: SessionDep) -> Response:
    voucher = await offers.lookup_public(session, normalize(code)) if code.strip() else None
    if voucher is None:
        card = await giftcards.lookup_public(session, code) if code.strip() else None
        if card is None:
            return not_found()
        brand = await branding.brand_of(session, card.client_id) if card.client_id else branding.NO_BRAND
        return _gift_card_page(card, brand)
    recipient = (
        await session.execute(
            select(Recipient.id, Recipient.clicked_at).where(Recipient.voucher_id == voucher.id)
        )
    ).first()
    if recipient is not None and recipient.clicked_at is None:
        # Opening the voucher page counts as a click (whatever link led here).
        await tracking.track(session, recipient.id, Signal.CLICKED, client_id=None)
    state = voucher_state(voucher, voucher.redeemed_count, clock.now())
    share_url = None
    if voucher.landing_slug and recipient is not None:
        share_url = f"{links.base_url()}/c/{voucher.landing_slug}?ref={voucher.id}"
    return render(
        "voucher.html",
        voucher=voucher,
        qr=qr.data_uri(links.redemption_url(voucher.code)),
        state=state.value,
        state_label=STATE_LABELS[state],
        valid_until=_when(voucher.valid_until, voucher.timezone),
        valid_from=_when(voucher.valid_from, voucher.timezone)
        if state is VoucherState.NOT_YET_ACTIVE
        else None,
        minimum_spend=describe_amount(voucher.minimum_spend, voucher.currency)
        if voucher.minimum_spend
        else None,
        share_url=share_url,
        brand=await branding.brand_of(session, voucher.client_id),
    )


def _gift_card_page(card: giftcards.PublicCard, brand: Brand) -> HTMLResponse:
    return render(
        "giftcard.html",
        card=card,
        brand=brand,
        qr=qr.data_uri(links.redemption_url(card.code)),
        state_label=GIFT_CARD_LABELS[card.state],
        valid_until=_when(card.valid_until, card.timezone),
        valid_from=_when(card.valid_from, card.timezone) if card.state is PublicState.NOT_YET_VALID else None,
    )


async def _landing(session: AsyncSession, slug: str) -> tuple[Any, str, str, Brand] | None:
    try:
        campaign = await leads.landing_campaign(session, slug)
    except leads.LandingPageNotFound:
        return None
    client = await session.get(Client, campaign.client_id)
    assert client is not None
    return (
        campaign,
        client.name,
        client.timezone,
        branding.brand_from(client.number, client.accent_color, client.logo_digest),
    )


def _landing_page(
    campaign: Any,
    client_name: str,
    timezone: str,
    brand: Brand,
    *,
    ref: str,
    form: dict[str, str],
    error: str | None,
    status: int,
) -> HTMLResponse:
    return render(
        "landing.html",
        status,
        campaign=campaign,
        client_name=client_name,
        brand=brand,
        valid_until=_when(campaign.valid_until, timezone),
        ref=ref,
        form=form,
        error=error,
    )


@router.get("/c/{slug}")
async def landing_page(slug: str, session: SessionDep, ref: str = "") -> Response:
    found = await _landing(session, slug)
    if found is None:
        return render("message.html", 404, heading="Offer not found", message="This offer is not available.")
    campaign, client_name, timezone, brand = found
    form = {"name": "", "email": ""}
    return _landing_page(
        campaign, client_name, timezone, brand, ref=ref[:64], form=form, error=None, status=200
    )


@router.post("/c/{slug}")
async def claim_offer(
    request: Request,
    slug: str,
    session: SessionDep,
    name: Annotated[str, Form(max_length=500)] = "",
    email: Annotated[str, Form(max_length=500)] = "",
    consent: Annotated[str, Form(max_length=10)] = "",
    website: Annotated[str, Form(max_length=500)] = "",
    ref: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """A visitor claims the offer; they are sent on to their voucher page."""
    found = await _landing(session, slug)
    if found is None:
        return render("message.html", 404, heading="Offer not found", message="This offer is not available.")
    campaign, client_name, timezone, brand = found
    try:
        lead = await leads.claim(
            session,
            campaign,
            leads.Claim(
                name=name, email=email, consent=consent == "yes", honeypot=website, referral=ref or None
            ),
        )
    except (leads.ClaimRefused, leads.AlreadyClaimed) as error:
        status = 409 if isinstance(error, leads.AlreadyClaimed) else 422
        form = {"name": name, "email": email}
        return _landing_page(
            campaign, client_name, timezone, brand, ref=ref, form=form, error=error.message, status=status
        )
    return RedirectResponse(f"/redeem/{lead.voucher_code}", status_code=303, headers=HEADERS)
