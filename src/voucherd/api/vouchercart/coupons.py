"""Coupons and discount codes, exactly as seed 003 documents them (its "Coupons" and "Discounts")."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request

from voucherd.api.vouchercart import mappers
from voucherd.api.vouchercart.auth import PrincipalDep, authenticated
from voucherd.api.vouchercart.body import fields
from voucherd.api.vouchercart.schemas import (
    CouponFields,
    CouponListFields,
    DiscountCodeFields,
    ExpiryFields,
    PurchaseFields,
    read,
)
from voucherd.core.errors import InvalidInput
from voucherd.coupons import service as coupons
from voucherd.coupons.errors import CouponNotFound
from voucherd.coupons.schemas import CouponInput, ExpiryInput, PaymentInput, PurchaseInput, RecipientInput
from voucherd.http.idempotency import IdempotentRoute, idempotent
from voucherd.http.responses import JSON
from voucherd.http.session import SessionDep

# The writes take ``Idempotency-Key``: a retried purchase or redemption answers as the first did.
router = APIRouter(tags=["Coupons"], route_class=IdempotentRoute)
_IDEMPOTENT = [idempotent(authenticated)]
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
Responses = dict[int | str, dict[str, Any]]
_NOT_FOUND: Responses = {404: {"description": "Not a coupon of yours"}}
_NO_CODE: Responses = {404: {"description": "Not a discount code of yours"}}
_INVALID: Responses = {422: {"description": "A field is missing or wrong; `error` names it"}}


def _moment(value: str | None, field: str) -> date | datetime | None:
    """``2016-12-02T07:57:29+0000`` (as the seed prints), ISO 8601, ``2016-12-02 07:57`` (the
    client's timezone) or a date alone."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return date.fromisoformat(value) if _DATE.fullmatch(value) else datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{field} must be a date-time such as 2016-12-02T07:57:29+0000 or 2016-12-02 07:57.", field=field
        ) from None


def _expiry(data: ExpiryFields | None) -> ExpiryInput | None:
    if data is None:
        return None
    return ExpiryInput(
        type=data.type,
        interval=data.interval,
        period=data.period,
        date_from=_moment(data.date_from, "expiry.dateFrom"),
        date_to=_moment(data.date_to, "expiry.dateTo"),
    )


def _number(coupon_id: str) -> int:
    if not coupon_id.isascii() or not coupon_id.isdigit() or len(coupon_id) > 18:
        raise CouponNotFound()
    return int(coupon_id)


@router.get("/coupons", summary="List coupons", responses=_NOT_FOUND)
async def list_coupons(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    """The client's coupons; of one sales page with ``domainId`` (or ``domain``). ``limit`` (1 to
    100, default 100) and ``offset`` page through them."""
    data = read(CouponListFields, dict(request.query_params))
    found = await coupons.list_coupons(
        session, principal, domain=data.domain_id, limit=data.limit, offset=data.offset
    )
    return JSON([mappers.coupon(view) for view in found])


@router.post(
    "/coupons",
    status_code=201,
    dependencies=_IDEMPOTENT,
    summary="Create a coupon",
    responses={404: {"description": "domainId is not a sales page of yours"}, **_INVALID},
)
async def create_coupon(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    data = read(CouponFields, await fields(request))
    view = await coupons.create_coupon(
        session,
        principal,
        CouponInput(
            domain=data.domain_id,
            title=data.title,
            type=data.type,
            amount=data.amount,
            terms=data.terms,
            description=data.description,
            metadata=data.metadata,
            expiry=_expiry(data.expiry),
        ),
    )
    return JSON(mappers.coupon(view), status_code=201)


@router.get("/coupon/{couponId}", summary="Show coupon", responses=_NOT_FOUND)
async def show_coupon(couponId: str, session: SessionDep, principal: PrincipalDep) -> JSON:
    return JSON(mappers.coupon(await coupons.get_coupon(session, principal, _number(couponId))))


@router.post(
    "/coupon/{couponId}/purchase",
    status_code=201,
    dependencies=_IDEMPOTENT,
    summary="Purchase coupon: creates a discount",
    responses={**_NOT_FOUND, 409: {"description": "The coupon's redeemable window is over"}, **_INVALID},
)
async def purchase(
    couponId: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
) -> JSON:
    """One new discount code for the recipients (each is mailed it); payments are recorded as given."""
    number = _number(couponId)
    data = read(PurchaseFields, await fields(request))
    view = await coupons.purchase(
        session,
        principal,
        number,
        PurchaseInput(
            domain=data.domain_id,
            payments=[
                PaymentInput(amount=p.amount, currency=p.currency, title=p.title, metadata=p.metadata)
                for p in data.payments
            ],
            recipients=[RecipientInput(email=r.email, label=r.label) for r in data.recipients],
        ),
    )
    return JSON(mappers.discount(view, principal.timezone), status_code=201)


@router.get(
    "/discount/status", summary="Status of discount code", responses={404: {"description": "No such code"}}
)
async def discount_status(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    data = read(DiscountCodeFields, dict(request.query_params))
    view = await coupons.discount_status(session, principal, data.discount_code)
    return JSON(mappers.discount(view, principal.timezone))


@router.post(
    "/discount/redeem",
    dependencies=_IDEMPOTENT,
    summary="Redeem discount",
    responses={
        **_NO_CODE,
        409: {"description": "Redeemed already, expired or not yet valid"},
        **_INVALID,
    },
)
async def redeem_discount(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    data = read(DiscountCodeFields, {**dict(request.query_params), **await fields(request)})
    view = await coupons.redeem_discount(session, principal, data.discount_code)
    return JSON(mappers.discount(view, principal.timezone))
