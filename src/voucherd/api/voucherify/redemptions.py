"""Validations and redemptions (``ValidationsApi``, ``RedemptionsApi``): stacked bodies of up to
30 redeemables, all or nothing, over the checkout's own validation and redemption (a code
redeemed here is the redemption the VoucherTrack checkout sees, with the same
``voucher.redeemed`` event); rollbacks, and redemptions read back."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voucherd.accounts import client_side
from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.service import Principal
from voucherd.api.voucherify import redemption_mappers as mappers
from voucherd.api.voucherify.auth import ApplicationRoute, PrincipalDep, application, client_caller
from voucherd.api.voucherify.cors import with_cors
from voucherd.api.voucherify.errors import error_object
from voucherd.api.voucherify.mappers import REDEMPTION, ROLLBACK, unprefixed
from voucherd.api.voucherify.requests import body, page_of, segment
from voucherd.core.errors import DomainError, InvalidInput, NotFound
from voucherd.core.pagination import PageRequest
from voucherd.db import unit_of_work
from voucherd.http import ratelimit
from voucherd.http.checkout import run_checkout
from voucherd.http.responses import JSON
from voucherd.http.session import SessionDep
from voucherd.redemptions import giftcards as gift_cards
from voucherd.redemptions import service as redemptions
from voucherd.redemptions import stacks
from voucherd.redemptions.errors import RedemptionNotFound

router = APIRouter(tags=["Validations and redemptions"], route_class=ApplicationRoute)
# Client-side routes check their caller themselves: a publishable key has no server-side permission.
client_router = APIRouter(prefix="/client", tags=["Client side"])


class _Fields(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GiftFields(_Fields):
    credits: int | None = None


class RedeemableFields(_Fields):
    object: str = "voucher"
    id: str = Field(min_length=1, max_length=200)
    gift: GiftFields | None = None


class ItemFields(_Fields):
    quantity: int | None = None
    price: int | None = None
    amount: int | None = None


class OrderFields(_Fields):
    id: str | None = Field(default=None, max_length=200)
    source_id: str | None = Field(default=None, max_length=200)
    amount: int | None = None
    items: list[ItemFields] | None = None

    @property
    def total(self) -> int:
        if self.amount is not None:
            return self.amount
        return sum(
            item.amount if item.amount is not None else (item.price or 0) * (item.quantity or 1)
            for item in self.items or []
        )


class CustomerFields(_Fields):
    id: str | None = None
    source_id: str | None = None
    email: str | None = None


class StackFields(_Fields):
    redeemables: list[RedeemableFields] = Field(min_length=1, max_length=stacks.MAX_REDEEMABLES)
    order: OrderFields | None = None
    customer: CustomerFields | None = None
    tracking_id: str | None = None


def _stack(data: dict[str, Any]) -> StackFields:
    try:
        return StackFields.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from None


def _codes(fields: StackFields) -> list[stacks.Redeemable]:
    for index, item in enumerate(fields.redeemables):
        if item.object != "voucher":
            raise InvalidInput(
                f"redeemables[{index}].object: only vouchers are served (not {item.object}).",
                field=f"redeemables[{index}].object",
            )
    return [
        stacks.Redeemable(item.id, None if item.gift is None else item.gift.credits)
        for item in fields.redeemables
    ]


async def _validate(request: Request, principal: Principal) -> JSON:
    fields = _stack(await body(request))
    order = fields.order or OrderFields()
    codes = _codes(fields)
    stack = await run_checkout(
        principal,
        lambda unit: stacks.validate(unit.store, principal, codes, order.total),
        write=False,
        transaction=any(redemptions.needs_session(item.code) for item in codes),
    )
    return JSON(mappers.validation(stack, order_id=order.id, source_id=order.source_id, request=request))


async def _redeem(request: Request, principal: Principal, channel_id: str) -> JSON:
    fields = _stack(await body(request))
    order = fields.order or OrderFields()
    customer = fields.customer.email if fields.customer is not None else None
    codes = _codes(fields)
    # One code and no customer: the redemption is one statement, atomic by itself (the
    # checkout's fast path); several codes, or a customer to record, commit together.
    together = (
        len(codes) > 1 or customer is not None or any(redemptions.needs_session(item.code) for item in codes)
    )
    try:
        done = await run_checkout(
            principal,
            lambda unit: stacks.redeem(
                unit.store,
                principal,
                codes,
                order.total,
                order_reference=order.source_id or order.id,
                customer=customer,
            ),
            write=True,
            transaction=together,
        )
    except DomainError as error:
        # The first refused redeemable says why, as a 400 (a refusal, whatever its kind).
        answer = mappers.error_body(error, request)
        return error_object(request, 400, answer["key"], answer["details"], **_resource(answer))
    return JSON(
        mappers.redeemed(
            done.results,
            stack_id=done.stack_id,
            amount=order.total,
            source_id=order.source_id,
            channel_id=channel_id,
        )
    )


async def _server(request: Request) -> Principal:
    principal = await application(request)
    require(principal, Permission.REDEEM)
    return principal


async def _client(request: Request, *, redeem: bool) -> tuple[Principal, str]:
    """A client-side caller: limited per IP before its key is checked (so that guessing keys is
    limited too), its origin checked against a publishable key's, redemption only where allowed."""
    await ratelimit.check(request, "client_side_per_ip", f"ip:{ratelimit.client_ip(request)}")
    principal = await client_caller(request)
    async with unit_of_work(write=False) as session:
        allowed = await client_side.access(session, principal, request.headers.get("origin"))
    if redeem:
        allowed.require_redeem()
    if not allowed.publishable:
        require(principal, Permission.REDEEM)
    return principal, str(principal.subject.id)


