"""A sales page's gift voucher shop (``/shop/{subdomain}/``, VoucherCart's domain ``url``): its
published vouchers, a page per voucher with the purchase form, and the order's confirmation,
which says the order awaits payment. Rules live in ``giftcards.shop``; this module parses the
form, shows every problem next to its field, and checks the form's CSRF token. No scripts and no
inline styles (a CSP without ``unsafe-inline``)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.tokens import secret_key
from voucherd.core.errors import DomainError, InvalidInput
from voucherd.core.money import display_price, to_minor
from voucherd.giftcards import payments, shop
from voucherd.giftcards.catalog import AccessLevel, ProductType, ProductView, listed, on_sale
from voucherd.giftcards.orders import OrderStatus
from voucherd.http.ratelimit import rate_limit
from voucherd.http.session import SessionDep
from voucherd.models import GiftProduct
from voucherd.web.public.pages import HEADERS

HERE = Path(__file__).parent
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True), auto_reload=False
)
router = APIRouter(include_in_schema=False, dependencies=[rate_limit("public_per_ip", per="ip")])
# Product images are the client's own URLs (https), so images may come from anywhere secure.
SHOP_HEADERS = {
    **HEADERS,
    "Content-Security-Policy": HEADERS["Content-Security-Policy"].replace(
        "img-src 'self' data:", "img-src 'self' data: https:"
    ),
}
CSRF_COOKIE = "voucherd_shop_csrf"
FIELDS = (
    "option",
    "amount",
    "delivery_method",
    "buyer_name",
    "buyer_email",
    "recipient_name",
    "recipient_email",
    "message",
    "delivery_date",
)
PROVIDER: payments.PaymentProvider = payments.MANUAL


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = HTMLResponse(
        templates.get_template(name).render(csrf=_csrf_token(nonce), **context),
        status_code=status_code,
        headers=SHOP_HEADERS,
    )
    if request.cookies.get(CSRF_COOKIE) != nonce:
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            path="/shop/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


def _csrf_token(nonce: str) -> str:
    """The form's token: the cookie's random value signed with the server's key, so another site
    can neither read nor make it (double submit, signed)."""
    return hmac.new(secret_key(), b"shop-csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def _csrf_valid(request: Request, token: str) -> bool:
    nonce = request.cookies.get(CSRF_COOKIE)
    return bool(nonce) and hmac.compare_digest(_csrf_token(nonce or ""), token)


def _not_found(request: Request, heading: str = "Not found") -> HTMLResponse:
    return render(
        request, "message.html", 404, heading=heading, message="Check the link, or ask the business for it."
    )


def _expiry(product: GiftProduct, timezone: str) -> str | None:
    if product.expiry_type == "period" and product.expiry_period:
        unit = product.expiry_interval or "months"
        unit = unit[:-1] if product.expiry_period == 1 else unit
        return f"Valid for {product.expiry_period} {unit} from purchase."
    if product.expiry_type == "time" and product.expiry_to is not None:
        return f"Valid until {product.expiry_to.astimezone(ZoneInfo(timezone)):%d %B %Y}."
    return None


def _card(view: ProductView) -> dict[str, Any]:
    """A product as the pages show it."""
    product = view.product
    monetary = product.type == ProductType.MONETARY
    if monetary:
        low, high = product.min_amount or 1, product.max_amount
        price = f"From {display_price(low, product.currency)}" + (
            f" to {display_price(high, product.currency)}" if high is not None else ""
        )
    else:
        cheapest = display_price(view.price, product.currency)
        price = cheapest if len(view.options) == 1 else f"From {cheapest}"
    options = []
    for option in view.options:
        uses = f" ({option.quantity} uses)" if (option.quantity or 1) > 1 else ""
        label = (option.description or product.title) + uses
        options.append(
            {
                "number": option.number,
                "label": label,
                "price": display_price(option.sell_price, product.currency),
            }
        )
    methods = [
        {
            "number": method.number,
            "label": method.title
            + (
                f": {method.options[0]['description']}"
                if method.options and method.options[0].get("description")
                else ""
            ),
        }
        for method in view.delivery
        if method.number in shop.delivery_methods(view)
    ]
    image = product.image if product.image and product.image.startswith("https://") else None
    return {
        "number": product.number,
        "title": product.title,
        "description": product.description,
        "terms": product.terms,
        "monetary": monetary,
        "secret": product.access_level == AccessLevel.SECRET,
        "sold_out": product.quantity_is_limited and (product.stock or 0) <= 0,
        "price": price,
        "options": options,
        "methods": methods,
        "image": image,
        "currency": product.currency,
    }


@router.get("/static/shop.css")
async def stylesheet() -> FileResponse:
    return FileResponse(
        HERE / "static" / "shop.css", media_type="text/css", headers={"Cache-Control": "max-age=3600"}
    )


@router.get("/shop/{subdomain}/")
async def shop_page(request: Request, subdomain: str, session: SessionDep) -> Response:
    found = await shop.find_shop(session, subdomain)
    if found is None:
        return _not_found(request, "Shop not found")
    products = [_card(view) for view in await listed(session, found.page)]
    return render(request, "shop.html", shop=found, products=products)


async def _voucher_page(
    request: Request,
    found: shop.Shop,
    view: ProductView,
    *,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    card = _card(view)
    return render(
        request,
        "voucher.html",
        status_code,
        shop=found,
        voucher=card,
        expiry=_expiry(view.product, found.timezone),
        form=form,
        errors=errors,
        today=shop.today(found).isoformat(),
    )


async def _for_sale(
    session: AsyncSession, subdomain: str, number: str
) -> tuple[shop.Shop | None, ProductView | None]:
    """The shop and the voucher it sells by this link (a number that is no voucher's: none)."""
    found = await shop.find_shop(session, subdomain)
    if found is None or not (number.isascii() and number.isdigit()) or len(number) > 9:
        return found, None
    return found, await on_sale(session, found.page, int(number))


@router.get("/shop/{subdomain}/vouchers/{number}")
async def voucher_page(request: Request, subdomain: str, number: str, session: SessionDep) -> Response:
    found, view = await _for_sale(session, subdomain, number)
    if found is None or view is None:
        return _not_found(request, "Voucher not found")
    card = _card(view)
    form = {name: "" for name in FIELDS}
    form["option"] = str(card["options"][0]["number"]) if card["options"] and not card["monetary"] else ""
    form["delivery_method"] = str(card["methods"][0]["number"]) if card["methods"] else ""
    return await _voucher_page(request, found, view, form=form, errors={})


def _parse(form: dict[str, str], currency: str) -> tuple[shop.ShopOrder, dict[str, str]]:
    """The typed order and the fields that could not even be read."""
    errors: dict[str, str] = {}
    amount = None
    if form["amount"].strip():
        try:
            amount = to_minor(form["amount"].strip().lstrip("£$€"), currency, field="amount")
        except InvalidInput:
            errors["amount"] = "Enter an amount as a number, like 25 or 25.50."
    delivery_date = None
    if form["delivery_date"].strip():
        try:
            delivery_date = date.fromisoformat(form["delivery_date"].strip())
        except ValueError:
            errors["delivery_date"] = "Enter a date like 2027-01-31, or leave it empty."

    def number(name: str) -> int | None:
        value = form[name].strip()
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None

    data = shop.ShopOrder(
        option=number("option"),
        amount=amount,
        delivery_method=number("delivery_method"),
        buyer_name=form["buyer_name"],
        buyer_email=form["buyer_email"],
        recipient_name=form["recipient_name"],
        recipient_email=form["recipient_email"],
        message=form["message"],
        delivery_date=delivery_date,
    )
    return data, errors


Text = Annotated[str, Form(max_length=2000)]


@router.post("/shop/{subdomain}/vouchers/{number}", dependencies=[rate_limit("shop_order_per_ip", per="ip")])
async def buy(
    request: Request,
    subdomain: str,
    number: str,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    option: Text = "",
    amount: Text = "",
    delivery_method: Text = "",
    buyer_name: Text = "",
    buyer_email: Text = "",
    recipient_name: Text = "",
    recipient_email: Text = "",
    message: Text = "",
    delivery_date: Text = "",
) -> Response:
    """Place an order awaiting payment, and go on to its confirmation; bad input shows the form
    again with each problem beside its field, and saves nothing."""
    found, view = await _for_sale(session, subdomain, number)
    if found is None or view is None:
        return _not_found(request, "Voucher not found")
    form = {
        "option": option,
        "amount": amount,
        "delivery_method": delivery_method,
        "buyer_name": buyer_name,
        "buyer_email": buyer_email,
        "recipient_name": recipient_name,
        "recipient_email": recipient_email,
        "message": message,
        "delivery_date": delivery_date,
    }
    if not _csrf_valid(request, csrf):
        return render(
            request,
            "message.html",
            403,
            heading="Please try again",
            message="This form had expired or did not come from this shop. Open the voucher again and "
            "send the form from there.",
        )
    data, errors = _parse(form, view.product.currency)
    errors = {**shop.problems(found, view, data), **errors}
    if not errors:
        try:
            order = await shop.place_shop_order(session, found, view.product.number, data)
        except DomainError as error:  # sold out meanwhile: shown above the form
            errors = {"form": error.message}
        else:
            return RedirectResponse(
                f"/shop/{found.page.name}/orders/{order.reference}", status_code=303, headers=SHOP_HEADERS
            )
    return await _voucher_page(request, found, view, form=form, errors=errors, status_code=422)


@router.get("/shop/{subdomain}/orders/{reference}")
async def order_page(request: Request, subdomain: str, reference: str, session: SessionDep) -> Response:
    found = await shop.find_shop(session, subdomain)
    row = None if found is None else await shop.shop_order(session, found, reference)
    if found is None or row is None:
        return _not_found(request, "Order not found")
    order, title = row
    return render(
        request,
        "order.html",
        shop=found,
        order=order,
        title=title,
        total=display_price(order.total, order.currency),
        awaiting=order.status == OrderStatus.AWAITING_PAYMENT,
        instructions=PROVIDER.instructions(order, business=found.business),
    )
