"""The dashboard's gift vouchers: the catalog (create, edit, publish), the orders (search, mark
paid, refund), selling one at the counter, and each code's lost-code and top-up forms.

Every form calls the service the API calls, inside a savepoint: a refused form re-renders with
its message beside the field (422) and leaves nothing behind."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response

from voucherd.accounts.sales_pages import pages_of
from voucherd.core import clock
from voucherd.core.errors import DomainError, InvalidInput
from voucherd.core.money import display_price, to_decimal, to_minor
from voucherd.core.pagination import PageRequest
from voucherd.giftcards import balances, catalog, lifecycle, orders, payments
from voucherd.giftcards.balances import CardStatus
from voucherd.giftcards.catalog import AccessLevel, ProductType
from voucherd.giftcards.errors import OptionNotFound
from voucherd.http.session import SessionDep
from voucherd.web.dashboard.pages import PAGE_SIZE, Manager, area_router, pager, view

router = area_router()
# A product's or an order's number in a path (a bigger one is no number of ours).
Number = Annotated[int, Path(ge=1, le=2**31 - 1)]
BASE = "/dashboard/gifts"
OPTION_ROWS = 3  # empty option rows a product form offers beside the ones it has
PAYMENT_METHODS = ["Cash", "Card at the counter", "Bank transfer", "Other"]
TYPES = [
    (ProductType.FIXED.value, "A thing or an experience"),
    (ProductType.TICKET.value, "A ticket (used once)"),
    (ProductType.PREDEFINED.value, "A set amount of money"),
    (ProductType.MONETARY.value, "Money: the buyer chooses how much"),
]
ACCESS = [
    (AccessLevel.PUBLISHED.value, "Published (in the shop)"),
    (AccessLevel.SECRET.value, "Secret (by its link only)"),
    (AccessLevel.UNPUBLISHED.value, "Unpublished (not sold)"),
]
ACCESS_WORDS = {
    AccessLevel.PUBLISHED: "Published",
    AccessLevel.SECRET: "Secret",
    AccessLevel.UNPUBLISHED: "Unpublished",
}
CARD_WORDS = {
    CardStatus.IN_PROGRESS: "Can be used",
    CardStatus.COMPLETED: "Used up",
    CardStatus.REFUNDED: "Refunded",
    CardStatus.EXPIRED: "Expired",
    CardStatus.REGENERATED: "Replaced (lost)",
}
DONE = {
    "created": "The gift voucher was created.",
    "saved": "Your changes were saved.",
    "published": "The gift voucher is published: the shop lists and sells it.",
    "secret": "The gift voucher is secret: it is sold only by its direct link.",
    "unpublished": "The gift voucher is unpublished: it is not sold any more.",
    "sold": "The order is paid and its codes are issued.",
    "paid": "The payment is recorded: the codes are issued and sent.",
    "refunded": "The order is refunded: its codes no longer work.",
    "regenerated": "A new code replaces the lost one, with what was left on it; the old one no longer works.",
    "topped-up": "The top-up is on the code.",
}
# Where each field a service names is shown on the product form.
PRODUCT_FIELDS = {
    "title": "title",
    "type": "type",
    "accessLevel": "access_level",
    "minAmount": "min_amount",
    "maxAmount": "max_amount",
    "stock": "stock",
    "expiry.period": "expiry_months",
    "sales_page": "sales_page",
    "domainId": "sales_page",
}
OPTION_FIELDS = {"sellPrice": "price", "realValue": "value", "quantity": "uses", "description": "description"}


def _flash(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


def _done(url: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?done={what}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    return {key: value for key, value in (await request.form()).items() if isinstance(value, str)}


def _number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _amount(form: dict[str, str], name: str, label: str, currency: str, errors: dict[str, str]) -> int | None:
    """A sum typed as ``20`` or ``19.50`` in minor units; empty is ``None``."""
    text = form.get(name, "").strip().lstrip("£$€")
    if not text:
        return None
    try:
        return to_minor(text, currency, field=label)
    except InvalidInput as error:
        errors[name] = f"{error.message} Enter it like 20 or 19.50."
        return None


def _whole(form: dict[str, str], name: str, label: str, errors: dict[str, str]) -> int | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    found = _number(text)
    if found is None:
        errors[name] = f"{label} must be a whole number, 0 or more."
    return found


def _shown(minor: int | None, currency: str) -> str:
    return "" if minor is None else str(to_decimal(minor, currency))


# The catalog


@router.get("/gifts")
async def catalog_list(
    request: Request, session: SessionDep, login: Manager, q: str = "", page: int = 1
) -> Response:
    found = await catalog.catalog_page(
        session, login.principal, PageRequest(page=page, limit=PAGE_SIZE), search=q[:200]
    )
    return view.render(
        request,
        "gifts/catalog.html",
        products=found.items,
        pages=pager(request, found),  # type: ignore[arg-type]
        q=q,
        access=ACCESS_WORDS,
        flash=_flash(request),
        money=display_price,
    )


@router.get("/gifts/orders")
async def order_list(
    request: Request, session: SessionDep, login: Manager, q: str = "", page: int = 1
) -> Response:
    found = await orders.list_orders(
        session, login.principal, PageRequest(page=page, limit=PAGE_SIZE), search=q[:200]
    )
    return view.render(
        request,
        "gifts/orders.html",
        rows=found.items,
        pages=pager(request, found),  # type: ignore[arg-type]
        q=q,
        money=display_price,
    )


def _product_form(found: catalog.ProductView | None, currency: str) -> dict[str, str]:
    if found is None:
        return {"type": ProductType.FIXED.value, "access_level": AccessLevel.PUBLISHED.value}
    product = found.product
    form = {
        "title": product.title,
        "type": product.type,
        "description": product.description,
        "terms": product.terms,
        "access_level": product.access_level,
        "sales_page": str(found.sales_page.number),
        "min_amount": _shown(product.min_amount, currency),
        "max_amount": _shown(product.max_amount, currency),
        "stock": "" if product.stock is None else str(product.stock),
        "expiry_months": str(product.expiry_period or "")
        if product.expiry_type == "period" and product.expiry_interval == "months"
        else "",
        "image": product.image or "",
    }
    for index, option in enumerate(found.options):
        form[f"option_{index}_number"] = str(option.number)
        form[f"option_{index}_description"] = option.description
        form[f"option_{index}_price"] = _shown(option.sell_price, currency)
        form[f"option_{index}_value"] = _shown(option.real_value, currency)
        form[f"option_{index}_uses"] = "" if option.quantity is None else str(option.quantity)
    return form


def _option_count(form: dict[str, str]) -> int:
    """How many option rows the form holds: up to the last one with something typed in it."""
    filled = [
        int(index)
        for key, value in form.items()
        if key.startswith("option_") and value.strip() and not key.endswith("_number")
        for index in [key.split("_")[1]]
        if index.isdigit() and len(index) < 4
    ]
    return min(max(filled, default=-1) + 1, catalog.MAX_OPTIONS)


def _kept(found: catalog.ProductView | None) -> dict[str, Any]:
    """What an edit keeps of a product that the form does not show (set through the API): its
    tax rate, categories, delivery methods, the sales pages it is redeemable on, its other
    pictures; a replace (``update_product``) would otherwise drop them."""
    if found is None:
        return {}
    product = found.product
    return {
        "tax_rate": product.tax_rate,
        "hide_price_disabled": product.hide_price_disabled,
        "categories": [category.name for category in found.categories],
        "delivery": [
            catalog.DeliveryInput(
                type=method.type,
                title=method.title,
                number=method.number,
                options=[
                    catalog.DeliveryOptionInput(
                        title=str(carrier.get("title", "")),
                        description=str(carrier.get("description", "")),
                        amount=int(carrier.get("amount", 0)),
                    )
                    for carrier in method.options
                ],
            )
            for method in found.delivery
        ],
        "redeemable_on": list(product.redeemable_on),
    }


def _kept_expiry(found: catalog.ProductView | None) -> catalog.ExpiryInput | None:
    """A validity the form cannot show (in days, or between two dates), kept as it is."""
    kind = None if found is None else found.product.expiry_type
    if found is None or kind is None:
        return None
    product = found.product
    if kind == "period" and product.expiry_interval == "months":
        return None  # the form's months field shows it
    return catalog.ExpiryInput(
        type=kind,
        interval=product.expiry_interval,
        period=product.expiry_period,
        date_from=product.expiry_from,
        date_to=product.expiry_to,
    )


def _parse_product(
    form: dict[str, str], currency: str, found: catalog.ProductView | None = None
) -> tuple[catalog.ProductInput, dict[str, str], list[int]]:
    """The product typed, the fields that could not be read, and the form row of each option."""
    errors: dict[str, str] = {}
    types = {option.number: option.type for option in found.options} if found else {}
    options: list[catalog.OptionInput] = []
    rows: list[int] = []
    for index in range(_option_count(form)):
        prefix = f"option_{index}_"
        description = form.get(prefix + "description", "")
        typed = [form.get(prefix + part, "").strip() for part in ("price", "value", "uses")]
        if not description.strip() and not any(typed):
            continue  # an empty row
        number = form.get(prefix + "number", "").strip()
        options.append(
            catalog.OptionInput(
                number=_number(number) if number else None,
                type=types.get(_number(number) or 0),
                description=description,
                sell_price=_amount(form, prefix + "price", "The price", currency, errors),
                real_value=_amount(form, prefix + "value", "The value", currency, errors),
                quantity=_whole(form, prefix + "uses", "Uses", errors),
            )
        )
        if number and _number(number) is None:
            errors["options"] = "This form names an option the voucher does not have. Reload the page."
        rows.append(index)
    months = _whole(form, "expiry_months", "Months", errors)
    stock = _whole(form, "stock", "Stock", errors)
    image = form.get("image", "").strip()
    if image and not image.startswith("https://"):
        errors["image"] = "Give the picture's web address, starting with https://."
    others = [] if found is None else [url for url in found.product.images if url != found.product.image]
    expiry = _kept_expiry(found)
    if months:
        expiry = catalog.ExpiryInput(type="period", interval="months", period=months)
    data = catalog.ProductInput(
        sales_page=_number(form.get("sales_page", "")),
        type=form.get("type", ""),
        title=form.get("title", ""),
        description=form.get("description", "").strip(),
        terms=form.get("terms", "").strip(),
        currency=currency,
        access_level=form.get("access_level", AccessLevel.PUBLISHED.value),
        quantity_is_limited=stock is not None,
        stock=stock,
        min_amount=_amount(form, "min_amount", "The lowest amount", currency, errors),
        max_amount=_amount(form, "max_amount", "The highest amount", currency, errors),
        options=options,
        expiry=expiry,
        image=image or None,
        images=([image] if image else []) + others,
        **_kept(found),
    )
    return data, errors, rows


def _product_error(error: InvalidInput, rows: list[int]) -> dict[str, str]:
    """Where on the product form a service's message goes."""
    name = error.field or ""
    if name.startswith("options[") and "]" in name:
        position, _, part = name[len("options[") :].partition("]")
        part = part.lstrip(".")
        if position.isdigit() and int(position) < len(rows) and part in OPTION_FIELDS:
            return {f"option_{rows[int(position)]}_{OPTION_FIELDS[part]}": error.message}
        return {"options": error.message}
    if name == "options":
        return {"options": error.message}
    return {PRODUCT_FIELDS.get(name, "form"): error.message}


