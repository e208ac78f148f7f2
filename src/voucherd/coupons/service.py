"""Coupons and discount codes (seed 003) as our core's campaigns and vouchers.

A coupon is a campaign (title: its name, terms, offer, and for an expiry of type ``time`` its
validity window), with a ``coupons`` row for what only a coupon has. A purchase issues one code of
that campaign (``discounts`` row: recipients and payments), single-use; an expiry of type
``period`` gives the code its own ``valid_until``. Redeeming a discount is the checkout's own
redemption (:func:`voucherd.redemptions.service.redeem`), so the code works and shows the same in
every dialect."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.numbers import next_number
from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.sales_pages import find_page
from voucherd.accounts.service import Principal
from voucherd.campaigns import service as campaigns
from voucherd.campaigns.rules import end_of_day, start_of_day
from voucherd.campaigns.schemas import CampaignChanges, CampaignInput, CodeSettings
from voucherd.core import clock, links
from voucherd.core import metadata as metadata_rules
from voucherd.core.codes import normalize
from voucherd.core.emails import ContactError, normalize_email
from voucherd.core.errors import InvalidInput
from voucherd.core.money import MAX_MINOR, Amount, is_currency
from voucherd.coupons import rules, shapes
from voucherd.coupons.errors import CouponEnded, CouponNotFound, DiscountNotFound
from voucherd.coupons.rules import DISCOUNT_CHARSET, DISCOUNT_PATTERN, ExpiryType
from voucherd.coupons.schemas import (
    CouponInput,
    ExpiryInput,
    Moment,
    PaymentInput,
    PurchaseInput,
    RecipientInput,
)
from voucherd.coupons.shapes import CouponView, DiscountView
from voucherd.events import service as events
from voucherd.mail.messages import VoucherMail
from voucherd.mail.service import enqueue_voucher_mail
from voucherd.models import Campaign, Coupon, Discount, Redemption, SalesPage, Voucher
from voucherd.redemptions import repository as redemption_store
from voucherd.redemptions import service as redemptions
from voucherd.redemptions.schemas import Channel, RedeemInput
from voucherd.vouchers import service as vouchers

MAX_LIST = 100
MAX_RECIPIENTS = 100
MAX_PAYMENTS = 20
LABEL_LENGTH = 200


# Coupons


async def create_coupon(session: AsyncSession, principal: Principal, data: CouponInput) -> CouponView:
    """A coupon on one of the client's sales pages: its campaign, then its own row."""
    require(principal, Permission.MANAGE)
    page = await find_page(session, principal.client_id, data.domain)
    coupon_type = rules.type_of(data.type)
    amount = rules.check_amount(coupon_type, data.amount)
    title = rules.check_title(data.title)
    description = _description(data.description)
    details = _metadata(data.metadata, "metadata")
    expiry_type, interval, period, valid_from, valid_until = _expiry(data.expiry, principal.timezone)
    campaign = await campaigns.create_campaign(
        session,
        principal,
        CampaignInput(
            name=title,
            discount_type=rules.DISCOUNT_TYPES[coupon_type],
            discount_value=Amount.minor(amount),
            currency=principal.currency,
            valid_from=valid_from,
            valid_until=valid_until,
            uses_per_voucher=1,
            codes=CodeSettings(pattern=DISCOUNT_PATTERN, charset=DISCOUNT_CHARSET),
            terms=data.terms,
        ),
    )
    coupon = Coupon(
        number=await next_number(session),
        client_id=principal.client_id,
        campaign_id=campaign.id,
        sales_page_id=page.id,
        description=description,
        details=details,
        expiry_type=expiry_type,
        expiry_interval=interval,
        expiry_period=period,
    )
    session.add(coupon)
    await session.flush()
    return CouponView(coupon, campaign, page.number)


async def list_coupons(
    session: AsyncSession, principal: Principal, *, domain: int | None, limit: int = MAX_LIST, offset: int = 0
) -> list[CouponView]:
    """The client's coupons, oldest first; of one sales page when ``domain`` is given."""
    require(principal, Permission.REDEEM)
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIST}.", field="limit")
    if offset < 0:
        raise InvalidInput("offset must be 0 or more.", field="offset")
    query = _coupons(principal)
    if domain is not None:
        page = await find_page(session, principal.client_id, domain)
        query = query.where(Coupon.sales_page_id == page.id)
    rows = await session.execute(query.order_by(Coupon.number).limit(limit).offset(offset))
    return [CouponView(coupon, campaign, number) for coupon, campaign, number in rows]


