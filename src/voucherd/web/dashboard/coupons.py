"""The dashboard's coupons (seed 003's coupons and discount codes): list, create, edit, delete,
through the coupon service the VoucherCart API calls."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response

from voucherd.accounts.sales_pages import pages_of
from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.core.money import BASIS_POINTS, display_price, to_decimal, to_minor
from voucherd.coupons import service as coupons
from voucherd.coupons.rules import CouponType, ExpiryType, Interval
from voucherd.coupons.schemas import CouponInput, ExpiryInput
from voucherd.coupons.shapes import CouponView
from voucherd.http.session import SessionDep
from voucherd.web.dashboard.pages import PAGE_SIZE, Manager, area_router, view
from voucherd.web.formats import day_text

router = area_router()
BASE = "/dashboard/coupons"
Number = Annotated[int, Path(ge=1, le=2**31 - 1)]
TYPES = [(CouponType.PERCENT.value, "A percentage off"), (CouponType.FIXED.value, "An amount off")]
EXPIRIES = [
    ("", "Never"),
    (ExpiryType.PERIOD.value, "So long after each purchase"),
    (ExpiryType.TIME.value, "Between two dates"),
]
INTERVALS = [(Interval.DAYS.value, "days"), (Interval.MONTHS.value, "months")]
DONE = {
    "created": "The coupon was created.",
    "saved": "Your changes were saved.",
    "deleted": "The coupon was deleted: its codes no longer work.",
}
FIELDS = {
    "title": "title",
    "type": "type",
    "amount": "amount",
    "terms": "terms",
    "description": "description",
    "domainId": "domain",
    "expiry.type": "expiry_type",
    "expiry.interval": "expiry_interval",
    "expiry.period": "expiry_period",
    "expiry.dateFrom": "date_from",
    "expiry.dateTo": "date_to",
}


def describe(found: CouponView, currency: str) -> str:
    """What the coupon takes off, in words (``10% off``, ``£5.00 off``)."""
    amount = found.campaign.discount_value
    if found.campaign.discount_type == "percentage":
        percent = (Decimal(amount) / 100).normalize()
        return f"{percent:f}% off"
    return f"{display_price(amount, currency)} off"


def expiry_words(found: CouponView, timezone: str) -> str:
    coupon, campaign = found.coupon, found.campaign
    if coupon.expiry_type == ExpiryType.PERIOD:
        return f"{coupon.expiry_period} {coupon.expiry_interval} after purchase"
    if coupon.expiry_type == ExpiryType.TIME:
        start, end = day_text(campaign.valid_from, timezone), day_text(campaign.valid_until, timezone)
        return f"{start or '…'} to {end or '…'}"
    return "Never"


@router.get("/coupons")
async def coupon_list(request: Request, session: SessionDep, login: Manager, page: int = 1) -> Response:
    principal = login.principal
    page = max(1, min(page, 10**6))
    # One more than a page tells whether there is a next one (the service lists by limit and offset).
    found = await coupons.list_coupons(
        session, principal, domain=None, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    pages = {str(item.number): item.name for item in await pages_of(session, principal)}
    return view.render(
        request,
        "coupons/list.html",
        coupons=found[:PAGE_SIZE],
        previous=f"{BASE}?page={page - 1}" if page > 1 else None,
        next=f"{BASE}?page={page + 1}" if len(found) > PAGE_SIZE else None,
        page=page,
        pages=pages,
        describe=lambda item: describe(item, principal.currency),
        expiry=lambda item: expiry_words(item, principal.timezone),
        flash=DONE.get(request.query_params.get("done", "")),
    )


def _form_of(found: CouponView | None, currency: str, timezone: str) -> dict[str, str]:
    if found is None:
        return {"type": CouponType.PERCENT.value, "expiry_interval": Interval.MONTHS.value}
    campaign, coupon = found.campaign, found.coupon
    percent = campaign.discount_type == "percentage"
    amount = (
        f"{(Decimal(campaign.discount_value) / 100).normalize():f}"
        if percent
        else str(to_decimal(campaign.discount_value, currency))
    )

    def day(value: object) -> str:
        return "" if value is None else clock.local_format(value, timezone)[:10]  # type: ignore[arg-type]

    return {
        "title": campaign.name,
        "type": CouponType.PERCENT.value if percent else CouponType.FIXED.value,
        "amount": amount,
        "terms": campaign.terms or "",
        "description": coupon.description,
        "domain": str(found.domain),
        "expiry_type": coupon.expiry_type or "",
        "expiry_interval": coupon.expiry_interval or Interval.MONTHS.value,
        "expiry_period": "" if coupon.expiry_period is None else str(coupon.expiry_period),
        "date_from": day(campaign.valid_from) if coupon.expiry_type == ExpiryType.TIME else "",
        "date_to": day(campaign.valid_until) if coupon.expiry_type == ExpiryType.TIME else "",
    }


def _parse(
    form: dict[str, str], currency: str, default_domain: int
) -> tuple[CouponInput | None, dict[str, str]]:
    errors: dict[str, str] = {}
    kind = form.get("type", "")
    text = form.get("amount", "").strip().rstrip("%").lstrip("£$€").strip()
    amount = 0
    if not text:
        errors["amount"] = "Enter how much the coupon takes off."
    elif kind == CouponType.PERCENT:
        try:
            value = Decimal(text)
            points = value * 100
            if not value.is_finite() or points != points.to_integral_value():
                raise InvalidOperation
            amount = int(points)
            if not 0 < amount <= BASIS_POINTS:
                errors["amount"] = "A percentage off is more than 0 and at most 100, like 10 or 7.5."
        except InvalidOperation:
            errors["amount"] = "Enter a percentage like 10 or 7.5."
    else:
        try:
            amount = to_minor(text, currency, field="The amount")
        except InvalidInput as error:
            errors["amount"] = f"{error.message} Enter it like 5 or 4.50."
    expiry = None
    kind_of_expiry = form.get("expiry_type", "")
    if kind_of_expiry == ExpiryType.PERIOD:
        period_text = form.get("expiry_period", "").strip()
        period = (
            int(period_text)
            if period_text.isascii() and period_text.isdigit() and len(period_text) < 6
            else None
        )
        if period is None:
            errors["expiry_period"] = "Enter how many days or months, as a whole number."
        expiry = ExpiryInput(type="period", interval=form.get("expiry_interval"), period=period)
    elif kind_of_expiry == ExpiryType.TIME:
        days: dict[str, date | None] = {}
        for name in ("date_from", "date_to"):
            typed = form.get(name, "").strip()
            days[name] = None
            if typed:
                try:
                    days[name] = date.fromisoformat(typed)
                except ValueError:
                    errors[name] = "Enter a date like 2027-01-31."
        expiry = ExpiryInput(type="time", date_from=days["date_from"], date_to=days["date_to"])
    elif kind_of_expiry:
        errors["expiry_type"] = "Choose when the codes stop working."
    domain_text = form.get("domain", "").strip()
    domain = (
        int(domain_text)
        if domain_text.isascii() and domain_text.isdigit() and len(domain_text) < 10
        else None
    )
    if domain_text and domain is None:
        errors["domain"] = "Choose one of your sales pages."
    if errors:
        return None, errors
    return (
        CouponInput(
            domain=domain if domain is not None else default_domain,
            title=form.get("title", ""),
            type=kind,
            amount=amount,
            terms=form.get("terms", "").strip() or None,
            description=form.get("description", ""),
            expiry=expiry,
        ),
        {},
    )


async def _render(
    request: Request,
    session: SessionDep,
    login: Manager,
    *,
    found: CouponView | None,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    pages = await pages_of(session, login.principal)
    return view.render(
        request,
        "coupons/coupon.html",
        status,
        found=found,
        form=form,
        errors=errors,
        types=TYPES,
        expiries=EXPIRIES,
        intervals=INTERVALS,
        sales_pages=[(str(page.number), page.name) for page in pages],
        currency=login.principal.currency,
        flash=DONE.get(request.query_params.get("done", "")),
    )


async def _form(request: Request) -> dict[str, str]:
    return {key: value for key, value in (await request.form()).items() if isinstance(value, str)}


async def _default_domain(session: SessionDep, login: Manager) -> int:
    pages = await pages_of(session, login.principal)
    return pages[0].number if pages else 0


@router.get("/coupons/new")
async def new_coupon(request: Request, session: SessionDep, login: Manager) -> Response:
    form = _form_of(None, login.principal.currency, login.principal.timezone)
    return await _render(request, session, login, found=None, form=form, errors={})


@router.post("/coupons/new")
async def create_coupon(request: Request, session: SessionDep, login: Manager) -> Response:
    form = await _form(request)
    data, errors = _parse(form, login.principal.currency, await _default_domain(session, login))
    if data is not None:
        try:
            async with session.begin_nested():
                made = await coupons.create_coupon(session, login.principal, data)
            return RedirectResponse(f"{BASE}/{made.coupon.number}?done=created", status_code=303)
        except InvalidInput as error:
            errors = {FIELDS.get(error.field or "", "form"): error.message}
    return await _render(request, session, login, found=None, form=form, errors=errors, status=422)


@router.get("/coupons/{number}")
async def coupon_page(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    found = await coupons.get_coupon(session, login.principal, number)
    form = _form_of(found, login.principal.currency, login.principal.timezone)
    return await _render(request, session, login, found=found, form=form, errors={})


@router.post("/coupons/{number}")
async def update_coupon(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    found = await coupons.get_coupon(session, login.principal, number)
    form = await _form(request)
    data, errors = _parse(form, login.principal.currency, found.domain)
    if data is not None:
        try:
            async with session.begin_nested():
                await coupons.update_coupon(session, login.principal, number, data)
            return RedirectResponse(f"{BASE}/{number}?done=saved", status_code=303)
        except InvalidInput as error:
            errors = {FIELDS.get(error.field or "", "form"): error.message}
    found = await coupons.get_coupon(session, login.principal, number)
    return await _render(request, session, login, found=found, form=form, errors=errors, status=422)


@router.post("/coupons/{number}/delete")
async def delete_coupon(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    await coupons.delete_coupon(session, login.principal, number)
    return RedirectResponse(f"{BASE}?done=deleted", status_code=303)