async def _render_product(
    request: Request,
    session: SessionDep,
    login: Manager,
    *,
    found: catalog.ProductView | None,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    pages = await pages_of(session, login.principal)
    return view.render(
        request,
        "gifts/product.html",
        status,
        found=found,
        form=form,
        errors=errors,
        rows=_option_count(form) + OPTION_ROWS,
        types=TYPES,
        access=ACCESS,
        access_words=ACCESS_WORDS,
        sales_pages=[(str(page.number), page.name) for page in pages],
        currency=found.product.currency if found else login.principal.currency,
        other_expiry=_kept_expiry(found) is not None,
        flash=_flash(request),
        money=display_price,
    )


@router.get("/gifts/new")
async def new_product(request: Request, session: SessionDep, login: Manager) -> Response:
    return await _render_product(
        request, session, login, found=None, form=_product_form(None, login.principal.currency), errors={}
    )


@router.post("/gifts/new")
async def create_product(request: Request, session: SessionDep, login: Manager) -> Response:
    form = await _form(request)
    data, errors, rows = _parse_product(form, login.principal.currency)
    if not errors:
        try:
            async with session.begin_nested():
                made = await catalog.create_product(session, login.principal, data)
            return _done(f"{BASE}/{made.product.number}", "created")
        except InvalidInput as error:
            errors = _product_error(error, rows)
    return await _render_product(request, session, login, found=None, form=form, errors=errors, status=422)


@router.get("/gifts/{number}")
async def product_page(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    found = await catalog.view(session, login.principal, number)
    return await _render_product(
        request, session, login, found=found, form=_product_form(found, found.product.currency), errors={}
    )


@router.post("/gifts/{number}")
async def update_product(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    found = await catalog.view(session, login.principal, number)
    form = await _form(request)
    data, errors, rows = _parse_product(form, found.product.currency, found)
    if not errors:
        try:
            async with session.begin_nested():
                await catalog.update_product(session, login.principal, number, data)
            return _done(f"{BASE}/{number}", "saved")
        except (InvalidInput, DomainError) as error:
            if not isinstance(error, InvalidInput):  # an option sold cannot be removed
                errors = {"options": error.message}
            else:
                errors = _product_error(error, rows)
    found = await catalog.view(session, login.principal, number)
    return await _render_product(request, session, login, found=found, form=form, errors=errors, status=422)


@router.post("/gifts/{number}/access")
async def set_access(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    level = (await _form(request)).get("access_level", "")
    await catalog.set_access_level(session, login.principal, number, level)
    return _done(f"{BASE}/{number}", level)


# Selling at the counter


@router.get("/gifts/{number}/sell")
async def sell_form(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    found = await catalog.view(session, login.principal, number)
    form = {"quantity": "1", "method": PAYMENT_METHODS[0]}
    if found.options:
        form["option"] = str(found.options[0].number)
    return _render_sale(request, login, found, form, {})


def _render_sale(
    request: Request,
    login: Manager,
    found: catalog.ProductView,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    currency = found.product.currency
    options = [
        (
            str(option.number),
            f"{option.description or found.product.title} · {display_price(option.sell_price, currency)}",
        )
        for option in found.options
    ]
    return view.render(
        request,
        "gifts/sell.html",
        status,
        found=found,
        form=form,
        errors=errors,
        options=options,
        monetary=found.product.type == ProductType.MONETARY,
        methods=[(method, method) for method in PAYMENT_METHODS],
        money=display_price,
    )


SALE_FIELDS = {
    "optionId": "option",
    "monetaryAmount": "amount",
    "quantity": "quantity",
    "buyer[email]": "buyer_email",
    "buyer[name]": "buyer_name",
    "recipient[email]": "recipient_email",
    "recipient[name]": "recipient_name",
    "recipient[message]": "message",
    "method": "method",
    "reference": "reference",
}


@router.post("/gifts/{number}/sell")
async def sell(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    found = await catalog.view(session, login.principal, number)
    form = await _form(request)
    errors: dict[str, str] = {}
    quantity = _whole(form, "quantity", "How many", errors) or 0
    amount = _amount(form, "amount", "The amount", found.product.currency, errors)
    option = form.get("option", "").strip()
    if option and _number(option) is None:
        errors["option"] = "Choose one of this voucher's options."
    if not errors:
        data = orders.OrderInput(
            product=number,
            option=_number(option) if option else None,
            monetary_amount=amount,
            quantity=quantity,
            buyer_name=form.get("buyer_name"),
            buyer_email=form.get("buyer_email"),
            recipient_name=form.get("recipient_name"),
            recipient_email=form.get("recipient_email"),
            recipient_message=form.get("message"),
        )
        payment = payments.PaymentInput(method=form.get("method", ""), reference=form.get("reference", ""))
        try:
            async with session.begin_nested():
                placed = await payments.sell(session, login.principal, data, payment)
            return _done(f"{BASE}/orders/{placed.order.number}", "sold")
        except OptionNotFound:
            errors = {"option": "Choose one of this voucher's options."}
        except InvalidInput as error:
            errors = {SALE_FIELDS.get(error.field or "", "form"): error.message}
        except DomainError as error:  # sold out, not on sale
            errors = {"form": error.message}
    return _render_sale(request, login, found, form, errors, 422)


# Orders


async def _render_order(
    request: Request,
    session: SessionDep,
    login: Manager,
    number: Number,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    details = await orders.order_details(session, login.principal, number)
    now = clock.now()
    cards = [(card, balances.status_of(card, now)) for card in details.cards]
    return view.render(
        request,
        "gifts/order.html",
        status,
        details=details,
        order=details.order,
        cards=cards,
        card_words=CARD_WORDS,
        usable=(CardStatus.IN_PROGRESS,),
        methods=[(method, method) for method in PAYMENT_METHODS],
        form=form or {"method": PAYMENT_METHODS[0]},
        errors=errors or {},
        flash=_flash(request),
        money=display_price,
    )


@router.get("/gifts/orders/{number}")
async def order_page(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    return await _render_order(request, session, login, number)


@router.post("/gifts/orders/{number}/paid")
async def mark_paid(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    form = await _form(request)
    payment = payments.PaymentInput(method=form.get("method", ""), reference=form.get("reference", ""))
    try:
        async with session.begin_nested():
            await payments.mark_paid(session, login.principal, number, payment)
    except InvalidInput as error:
        field = error.field if error.field in {"method", "reference"} else "method"
        return await _render_order(
            request, session, login, number, form=form, errors={field or "method": error.message}, status=422
        )
    return _done(f"{BASE}/orders/{number}", "paid")


@router.post("/gifts/orders/{number}/refund")
async def refund(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    await lifecycle.refund_order(session, login.principal, number)
    return _done(f"{BASE}/orders/{number}", "refunded")


async def _code_of_order(session: SessionDep, login: Manager, number: Number, code: str) -> str:
    """The code, when it is one of this order's (so a form of one order never moves another's)."""
    details = await orders.order_details(session, login.principal, number)
    for card in details.cards:
        if card.code == code.strip():
            return card.code
    raise InvalidInput("That code is not one of this order's.", field="code")


@router.post("/gifts/orders/{number}/regenerate")
async def regenerate(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    form = await _form(request)
    code = await _code_of_order(session, login, number, form.get("code", ""))
    await lifecycle.regenerate(session, login.principal, code)
    return _done(f"{BASE}/orders/{number}", "regenerated")


@router.post("/gifts/orders/{number}/top-up")
async def top_up(request: Request, number: Number, session: SessionDep, login: Manager) -> Response:
    form = await _form(request)
    code = await _code_of_order(session, login, number, form.get("code", ""))
    field = f"amount-{code}"
    errors: dict[str, str] = {}
    details = await orders.order_details(session, login.principal, number)
    amount = _amount(form, "amount", "The amount", details.order.currency, errors)
    if amount is None and not errors:
        errors["amount"] = "Enter the amount to add, like 20 or 19.50."
    if not errors and amount is not None:
        try:
            async with session.begin_nested():
                await balances.top_up(session, login.principal, code, page=None, amount=amount)
            return _done(f"{BASE}/orders/{number}", "topped-up")
        except InvalidInput as error:
            errors = {"amount": error.message}
    return await _render_order(
        request,
        session,
        login,
        number,
        form={field: form.get("amount", "")},
        errors={field: errors["amount"]},
        status=422,
    )