async def get_coupon(session: AsyncSession, principal: Principal, coupon_number: int) -> CouponView:
    """The client's coupon by its ``couponId``; another client's is not found."""
    require(principal, Permission.REDEEM)
    return await _coupon(session, principal, Coupon.number == coupon_number)


async def update_coupon(
    session: AsyncSession, principal: Principal, coupon_number: int, data: CouponInput
) -> CouponView:
    """Replace a coupon's title, offer, terms, description, expiry and sales page. Its codes are
    the codes of its campaign: those bought before get the new offer and a new ``time`` window;
    a ``period`` counts from each purchase, so codes bought before keep the end they were given."""
    require(principal, Permission.MANAGE)
    view = await _coupon(session, principal, Coupon.number == coupon_number)
    page = await find_page(session, principal.client_id, data.domain)
    coupon_type = rules.type_of(data.type)
    amount = rules.check_amount(coupon_type, data.amount)
    title = rules.check_title(data.title)
    description = _description(data.description)
    details = _metadata(data.metadata, "metadata") if data.metadata is not None else view.coupon.details
    expiry_type, interval, period, valid_from, valid_until = _expiry(data.expiry, principal.timezone)
    campaign = await campaigns.update_campaign(
        session,
        principal,
        view.campaign.id,
        CampaignChanges(
            {
                "name": title,
                "discount_type": rules.DISCOUNT_TYPES[coupon_type],
                "discount_value": Amount.minor(amount),
                "valid_from": valid_from,
                "valid_until": valid_until,
                "terms": data.terms,
            }
        ),
    )
    coupon = view.coupon
    coupon.sales_page_id = page.id
    coupon.description = description
    coupon.details = details
    coupon.expiry_type = expiry_type
    coupon.expiry_interval = interval
    coupon.expiry_period = period
    await session.flush()
    return CouponView(coupon, campaign, page.number)


async def delete_coupon(session: AsyncSession, principal: Principal, coupon_number: int) -> None:
    """Delete a coupon: its campaign is deleted (soft), so its codes stop working at the checkout
    and it is sold no more; what was bought and redeemed stays in the history."""
    require(principal, Permission.MANAGE)
    view = await _coupon(session, principal, Coupon.number == coupon_number)
    await campaigns.delete_campaign(session, principal, view.campaign.id)


def _description(value: str | None) -> str:
    description = (value or "").strip()
    if len(description) > rules.DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"description may be at most {rules.DESCRIPTION_LENGTH:,} characters.", field="description"
        )
    return description


# Discounts


async def purchase(
    session: AsyncSession, principal: Principal, coupon_number: int, data: PurchaseInput
) -> DiscountView:
    """Sell the coupon once: one new single-use code for the recipients, each mailed it; the
    payments are recorded as given (a coupon has no price to check them against)."""
    require(principal, Permission.MANAGE)
    view = await _coupon(session, principal, Coupon.number == coupon_number)
    if data.domain is not None and data.domain != view.domain:
        raise InvalidInput(
            f"domainId: coupon {coupon_number} is sold on sales page {view.domain}, not {data.domain}.",
            field="domainId",
        )
    recipients = _recipients(data.recipients)
    payments = _payments(data.payments)
    campaign, coupon = view.campaign, view.coupon
    now = clock.now()
    if campaign.valid_until is not None and now > campaign.valid_until:
        raise CouponEnded(
            f"Coupon {coupon_number} could be redeemed until {shapes.moment(campaign.valid_until)}."
        )
    await vouchers.check_capacity(session, campaign, adding=1)
    [(voucher_id, code)] = await vouchers.issue_personal_codes(session, campaign, count=1)
    valid_until = campaign.valid_until
    if coupon.expiry_type == ExpiryType.PERIOD:
        assert coupon.expiry_interval is not None
        assert coupon.expiry_period is not None
        valid_until = rules.period_end(
            now, rules.Interval(coupon.expiry_interval), coupon.expiry_period, principal.timezone
        )
        await session.execute(update(Voucher).where(Voucher.id == voucher_id).values(valid_until=valid_until))
    discount = Discount(
        client_id=principal.client_id,
        coupon_id=coupon.id,
        voucher_id=voucher_id,
        recipients=recipients,
        payments=payments,
        created_at=now,
    )
    session.add(discount)
    await session.flush()
    # The code's first event (it was inserted with its number taken), then the purchase.
    await events.record(
        session,
        principal.client_id,
        events.VOUCHER_CREATED,
        vouchers.created_event(
            campaign, voucher_id, code, coupon_id=str(coupon.id), discount_id=str(discount.id)
        ),
    )
    result = DiscountView(discount.id, voucher_id, code, False, None, view, recipients, valid_until)
    await events.record(
        session,
        principal.client_id,
        events.DISCOUNT_PURCHASED,
        {**_event_data(result, principal.timezone), "payments": payments},
        voucher_id=voucher_id,
    )
    await _mail_recipients(session, principal, result)
    return result


