"""The gift voucher catalog: products, their priced options, categories and delivery methods.

Every rule of what a product may be lives here; the dialects only name the fields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.numbers import next_number
from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.sales_pages import find_page
from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.core.money import BASIS_POINTS, MAX_MINOR, is_currency
from voucherd.core.pagination import Page, PageRequest
from voucherd.giftcards.errors import OptionSold, ProductNotFound
from voucherd.models import (
    GiftCategory,
    GiftDeliveryMethod,
    GiftOption,
    GiftOrder,
    GiftProduct,
    GiftProductCategory,
    SalesPage,
)


class ProductType(StrEnum):
    FIXED = "fixed"  # a thing or an experience; an option's quantity is its number of uses
    TICKET = "ticket"  # one use
    PREDEFINED = "predefined"  # a stored value: the option's real value, sold at its price
    MONETARY = "monetary"  # a stored value the buyer chooses


STORED_VALUES = frozenset({ProductType.PREDEFINED, ProductType.MONETARY})


class AccessLevel(StrEnum):
    PUBLISHED = "published"  # listed and sold
    SECRET = "secret"  # noqa: S105 (an access level) sold by direct link only, not listed
    UNPUBLISHED = "unpublished"  # not sold


DELIVERY_TYPES = frozenset({"electronic", "postal"})
MAX_OPTIONS = 50
MAX_STOCK = 10**9
MAX_USES = 10_000
MAX_PICTURE_ADDRESS = 2000


@dataclass(frozen=True)
class OptionInput:
    number: int | None = None  # an existing option to keep (on an update)
    type: str | None = None
    description: str = ""
    sell_price: int | None = None
    real_value: int | None = None
    quantity: int | None = None
    currency: str | None = None


@dataclass(frozen=True)
class DeliveryOptionInput:
    title: str
    description: str = ""
    amount: int = 0
    currency: str | None = None


@dataclass(frozen=True)
class DeliveryInput:
    type: str
    title: str
    options: list[DeliveryOptionInput] = field(default_factory=list)
    number: int | None = None


# What a product without delivery methods gets, as the seed's example shows it.
DEFAULT_DELIVERY = DeliveryInput(
    type="electronic",
    title="Electronic",
    options=[DeliveryOptionInput(title="Electronic", description="Deliver instantly via e-mail")],
)


@dataclass(frozen=True)
class ExpiryInput:
    type: str
    interval: str | None = None
    period: int | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None


@dataclass(frozen=True)
class ProductInput:
    sales_page: int | str | None
    type: str
    title: str
    description: str = ""
    terms: str = ""
    currency: str | None = None
    tax_rate: int = 0
    access_level: str = AccessLevel.PUBLISHED
    hide_price_disabled: bool = False
    quantity_is_limited: bool = False
    stock: int | None = None
    min_amount: int | None = None
    max_amount: int | None = None
    options: list[OptionInput] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    delivery: list[DeliveryInput] = field(default_factory=list)
    expiry: ExpiryInput | None = None
    image: str | None = None
    images: list[str] = field(default_factory=list)
    redeemable_on: list[int] | None = None


@dataclass(frozen=True)
class ProductView:
    """A product with everything shown beside it."""

    product: GiftProduct
    sales_page: SalesPage
    options: list[GiftOption]
    categories: list[GiftCategory]
    delivery: list[GiftDeliveryMethod]

    @property
    def price(self) -> int:
        """The lowest price a buyer can pay: the cheapest option, or a monetary product's minimum."""
        if self.product.type == ProductType.MONETARY:
            return self.product.min_amount or 0
        return min((option.sell_price for option in self.options), default=0)


async def sales_page(session: AsyncSession, principal: Principal, page: int | str | None) -> SalesPage:
    return await find_page(session, principal.client_id, page)


def _choice(value: str, allowed: type[StrEnum] | frozenset[str], name: str) -> str:
    options = sorted(str(item) for item in allowed)
    if value not in options:
        raise InvalidInput(f"{name} must be one of {', '.join(options)}.", field=name)
    return value


def _money(value: int | None, name: str, *, positive: bool = False) -> int | None:
    if value is None:
        return None
    if value < (1 if positive else 0) or value > MAX_MINOR:
        low = "more than 0" if positive else "0 or more"
        raise InvalidInput(f"{name} must be {low} and at most {MAX_MINOR} (minor units).", field=name)
    return value


