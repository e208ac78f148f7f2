"""The e-commerce checkout API, exactly as VoucherTrack documents it (seed 001)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from voucherd.api import ratelimit
from voucherd.api.deps import Checkout, PrincipalDep, SessionDep, checkout
from voucherd.api.idempotency import REPLAYED, idempotent
from voucherd.api.responses import JSON
from voucherd.api.vouchertrack import mappers
from voucherd.api.vouchertrack.errors import status_for
from voucherd.api.vouchertrack.schemas import RedemptionRequest, RollbackRequest
from voucherd.core.codes import normalize
from voucherd.core.money import Amount
from voucherd.redemptions import service as redemptions
from voucherd.redemptions.schemas import Channel, RedeemInput

router = APIRouter(prefix="/api/webhook", tags=["Checkout"])


def _mark(request: Request, **extra: object) -> None:
    request.state.error_extra = extra


@router.get(
    "/validate/{code}",
    summary="Validate a voucher at checkout",
    responses={
        200: {"description": "Valid voucher"},
        401: {"description": "Missing or wrong API key"},
        404: {"description": '`{"valid": false, "code": ..., "error": "Voucher not found"}`'},
        409: {"description": "Expired, used up, or not active yet: `valid` is false and `error` says why"},
        429: {"description": 'Over the limit: `{"code": 429, "message": ...}` and `Retry-After`'},
    },
)
async def validate_voucher(request: Request, code: Annotated[str, Path(max_length=100)]) -> JSON:
    """Whether the code can be used now, with the discount to apply. Changes nothing."""
    # Every error of the validate call keeps its documented shape, a bad key's 401 included.
    _mark(request, valid=False, code=normalize(code))
    # Per IP before the key is checked, so that guessing keys is limited too.
    await ratelimit.check(request, "validation_per_ip", f"ip:{ratelimit.client_ip(request)}")
    async with checkout(request) as unit:
        await ratelimit.check(request, "validation_per_key", f"key:{unit.principal.api_key_id}")
        result = await redemptions.validate(unit.store, unit.principal, code)
    body = mappers.validation(result, unit.principal)
    status = 200 if result.error is None else status_for(result.error)
    return JSON(body, status_code=status)


@router.post(
    "/redemption",
    status_code=201,
    summary="Record a redemption after the order is placed",
    responses={
        201: {"description": "Redemption recorded (also for a retry of the same order_reference)"},
        401: {"description": "Missing or wrong API key"},
        404: {"description": "Voucher not found"},
        409: {
            "description": "Voucher used up, expired or not active; minimum spend not met; "
            "or order_reference reused for another amount"
        },
        422: {"description": "Invalid body"},
    },
)
async def record_redemption(request: Request, body: RedemptionRequest) -> Response:
    """Marks one use of the voucher and logs the transaction. Idempotent per order_reference."""
    _mark(request, success=False, voucher_code=normalize(body.code))
    async with checkout(request) as unit:
        return await idempotent(request, unit.session, unit.principal, lambda: _redeem(unit, body))


async def _redeem(unit: Checkout, body: RedemptionRequest) -> JSON:
    result = await redemptions.redeem(
        unit.store,
        unit.principal,
        RedeemInput(
            code=body.code,
            amount=Amount.major(body.transaction_amount),
            order_reference=body.order_reference,
            redeemed_at=body.redeemed_at,
            channel=Channel.ONLINE,
        ),
    )
    headers = {REPLAYED: "true"} if result.replayed else None
    return JSON(mappers.redemption(result), status_code=201, headers=headers)


@router.post(
    "/redemption/rollback",
    summary="Roll back a redemption (order cancelled or refunded)",
    responses={
        200: {"description": "Rolled back (also when it already was)"},
        404: {"description": "No redemption of that code for that order_reference"},
    },
)
async def rollback_redemption(
    request: Request, body: RollbackRequest, session: SessionDep, principal: PrincipalDep
) -> JSON:
    """Gives the use back and records why; the voucher's history keeps both. Idempotent."""
    _mark(request, success=False, voucher_code=normalize(body.code))
    redemption, _ = await redemptions.rollback_redemption(
        session, principal, code=body.code, order_reference=body.order_reference, reason=body.reason
    )
    return JSON(
        {
            "success": True,
            "voucher_code": redemption.code,
            "redemption": mappers.redemption_record(redemption),
        }
    )