async def discount_status(session: AsyncSession, principal: Principal, code: str) -> DiscountView:
    """The discount of this code; another client's code, or a code that is no discount, is not found."""
    require(principal, Permission.REDEEM)
    return await _discount(session, principal, code)


async def redeem_discount(session: AsyncSession, principal: Principal, code: str) -> DiscountView:
    """Use the code once: the checkout's own redemption (the same guarded write, the same
    ``voucher.redeemed`` event), with no transaction amount (the seed sends none: 0 is recorded,
    and a discount of 0), then ``discount.redeemed``. A second redemption is a 409."""
    require(principal, Permission.REDEEM)
    found = await _discount(session, principal, code)
    store = await redemption_store.session_store(session)
    await redemptions.redeem(
        store, principal, RedeemInput(code=found.code, amount=Amount.minor(0), channel=Channel.IN_STORE)
    )
    result = await _discount(session, principal, found.code)
    await events.record(
        session,
        principal.client_id,
        events.DISCOUNT_REDEEMED,
        _event_data(result, principal.timezone),
        voucher_id=result.voucher_id,
    )
    return result


async def _mail_recipients(session: AsyncSession, principal: Principal, discount: DiscountView) -> None:
    """Mail each recipient their code (the label, or else the email, greets them), in the
    purchase's transaction: a purchase that rolls back mails nothing."""
    campaign, coupon = discount.coupon.campaign, discount.coupon.coupon
    url = links.redemption_url(discount.code)
    for recipient in discount.recipients:
        mail = VoucherMail(
            to_email=recipient["email"],
            to_name=recipient.get("label"),
            client_name=principal.client_name,
            title=campaign.name,
            code=discount.code,
            value=campaign.discount_description,
            what_for=coupon.description or None,
            valid_from=None,
            valid_until=discount.valid_until,
            timezone=principal.timezone,
            terms=campaign.terms or None,
            message=None,
            from_name=None,
            public_url=url,
            qr_payload=url,
        )
        await enqueue_voucher_mail(session, principal.client_id, mail, None)


# Reading


def _coupons(principal: Principal) -> Select[Coupon, Campaign, int]:
    return (
        select(Coupon, Campaign, SalesPage.number)
        .join(Campaign, Campaign.id == Coupon.campaign_id)
        .join(SalesPage, SalesPage.id == Coupon.sales_page_id)
        .where(Coupon.client_id == principal.client_id, Campaign.deleted_at.is_(None))
    )


async def _coupon(session: AsyncSession, principal: Principal, *where: Any) -> CouponView:
    row = (await session.execute(_coupons(principal).where(*where))).first()
    if row is None:
        raise CouponNotFound()
    return CouponView(*row)


async def _discount(session: AsyncSession, principal: Principal, code: str) -> DiscountView:
    code = normalize(code)
    row = (
        await session.execute(
            select(
                Discount.id,
                Discount.coupon_id,
                Discount.recipients,
                Voucher.id,
                Voucher.code,
                Voucher.redeemed_count,
                Voucher.valid_until,
            )
            .join(Voucher, Voucher.id == Discount.voucher_id)
            .where(Voucher.client_id == principal.client_id, Voucher.code == code)
        )
        if code
        else None
    )
    found = row.first() if row is not None else None
    if found is None:
        raise DiscountNotFound()
    discount_id, coupon_id, recipients, voucher_id, voucher_code, redeemed_count, own_end = found
    try:
        view = await _coupon(session, principal, Coupon.id == coupon_id)
    except CouponNotFound:  # its campaign was deleted: its codes are gone with it
        raise DiscountNotFound() from None
    redeemed_at = (
        await session.scalar(
            select(func.max(Redemption.redeemed_at)).where(
                Redemption.voucher_id == voucher_id, Redemption.rolled_back_at.is_(None)
            )
        )
        if redeemed_count
        else None
    )
    return DiscountView(
        id=discount_id,
        voucher_id=voucher_id,
        code=voucher_code,
        redeemed=redeemed_count > 0,
        redeemed_at=_aware(redeemed_at),
        coupon=view,
        recipients=list(recipients),
        valid_until=own_end if own_end is not None else view.campaign.valid_until,
    )


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else clock.to_utc(value)


