"""The e-commerce checkout API, exactly as VoucherTrack documents it (seed 001)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from voucherd.accounts.permissions import Permission, require
from voucherd.api.vouchertrack import mappers
from voucherd.api.vouchertrack.auth import AuthenticatedRoute, PrincipalDep, checkout_principal
from voucherd.api.vouchertrack.errors import status_for
from voucherd.api.vouchertrack.schemas import RedemptionRequest, RollbackRequest
from voucherd.core.codes import normalize
from voucherd.core.money import Amount
from voucherd.http import bodies, idempotency, ratelimit
from voucherd.http.checkout import Checkout, run_checkout
from voucherd.http.idempotency import IDEMPOTENCY_KEY, REPLAYED
from voucherd.http.responses import JSON
from voucherd.http.routes import permission
from voucherd.http.session import SessionDep
from voucherd.redemptions import service as redemptions
from voucherd.redemptions.schemas import Channel, RedeemInput

router = APIRouter(prefix="/webhook", tags=["Checkout"])


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
    principal = await checkout_principal(request)
    require(principal, Permission.REDEEM)
    await ratelimit.check(request, "validation_per_key", principal.rate_key)
    result = await run_checkout(
        principal,
        lambda unit: redemptions.validate(unit.store, principal, code),
        write=False,
        transaction=redemptions.needs_session(code),
    )
    body = mappers.validation(result, principal)
    status = 200 if result.error is None else status_for(result.error)
    return JSON(body, status_code=status)


@router.post(
    "/redemption",
    status_code=201,
    summary="Record a redemption after the order is placed",
    responses={
        201: {"description": "Redemption recorded (also for a retry of the same order_reference)"},
        401: {"description": "Missing or wrong API key"},
        404: {"description": "Voucher not found, or no customer with the id given in customer"},
        409: {
            "description": "Voucher used up, expired or not active; minimum spend not met; the "
            "customer used the campaign's uses_per_customer; or order_reference reused for another amount"
        },
        422: {"description": "Invalid body, or no customer where the campaign requires one"},
    },
    openapi_extra=bodies.request_body(RedemptionRequest),
)
async def record_redemption(request: Request) -> Response:
    """Marks one use of the voucher and logs the transaction. Idempotent per order_reference."""
    # The body is read here, after the key is checked: a caller without a key learns that first.
    data = bodies.loads(await request.body())
    code = data.get("code") if isinstance(data, dict) else None
    _mark(request, success=False, voucher_code=normalize(code) if isinstance(code, str) else None)
    principal = await checkout_principal(request)
    require(principal, Permission.REDEEM)
    body = bodies.validate(RedemptionRequest, data)
    # A second write commits with the redemption (the idempotency record, the customer it names),
    # or a gift card's code, whose redemption goes through the session.
    transaction = (
        IDEMPOTENCY_KEY in request.headers
        or body.customer is not None
        or redemptions.needs_session(body.code)
    )

    async def work(unit: Checkout) -> Response:
        if unit.session is None:
            return await _redeem(unit, body)
        held = await idempotency.claim(request, unit.session, principal.client_id)
        if isinstance(held, Response):
            return held
        response = await _redeem(unit, body)
        if held is not None:
            await idempotency.finish(held, response)
        return response

    return await run_checkout(principal, work, write=True, transaction=transaction)


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
            customer=body.customer,
        ),
    )
    headers = {REPLAYED: "true"} if result.replayed else None
    return JSON(mappers.redemption(result), status_code=201, headers=headers)


@permission(Permission.REDEEM)
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


# Checked before its body is read (401 before 422); the validate and redeem routes check first
# themselves, so their errors keep their documented extra fields.
router.add_api_route(
    "/redemption/rollback",
    rollback_redemption,
    methods=["POST"],
    route_class_override=AuthenticatedRoute,
    summary="Roll back a redemption (order cancelled or refunded)",
    responses={
        200: {"description": "Rolled back (also when it already was)"},
        404: {"description": "No redemption of that code for that order_reference"},
    },
)
