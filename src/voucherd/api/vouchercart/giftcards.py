"""Gift vouchers as seed 003 documents them: the catalog, orders, and a code's status, redemption
and top-up. Creating and editing the catalog is not in the seed (VoucherCart does it in its
dashboard), so ``POST /vouchers``, ``PUT`` and ``DELETE /voucher/{id}`` take the documented
object without its ids."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from voucherd.accounts.permissions import Permission
from voucherd.api.vouchercart import dates
from voucherd.api.vouchercart import giftcard_mappers as mappers
from voucherd.api.vouchercart.auth import PrincipalDep, StaffRoute, authenticated, caller
from voucherd.api.vouchercart.body import fields
from voucherd.api.vouchercart.giftcard_schemas import (
    CodeFields,
    ListFields,
    OrderFields,
    ProductFields,
    RedeemFields,
    TopUpFields,
)
from voucherd.api.vouchercart.schemas import read
from voucherd.db import get_database, unit_of_work
from voucherd.giftcards import balances, catalog, codes, fast, orders
from voucherd.http.idempotency import idempotent
from voucherd.http.responses import JSON
from voucherd.http.routes import permission
from voucherd.http.session import SessionDep, after_commit, writes

router = APIRouter(tags=["Gift vouchers"], route_class=StaffRoute)
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such object of yours"},
    409: {"description": "Not possible in its state"},
    422: {"description": "Bad input; the error names the field"},
}


async def _data(request: Request) -> dict[str, Any]:
    """Query and body fields together (the seed's curl sends some of each)."""
    return {**dict(request.query_params), **await fields(request)}


@router.get("/vouchers", summary="List gift vouchers", responses=_ERRORS)
async def list_vouchers(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    """The sales page's published gift vouchers (``accessLevel=secret``, ``unpublished`` or
    ``all`` for the others)."""
    data = read(ListFields, dict(request.query_params))
    level = None if data.access_level == "all" else data.access_level
    views = await catalog.list_products(
        session, principal, page=data.page, access_level=level, limit=data.limit, offset=data.offset
    )
    return JSON([mappers.product(view) for view in views])


@router.post("/vouchers", status_code=201, summary="Add a gift voucher to the catalog", responses=_ERRORS)
@permission(Permission.MANAGE)
async def create_voucher(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    data = read(ProductFields, await fields(request))
    view = await catalog.create_product(session, principal, data.to_input(principal))
    return JSON(mappers.product(view), status_code=201)


@router.get("/voucher/{voucher_id}", summary="Get a gift voucher", responses=_ERRORS)
async def get_voucher(voucher_id: int, session: SessionDep, principal: PrincipalDep) -> JSON:
    return JSON(mappers.product(await catalog.view(session, principal, voucher_id)))


@router.put("/voucher/{voucher_id}", summary="Replace a gift voucher", responses=_ERRORS)
@permission(Permission.MANAGE)
async def update_voucher(
    voucher_id: int, request: Request, session: SessionDep, principal: PrincipalDep
) -> JSON:
    data = read(ProductFields, await fields(request))
    view = await catalog.update_product(session, principal, voucher_id, data.to_input(principal))
    return JSON(mappers.product(view))


@router.delete(
    "/voucher/{voucher_id}",
    status_code=204,
    summary="Delete a gift voucher (a sold one is unpublished)",
    responses=_ERRORS,
)
@permission(Permission.MANAGE)
async def delete_voucher(voucher_id: int, session: SessionDep, principal: PrincipalDep) -> Response:
    await catalog.delete_product(session, principal, voucher_id)
    return Response(status_code=204)


@router.post(
    "/order",
    status_code=201,
    summary="Place an order",
    responses=_ERRORS,
    dependencies=[idempotent(authenticated)],
)
@permission(Permission.MANAGE)
async def place_order(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    """Payments are recorded as given, never processed; they must add up to the order's total.
    ``Idempotency-Key`` makes a retried order answer as the first did."""
    data = read(OrderFields, await _data(request))
    placed = await orders.place_order(session, principal, data.to_input(principal))
    return JSON(mappers.placed(placed), status_code=201)


@router.get("/order/{order_id}", summary="Get an order", responses=_ERRORS)
async def get_order(order_id: int, session: SessionDep, principal: PrincipalDep) -> JSON:
    placed = await orders.get_order(session, principal, order_id)
    views = [await balances.view(session, card) for card in placed.cards]
    return JSON(mappers.order(placed, views))


@router.get("/status", summary="A gift voucher code's status", responses=_ERRORS)
@writes  # a read settles what time did first: expired holds and an expired card
async def status(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    data = read(CodeFields, dict(request.query_params))
    return JSON(mappers.card_status(await balances.status(session, principal, data.code, data.page)))


@router.post("/redeem", summary="Redeem a gift voucher, completely or partly", responses=_ERRORS)
async def redeem(request: Request) -> JSON:
    """``reductor``: the uses of a multi-use voucher or the minor units of a stored value to take
    (everything left when absent); ``redeemDate``: ``YYYY-MM-DD HH:MM`` in your timezone."""
    # The counter's hot path opens its own unit of work, as the checkout does: on PostgreSQL one
    # statement on a connection straight from asyncpg; the session's path when that one cannot say.
    principal = await caller(request)
    data = read(RedeemFields, await _data(request))
    at = dates.parse(data.redeem_date, principal.timezone, field="redeemDate")
    database = get_database()
    code = codes.parse(data.code)
    if database.is_postgres and code is not None and isinstance(data.page, int) and at is None:
        async with (await database.driver()).acquire() as connection:
            try:
                view = await fast.redeem(connection, principal, code, page=data.page, amount=data.reductor)
            except TimeoutError:  # a silent line: see voucherd.http.checkout
                connection.terminate()
                raise
        if view is not None:
            return JSON(mappers.card_status(view))
    async with unit_of_work(database, write=True) as session:
        view = await balances.redeem(
            session, principal, data.code, page=data.page, amount=data.reductor, at=at
        )
        body = mappers.card_status(view)
    after_commit(True)
    return JSON(body)


@router.post("/top-up", summary="Top up a stored-value gift voucher", responses=_ERRORS)
@permission(Permission.MANAGE)
async def top_up(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    data = read(TopUpFields, await _data(request))
    view = await balances.top_up(session, principal, data.code, page=data.page, amount=data.amount)
    return JSON(mappers.card_status(view))