def _event_data(discount: DiscountView, timezone: str) -> dict[str, Any]:
    return {
        **shapes.discount(discount, timezone),
        "discount_id": str(discount.id),
        "coupon_id": str(discount.coupon.coupon.id),
        "campaign_id": str(discount.coupon.campaign.id),
    }


# Checking input


def _expiry(
    expiry: ExpiryInput | None, timezone: str
) -> tuple[str | None, str | None, int | None, datetime | None, datetime | None]:
    """(type, interval, period, valid_from, valid_until) of the coupon's expiry."""
    if expiry is None:
        return None, None, None, None, None
    try:
        kind = ExpiryType(expiry.type.strip().lower())
    except ValueError:
        raise InvalidInput("expiry.type must be period or time.", field="expiry.type") from None
    if kind is ExpiryType.PERIOD:
        interval, period = rules.check_period(expiry.interval, expiry.period)
        return kind.value, interval.value, period, None, None
    if expiry.date_from is None and expiry.date_to is None:
        raise InvalidInput(
            "An expiry of type time needs expiry.dateFrom, expiry.dateTo or both.", field="expiry.dateTo"
        )
    valid_from = _moment(expiry.date_from, timezone, end=False)
    valid_until = _moment(expiry.date_to, timezone, end=True)
    if valid_from and valid_until and valid_until <= valid_from:
        raise InvalidInput("expiry.dateTo must be after expiry.dateFrom.", field="expiry.dateTo")
    return kind.value, None, None, valid_from, valid_until


def _moment(value: Moment | None, timezone: str, *, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(timezone))
    assert isinstance(value, date)
    return end_of_day(value, timezone) if end else start_of_day(value, timezone)


def _metadata(value: dict[str, Any] | None, field: str) -> dict[str, Any]:
    return metadata_rules.checked(value, field=field) or {}


def _recipients(items: list[RecipientInput]) -> list[dict[str, Any]]:
    if len(items) > MAX_RECIPIENTS:
        raise InvalidInput(f"recipients may list at most {MAX_RECIPIENTS}.", field="recipients")
    result = []
    for index, item in enumerate(items):
        try:
            email = normalize_email(item.email)
        except ContactError as error:
            raise InvalidInput(
                f"recipients[{index}].email {error}.", field=f"recipients[{index}].email"
            ) from None
        label = item.label.strip() if item.label else None
        if label and len(label) > LABEL_LENGTH:
            raise InvalidInput(
                f"recipients[{index}].label may be at most {LABEL_LENGTH} characters.",
                field=f"recipients[{index}].label",
            )
        result.append({"email": email, "label": label or None})
    return result


def _payments(items: list[PaymentInput]) -> list[dict[str, Any]]:
    if len(items) > MAX_PAYMENTS:
        raise InvalidInput(f"payments may list at most {MAX_PAYMENTS}.", field="payments")
    result = []
    for index, item in enumerate(items):
        where = f"payments[{index}]"
        if not 0 <= item.amount <= MAX_MINOR:
            raise InvalidInput(
                f"{where}.amount must be 0 to {MAX_MINOR} minor units.", field=f"{where}.amount"
            )
        currency = item.currency.strip().upper()
        if not is_currency(currency):
            raise InvalidInput(
                f"{where}.currency must be an ISO 4217 code such as GBP.", field=f"{where}.currency"
            )
        title = (item.title or "").strip()
        if len(title) > LABEL_LENGTH:
            raise InvalidInput(
                f"{where}.title may be at most {LABEL_LENGTH} characters.", field=f"{where}.title"
            )
        result.append(
            {
                "amount": item.amount,
                "currency": currency,
                "title": title or None,
                "metadata": _metadata(item.metadata, f"{where}.metadata"),
            }
        )
    return result