def _resource(answer: dict[str, Any]) -> dict[str, Any]:
    if "resource_id" not in answer:
        return {}
    return {"resource_id": answer["resource_id"], "resource_type": answer["resource_type"]}


@router.post("/v1/validations", summary="Validate stacked discounts")
async def validate_stacked(request: Request) -> JSON:
    return await _validate(request, await _server(request))


@router.post("/v1/redemptions", summary="Redeem stacked discounts")
async def redeem_stacked(request: Request) -> JSON:
    principal = await _server(request)
    return await _redeem(request, principal, str(principal.subject.id))


@client_router.post("/v1/validations", summary="Validate stacked discounts (client side)")
async def validate_stacked_client_side(request: Request) -> JSON:
    principal, _ = await _client(request, redeem=False)
    return with_cors(request, await _validate(request, principal))


@client_router.post("/v1/redemptions", summary="Redeem stacked discounts (client side)")
async def redeem_stacked_client_side(request: Request) -> JSON:
    principal, channel = await _client(request, redeem=True)
    return with_cors(request, await _redeem(request, principal, channel))


@client_router.options("/v1/{path:path}", include_in_schema=False)
async def preflight(path: str, request: Request) -> Response:
    """CORS preflight: answered for the origins of the live publishable keys."""
    async with unit_of_work(write=False) as session:
        known = await client_side.origin_known(session, request.headers.get("origin"))
    if not known:
        return Response(status_code=204)
    return with_cors(request, Response(status_code=204), preflight=True)


def _redemption_id(value: str) -> uuid.UUID:
    value = segment(value)
    prefix = ROLLBACK if value.startswith(ROLLBACK) else REDEMPTION
    return unprefixed(prefix, value, "redemption")


def _not_found(redemption_id: str) -> NotFound:
    return NotFound(
        f"Cannot find redemption with id {segment(redemption_id)}",
        resource_id=segment(redemption_id),
        resource_type="redemption",
    )


@router.get("/v1/redemptions/{redemption_id}", summary="Get a redemption")
async def get_redemption(redemption_id: str, session: SessionDep, principal: PrincipalDep) -> JSON:
    wanted = _redemption_id(redemption_id)
    of_rollback = segment(redemption_id).startswith(ROLLBACK)
    try:
        found = await redemptions.get_redemption(session, principal, wanted)
    except RedemptionNotFound:  # the parent redemption of a stack?
        try:
            members = await stacks.members(session, principal, wanted)
        except RedemptionNotFound:
            raise _not_found(redemption_id) from None
        if not of_rollback:
            gifts = await gift_cards.of_gift_vouchers(session, [row.id for row in members])
            return JSON(mappers.parent(wanted, members, gifts))
        rolled_back = mappers.stack_rollback(wanted, members)
        if rolled_back is None:
            raise _not_found(redemption_id) from None
        return JSON(rolled_back)
    if of_rollback:
        if found.rolled_back_at is None:
            raise _not_found(redemption_id)
        return JSON(mappers.rollback(found))
    gift = bool(await gift_cards.of_gift_vouchers(session, [found.id]))
    return JSON(mappers.redemption(found, gift=gift))


@router.get("/v1/redemptions", summary="List redemptions")
async def list_redemptions(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    limit, page = page_of(request)
    found, total = await redemptions.list_redemptions(session, principal, PageRequest(page=page, limit=limit))
    gifts = await gift_cards.of_gift_vouchers(session, [item.id for item in found])
    items = [mappers.redemption(item, gift=item.id in gifts) for item in found]
    return JSON({"object": "list", "data_ref": "redemptions", "redemptions": items, "total": total})


@router.post("/v1/redemptions/{redemption_id}/rollback", summary="Roll a redemption back")
async def rollback_redemption(
    redemption_id: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> JSON:
    data = await body(request)
    reason = request.query_params.get("reason") or data.get("reason") or "Rolled back through the API"
    wanted = _redemption_id(redemption_id)
    try:
        found, done = await redemptions.rollback_redemption(
            session, principal, reason=str(reason), redemption_id=wanted
        )
    except RedemptionNotFound:  # a stack's parent rolls back every member, or none
        try:
            members, done = await stacks.rollback(session, principal, wanted, reason=str(reason))
        except RedemptionNotFound:
            raise _not_found(redemption_id) from None
        answer = mappers.stack_rollback(wanted, members) if done else None
    else:
        answer = mappers.rollback(found) if done else None
    if answer is None:
        return error_object(
            request,
            400,
            "already_rolled_back",
            f"Redemption {segment(redemption_id)} has already been rolled back.",
            resource_id=segment(redemption_id),
            resource_type="redemption",
        )
    return JSON(answer)