def _text(value: str, name: str, limit: int, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{name} is required.", field=name)
    if len(value) > limit:
        raise InvalidInput(f"{name} must be at most {limit} characters.", field=name)
    return value


def _picture(address: str | None, field: str) -> None:
    """A picture is shown by its address on the shop: a web address of its own (https or http),
    never a script or data address."""
    if address is None:
        return
    parts = urlsplit(address)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(address) > MAX_PICTURE_ADDRESS:
        raise InvalidInput(
            f"{field} must be a picture's web address starting with https:// "
            f"(at most {MAX_PICTURE_ADDRESS} characters).",
            field=field,
        )


def _checked(data: ProductInput, principal: Principal) -> tuple[ProductType, str]:
    kind = ProductType(_choice(data.type, ProductType, "type"))
    currency = (data.currency or principal.currency).upper()
    if not is_currency(currency):
        raise InvalidInput("currency must be a three-letter ISO 4217 code such as GBP.", field="currency")
    _text(data.title, "title", 200, required=True)
    _choice(data.access_level, AccessLevel, "accessLevel")
    if not 0 <= data.tax_rate <= BASIS_POINTS:
        raise InvalidInput("taxRate is in basis points: 0 to 10000 (2000 is 20%).", field="taxRate")
    if data.quantity_is_limited and data.stock is None:
        raise InvalidInput("stock is required when quantityIsLimited is true.", field="stock")
    if data.stock is not None and not 0 <= data.stock <= MAX_STOCK:
        raise InvalidInput(f"stock must be between 0 and {MAX_STOCK}.", field="stock")
    low = _money(data.min_amount, "minAmount", positive=True)
    high = _money(data.max_amount, "maxAmount", positive=True)
    if low is not None and high is not None and low > high:
        raise InvalidInput("minAmount must not be more than maxAmount.", field="minAmount")
    for where, address in [("image", data.image), *((f"images[{n}]", a) for n, a in enumerate(data.images))]:
        _picture(address, where)
    if kind is not ProductType.MONETARY and not data.options:
        raise InvalidInput(f"options: a {kind} gift voucher needs at least one option.", field="options")
    if len(data.options) > MAX_OPTIONS:
        raise InvalidInput(f"options: a gift voucher has at most {MAX_OPTIONS} options.", field="options")
    for index, option in enumerate(data.options):
        where = f"options[{index}]"
        if option.currency is not None and option.currency.upper() != currency:
            raise InvalidInput(f"{where}.currency must be the voucher's currency, {currency}.", field=where)
        if kind is not ProductType.MONETARY and option.sell_price is None:
            raise InvalidInput(f"{where}.sellPrice is required.", field=f"{where}.sellPrice")
        _money(option.sell_price, f"{where}.sellPrice")
        if kind is ProductType.PREDEFINED and option.real_value is None:
            raise InvalidInput(
                f"{where}.realValue is required: the value a predefined voucher holds.",
                field=f"{where}.realValue",
            )
        _money(option.real_value, f"{where}.realValue", positive=True)
        uses = option.quantity
        if uses is not None and not 1 <= uses <= MAX_USES:
            raise InvalidInput(
                f"{where}.quantity must be between 1 and {MAX_USES}.", field=f"{where}.quantity"
            )
        if kind is ProductType.TICKET and uses not in (None, 1):
            raise InvalidInput(f"{where}.quantity: a ticket is used once.", field=f"{where}.quantity")
        _text(option.description, f"{where}.description", 500)
    for index, method in enumerate(data.delivery):
        where = f"delivery[{index}]"
        _choice(method.type, DELIVERY_TYPES, f"{where}.type")
        for number, carrier in enumerate(method.options):
            _money(carrier.amount, f"{where}.options[{number}].amount")
            if carrier.currency is not None and carrier.currency.upper() != currency:
                raise InvalidInput(f"{where}.options[{number}].currency must be {currency}.", field=where)
    if data.expiry is not None:
        _check_expiry(data.expiry)
    return kind, currency


def _check_expiry(expiry: ExpiryInput) -> None:
    _choice(expiry.type, frozenset({"period", "time"}), "expiry.type")
    if expiry.type == "period":
        _choice(expiry.interval or "months", frozenset({"days", "months"}), "expiry.interval")
        if expiry.period is None or not 1 <= expiry.period <= 1200:
            raise InvalidInput("expiry.period must be between 1 and 1200.", field="expiry.period")
    else:
        if expiry.date_to is None:
            raise InvalidInput("expiry.dateTo is required for an expiry of type time.", field="expiry.dateTo")
        if expiry.date_from is not None and expiry.date_from >= expiry.date_to:
            raise InvalidInput("expiry.dateFrom must be before expiry.dateTo.", field="expiry.dateFrom")


async def _redeemable_on(
    session: AsyncSession, principal: Principal, numbers: list[int] | None, own: int
) -> list[int]:
    if not numbers:
        return [own]
    found = set(
        (
            await session.execute(
                select(SalesPage.number).where(
                    SalesPage.client_id == principal.client_id, SalesPage.number.in_(numbers)
                )
            )
        ).scalars()
    )
    missing = sorted(set(numbers) - found)
    if missing:
        raise InvalidInput(f"redeemableOn names no sales page of yours: {missing[0]}.", field="redeemableOn")
    return sorted(found)


def _apply(product: GiftProduct, data: ProductInput, kind: ProductType, currency: str) -> None:
    expiry = data.expiry
    product.type = kind
    product.title = data.title.strip()
    product.description = data.description
    product.terms = data.terms
    product.currency = currency
    product.tax_rate = data.tax_rate
    product.access_level = data.access_level
    product.hide_price_disabled = data.hide_price_disabled
    product.quantity_is_limited = data.quantity_is_limited
    product.stock = data.stock if data.quantity_is_limited else None
    product.min_amount = data.min_amount
    product.max_amount = data.max_amount
    product.expiry_type = None if expiry is None else expiry.type
    product.expiry_interval = (
        None if expiry is None or expiry.type != "period" else (expiry.interval or "months")
    )
    product.expiry_period = None if expiry is None or expiry.type != "period" else expiry.period
    product.expiry_from = None if expiry is None or expiry.type != "time" else expiry.date_from
    product.expiry_to = None if expiry is None or expiry.type != "time" else expiry.date_to
    product.image = data.image
    product.images = list(data.images)
    product.updated_at = clock.now()


async def create_product(session: AsyncSession, principal: Principal, data: ProductInput) -> ProductView:
    require(principal, Permission.MANAGE)
    kind, currency = _checked(data, principal)
    page = await sales_page(session, principal, data.sales_page)
    product = GiftProduct(
        number=await next_number(session),
        client_id=principal.client_id,
        sales_page_id=page.id,
        sold=0,
        redeemable_on=await _redeemable_on(session, principal, data.redeemable_on, page.number),
    )
    _apply(product, data, kind, currency)
    session.add(product)
    await session.flush()
    await _replace_parts(session, principal, product, data, kind, currency)
    return await view(session, principal, product.number)


async def update_product(
    session: AsyncSession, principal: Principal, number: int, data: ProductInput
) -> ProductView:
    """Replace a product with ``data`` (PUT). Options named by their ``optionId`` are kept and
    changed, new ones added; an option left out is removed, unless it was sold (409)."""
    require(principal, Permission.MANAGE)
    product = await _product(session, principal, number, for_update=True)
    kind, currency = _checked(data, principal)
    page = await sales_page(session, principal, data.sales_page) if data.sales_page is not None else None
    if page is not None:
        product.sales_page_id = page.id
    own = (
        page.number if page is not None else (await session.get_one(SalesPage, product.sales_page_id)).number
    )
    product.redeemable_on = await _redeemable_on(session, principal, data.redeemable_on, own)
    _apply(product, data, kind, currency)
    await _replace_parts(session, principal, product, data, kind, currency)
    return await view(session, principal, product.number)


async def delete_product(session: AsyncSession, principal: Principal, number: int) -> bool:
    """Delete a product never sold; a sold one is unpublished instead (its orders and codes keep
    what they were sold as). ``True`` when it was deleted."""
    require(principal, Permission.MANAGE)
    product = await _product(session, principal, number, for_update=True)
    if await _sold(session, product.id):
        product.access_level = AccessLevel.UNPUBLISHED
        product.updated_at = clock.now()
        return False
    product.deleted_at = clock.now()
    return True


async def _sold(session: AsyncSession, product_id: uuid.UUID, option_id: uuid.UUID | None = None) -> bool:
    query = select(GiftOrder.id).where(GiftOrder.product_id == product_id).limit(1)
    if option_id is not None:
        query = query.where(GiftOrder.option_id == option_id)
    return (await session.scalar(query)) is not None


async def _replace_parts(
    session: AsyncSession,
    principal: Principal,
    product: GiftProduct,
    data: ProductInput,
    kind: ProductType,
    currency: str,
) -> None:
    existing = {
        option.number: option
        for option in (
            await session.execute(select(GiftOption).where(GiftOption.product_id == product.id))
        ).scalars()
    }
    kept: set[int] = set()
    for position, item in enumerate(data.options):
        option = existing.get(item.number) if item.number is not None else None
        if item.number is not None and option is None:
            raise InvalidInput(
                f"options[{position}].optionId {item.number} is not an option of this voucher.",
                field=f"options[{position}].optionId",
            )
        if option is None:
            option = GiftOption(number=await next_number(session), product_id=product.id)
            session.add(option)
        else:
            kept.add(option.number)
        option.position = position
        option.type = item.type or kind
        option.description = item.description.strip()
        option.sell_price = item.sell_price if item.sell_price is not None else 0
        # A predefined option's stored value; on other options the value printed on the voucher.
        option.real_value = item.real_value if kind is not ProductType.MONETARY else None
        option.quantity = item.quantity if kind is ProductType.FIXED else None
        option.currency = currency
    for number, option in existing.items():
        if number in kept:
            continue
        if await _sold(session, product.id, option.id):
            raise OptionSold(
                f"Option {number} has been sold and cannot be removed; unpublish the voucher instead."
            )
        await session.delete(option)

    await session.execute(delete(GiftProductCategory).where(GiftProductCategory.product_id == product.id))
    for name in dict.fromkeys(_text(name, "categories", 100, required=True) for name in data.categories):
        category = await _category(session, principal, name)
        session.add(GiftProductCategory(product_id=product.id, category_id=category.id))

    own_methods = set(
        (
            await session.execute(
                select(GiftDeliveryMethod.number).where(GiftDeliveryMethod.product_id == product.id)
            )
        ).scalars()
    )
    await session.execute(delete(GiftDeliveryMethod).where(GiftDeliveryMethod.product_id == product.id))
    methods = data.delivery or [DEFAULT_DELIVERY]
    for position, method in enumerate(methods):
        if method.number is not None and method.number not in own_methods:
            raise InvalidInput(
                f"delivery[{position}].methodId {method.number} is not a delivery method of this voucher.",
                field=f"delivery[{position}].methodId",
            )
        session.add(
            GiftDeliveryMethod(
                number=method.number or await next_number(session),
                product_id=product.id,
                position=position,
                type=method.type,
                title=_text(method.title, f"delivery[{position}].title", 200) or method.type.title(),
                options=[
                    {
                        "title": carrier.title,
                        "description": carrier.description,
                        "amount": carrier.amount,
                        "currency": currency,
                    }
                    for carrier in method.options
                ],
            )
        )
    await session.flush()


async def _category(session: AsyncSession, principal: Principal, name: str) -> GiftCategory:
    found = await session.scalar(
        select(GiftCategory).where(GiftCategory.client_id == principal.client_id, GiftCategory.name == name)
    )
    if found is None:
        found = GiftCategory(number=await next_number(session), client_id=principal.client_id, name=name)
        session.add(found)
        await session.flush()
    return found


async def _product(
    session: AsyncSession, principal: Principal, number: int, *, for_update: bool = False
) -> GiftProduct:
    query = select(GiftProduct).where(
        GiftProduct.client_id == principal.client_id,
        GiftProduct.number == number,
        GiftProduct.deleted_at.is_(None),
    )
    if for_update:
        query = query.with_for_update()
    product = await session.scalar(query)
    if product is None:
        raise ProductNotFound()
    return product


async def view(session: AsyncSession, principal: Principal, number: int) -> ProductView:
    product = await _product(session, principal, number)
    return (await _views(session, [product]))[0]


async def _views(session: AsyncSession, products: list[GiftProduct]) -> list[ProductView]:
    ids = [product.id for product in products]
    if not ids:
        return []
    options: dict[uuid.UUID, list[GiftOption]] = {id_: [] for id_ in ids}
    for option in (
        await session.execute(
            select(GiftOption).where(GiftOption.product_id.in_(ids)).order_by(GiftOption.position)
        )
    ).scalars():
        options[option.product_id].append(option)
    categories: dict[uuid.UUID, list[GiftCategory]] = {id_: [] for id_ in ids}
    for product_id, category in await session.execute(
        select(GiftProductCategory.product_id, GiftCategory)
        .join(GiftCategory, GiftCategory.id == GiftProductCategory.category_id)
        .where(GiftProductCategory.product_id.in_(ids))
        .order_by(GiftCategory.name)
    ):
        categories[product_id].append(category)
    delivery: dict[uuid.UUID, list[GiftDeliveryMethod]] = {id_: [] for id_ in ids}
    for method in (
        await session.execute(
            select(GiftDeliveryMethod)
            .where(GiftDeliveryMethod.product_id.in_(ids))
            .order_by(GiftDeliveryMethod.position)
        )
    ).scalars():
        delivery[method.product_id].append(method)
    page_ids = {product.sales_page_id for product in products}
    pages = {
        page.id: page
        for page in (await session.execute(select(SalesPage).where(SalesPage.id.in_(page_ids)))).scalars()
    }
    return [
        ProductView(
            product,
            pages[product.sales_page_id],
            options[product.id],
            categories[product.id],
            delivery[product.id],
        )
        for product in products
    ]


async def list_products(
    session: AsyncSession,
    principal: Principal,
    *,
    page: int | str | None,
    access_level: str | None = AccessLevel.PUBLISHED,
    limit: int = 15,
    offset: int = 0,
) -> list[ProductView]:
    """The products of a sales page (all the client's without one), oldest first; published ones
    unless ``access_level`` says otherwise (``None``: every level)."""
    query = select(GiftProduct).where(
        GiftProduct.client_id == principal.client_id, GiftProduct.deleted_at.is_(None)
    )
    if page is not None:
        query = query.where(GiftProduct.sales_page_id == (await sales_page(session, principal, page)).id)
    if access_level is not None:
        query = query.where(GiftProduct.access_level == _choice(access_level, AccessLevel, "accessLevel"))
    products = list(
        (await session.execute(query.order_by(GiftProduct.number).limit(limit).offset(offset))).scalars()
    )
    return await _views(session, products)


async def listed(session: AsyncSession, page: SalesPage) -> list[ProductView]:
    """What the sales page's shop lists: its published products, oldest first (secret ones are
    sold by direct link only, unpublished ones not at all)."""
    products = (
        await session.execute(
            select(GiftProduct)
            .where(
                GiftProduct.sales_page_id == page.id,
                GiftProduct.access_level == AccessLevel.PUBLISHED,
                GiftProduct.deleted_at.is_(None),
            )
            .order_by(GiftProduct.number)
        )
    ).scalars()
    return await _views(session, list(products))


async def on_sale(session: AsyncSession, page: SalesPage, number: int) -> ProductView | None:
    """A product the sales page's shop sells by its link: published or secret; ``None`` for an
    unpublished, deleted or another page's product."""
    product = await session.scalar(
        select(GiftProduct).where(
            GiftProduct.sales_page_id == page.id,
            GiftProduct.number == number,
            GiftProduct.access_level != AccessLevel.UNPUBLISHED,
            GiftProduct.deleted_at.is_(None),
        )
    )
    return None if product is None else (await _views(session, [product]))[0]


async def set_access_level(
    session: AsyncSession, principal: Principal, number: int, access_level: str
) -> ProductView:
    """Publish a product (listed and sold), make it secret (sold by its direct link only) or
    unpublish it (not sold; its codes sold before keep working)."""
    require(principal, Permission.MANAGE)
    level = _choice(access_level, AccessLevel, "accessLevel")
    product = await _product(session, principal, number, for_update=True)
    product.access_level = level
    product.updated_at = clock.now()
    await session.flush()
    return await view(session, principal, number)


async def catalog_page(
    session: AsyncSession, principal: Principal, request: PageRequest, *, search: str | None = None
) -> Page[ProductView]:
    """Every product of the client at every access level, newest first; ``search`` keeps those
    whose title holds it."""
    require(principal, Permission.MANAGE)
    where = [GiftProduct.client_id == principal.client_id, GiftProduct.deleted_at.is_(None)]
    if search and search.strip():
        where.append(func.lower(GiftProduct.title).contains(search.strip().lower(), autoescape=True))
    total = await session.scalar(select(func.count()).select_from(GiftProduct).where(*where))
    products = (
        await session.execute(
            select(GiftProduct)
            .where(*where)
            .order_by(GiftProduct.number.desc())
            .limit(request.limit)
            .offset(request.offset)
        )
    ).scalars()
    return Page(items=await _views(session, list(products)), total=total or 0, request=request)
