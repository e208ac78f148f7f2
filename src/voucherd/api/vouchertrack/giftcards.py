"""Gift card balances on our own API, what real checkouts need and no dialect documents: a card's
balance and ledger, holds (authorize, capture all or part, void), order refunds and regenerating
a lost code. Amounts are decimals of the currency for stored values (``12.50``), whole uses for
fixed vouchers."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from voucherd.accounts.permissions import Permission
from voucherd.api.vouchertrack import giftcard_mappers as mappers
from voucherd.api.vouchertrack.auth import AuthenticatedRoute, PrincipalDep, authenticated
from voucherd.api.vouchertrack.schemas import Body
from voucherd.giftcards import holds, lifecycle, payments
from voucherd.giftcards.holds import MAX_SECONDS
from voucherd.http.idempotency import idempotent
from voucherd.http.responses import JSON
from voucherd.http.routes import permission
from voucherd.http.session import SessionDep, writes

router = APIRouter(tags=["Gift cards"], route_class=AuthenticatedRoute)
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such gift card, hold or order of yours"},
    409: {"description": "Not possible in its state (used up, expired, refunded, a closed hold)"},
}


OrderNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="The order's number (`orderId`)")]
Code = Annotated[str, Path(min_length=1, max_length=100, description="The gift voucher code")]


class HoldCreate(Body):
    amount: Decimal = Field(gt=0, description="A decimal of the currency (12.50) or uses of a fixed voucher")
    expires_in: Annotated[int, Field(ge=1, le=MAX_SECONDS)] | None = Field(
        default=None, description="Seconds until the hold gives its amount back by itself (default 900)"
    )


class PaymentRequest(Body):
    method: str = Field(min_length=1, max_length=100, description="How the buyer paid: Cash, Bank transfer")
    reference: str = Field(default="", max_length=200, description="The till receipt or transfer reference")


class CaptureRequest(Body):
    amount: Decimal | None = Field(
        default=None, gt=0, description="What to keep (all of the hold when absent)"
    )


@router.get("/giftcards/{code}", summary="A gift card's balance, ledger and open holds", responses=_ERRORS)
@writes  # a read settles what time did first: expired holds and an expired card
@permission(Permission.REDEEM)
async def get_giftcard(code: Code, session: SessionDep, principal: PrincipalDep) -> JSON:
    return JSON(mappers.giftcard(await holds.details(session, principal, code)))


@router.post(
    "/giftcards/{code}/holds",
    status_code=201,
    summary="Hold an amount on a gift card",
    responses=_ERRORS,
    dependencies=[idempotent(authenticated)],
)
@permission(Permission.REDEEM)
async def place_hold(code: Code, body: HoldCreate, session: SessionDep, principal: PrincipalDep) -> JSON:
    """The amount leaves the balance at once, until it is captured, voided or expires (then it
    comes back by itself)."""
    card, held = await holds.place(session, principal, code, amount=body.amount, expires_in=body.expires_in)
    return JSON(mappers.hold(card, held), status_code=201)


@router.get("/giftcards/{code}/holds/{hold_id}", summary="A hold", responses=_ERRORS)
@writes
@permission(Permission.REDEEM)
async def get_hold(code: Code, hold_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> JSON:
    card, held = await holds.get(session, principal, code, hold_id)
    return JSON(mappers.hold(card, held))


@router.post(
    "/giftcards/{code}/holds/{hold_id}/capture", summary="Capture a hold, all or part", responses=_ERRORS
)
@permission(Permission.REDEEM)
async def capture_hold(
    code: Code,
    hold_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    body: CaptureRequest | None = None,
) -> JSON:
    """What is not captured comes back to the balance. Capturing again (the same amount, or none)
    answers the captured hold; a voided or expired hold is 409."""
    amount = None if body is None else body.amount
    card, held = await holds.capture(session, principal, code, hold_id, amount=amount)
    return JSON(mappers.hold(card, held))


@router.post("/giftcards/{code}/holds/{hold_id}/void", summary="Void a hold", responses=_ERRORS)
@permission(Permission.REDEEM)
async def void_hold(code: Code, hold_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> JSON:
    """All of it comes back. Voiding again answers the voided hold; a captured or expired one is 409."""
    card, held = await holds.void(session, principal, code, hold_id)
    return JSON(mappers.hold(card, held))


@router.post(
    "/giftcards/{code}/regenerate",
    status_code=201,
    summary="Replace a lost code with a new one",
    responses=_ERRORS,
)
async def regenerate(code: Code, session: SessionDep, principal: PrincipalDep) -> JSON:
    """The balance moves to a new code (answered here); the old one shows ``regenerated``."""
    old, new = await lifecycle.regenerate(session, principal, code)
    shown = mappers.giftcard(await holds.details_of(session, new))
    return JSON({**shown, "replaces": old.code}, status_code=201)


@router.post("/orders/{order_number}/refund", summary="Refund a gift voucher order", responses=_ERRORS)
async def refund_order(order_number: OrderNumber, session: SessionDep, principal: PrincipalDep) -> JSON:
    """Every code of the order becomes ``refunded`` and unusable; what was left on them is taken.
    Refunding again answers the same."""
    return JSON(mappers.refunded(await lifecycle.refund_order(session, principal, order_number)))


@router.post(
    "/orders/{order_number}/payment", summary="Record the payment of an order awaiting it", responses=_ERRORS
)
async def pay_order(
    order_number: OrderNumber, body: PaymentRequest, session: SessionDep, principal: PrincipalDep
) -> JSON:
    """For an order placed on the shop (``awaiting_payment``): its codes are issued and mailed and
    ``order.created`` is sent, as for an order placed through the API. Recording it again answers
    the paid order; a refunded order is 409."""
    placed = await payments.mark_paid(
        session,
        principal,
        order_number,
        payments.PaymentInput(method=body.method, reference=body.reference),
    )
    return JSON(mappers.paid(placed))
