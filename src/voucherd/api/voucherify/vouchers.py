"""Vouchers (``VouchersApi``), discount vouchers: create with a random or a given code, get,
update, delete, enable, disable, list. Every voucher is one of our codes in one of our campaigns
(a standalone one in a campaign of its own), so the VoucherTrack checkout sees the same codes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from voucherd.accounts.service import Principal
from voucherd.api.voucherify import voucher_mappers as mappers
from voucherd.api.voucherify.auth import ApplicationRoute, PrincipalDep
from voucherd.api.voucherify.errors import InvalidQuery
from voucherd.api.voucherify.fields import answers, code_pattern, moment, obj, redemption_quantity, text
from voucherd.api.voucherify.mappers import unprefixed
from voucherd.api.voucherify.requests import body, envelope, page_of, segment
from voucherd.api.voucherify.times import parse
from voucherd.campaigns import service as campaigns
from voucherd.campaigns.errors import CampaignNotFound
from voucherd.core.errors import InvalidInput, NotFound
from voucherd.http.responses import JSON
from voucherd.http.session import SessionDep
from voucherd.vouchers import service as vouchers

router = APIRouter(prefix="/v1/vouchers", tags=["Vouchers"], route_class=ApplicationRoute)


async def _campaign_of(session: SessionDep, principal: Principal, data: dict[str, Any]) -> uuid.UUID | None:
    campaign_id, name = data.get("campaign_id"), data.get("campaign")
    if campaign_id is not None:
        if not isinstance(campaign_id, str):
            raise InvalidInput("campaign_id must be a string.", field="campaign_id")
        return unprefixed(mappers.CAMPAIGN, campaign_id, "campaign")
    if name is not None:
        if not isinstance(name, str):
            raise InvalidInput("campaign must be a campaign's name.", field="campaign")
        try:
            return await campaigns.campaign_named(session, principal, name)
        except CampaignNotFound:
            raise NotFound(
                f"Cannot find campaign with id {name}", resource_id=name, resource_type="campaign"
            ) from None
    return None


async def _create(session: SessionDep, principal: Principal, data: dict[str, Any], code: str | None) -> JSON:
    kind, value = mappers.offer_of(data) or (None, None)
    uses_given, uses = redemption_quantity(data)
    active = data.get("active")
    if active is not None and not isinstance(active, bool):
        raise InvalidInput("active must be true or false.", field="active")
    new = vouchers.NewVoucher(
        code=code,
        pattern=code_pattern(data.get("code_config")) if code is None else None,
        campaign_id=await _campaign_of(session, principal, data),
        discount_type=kind,
        discount_value=value,
        uses=uses,
        uses_given=uses_given,
        active=True if active is None else active,
        valid_from=moment(data.get("start_date"), "start_date"),
        valid_until=moment(data.get("expiration_date"), "expiration_date"),
        metadata=obj(data.get("metadata"), "metadata"),
        additional_info=text(data.get("additional_info"), "additional_info"),
        category=text(data.get("category"), "category"),
    )
    with answers(code):
        return JSON(mappers.voucher(await vouchers.create_voucher(session, principal, new)))


@router.post("", summary="Create a voucher (random code, or `code`)")
async def generate_random_code(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    data = await body(request)
    code = text(data.get("code"), "code")
    return await _create(session, principal, data, code)


@router.post("/{code}", summary="Create a voucher with this code")
async def create_voucher(code: str, request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    return await _create(session, principal, await body(request), segment(code))


def _voucher_id(code: str) -> uuid.UUID | None:
    """The voucher id a path may give instead of a code (``v_...``)."""
    if not code.startswith(mappers.VOUCHER):
        return None
    try:
        return unprefixed(mappers.VOUCHER, code, "voucher")
    except NotFound:
        return None


@router.get("/{code}", summary="Get a voucher")
async def get_voucher(code: str, session: SessionDep, principal: PrincipalDep) -> JSON:
    code = segment(code)
    with answers(code):
        return JSON(
            mappers.voucher(
                await vouchers.own_voucher(session, principal, code, voucher_id=_voucher_id(code))
            )
        )


@router.put("/{code}", summary="Update a voucher (fields left out keep their value; `type` is ignored)")
async def update_voucher(code: str, request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    code = segment(code)
    data = await body(request)
    changes: dict[str, Any] = {}
    if data.get("active") is not None:
        if not isinstance(data["active"], bool):
            raise InvalidInput("active must be true or false.", field="active")
        changes["active"] = data["active"]
    if data.get("metadata") is not None:
        changes["metadata"] = obj(data["metadata"], "metadata")
    for field in ("additional_info", "category"):
        if data.get(field) is not None:
            changes[field] = text(data[field], field)
    if data.get("start_date") is not None:
        changes["valid_from"] = moment(data["start_date"], "start_date")
    if data.get("expiration_date") is not None:
        changes["valid_until"] = moment(data["expiration_date"], "expiration_date")
    if data.get("discount") is not None:
        changes["discount"] = mappers.discount_of(data["discount"])
    uses_given, uses = redemption_quantity(data)
    if uses_given:
        changes["uses"] = uses
    with answers(code):
        view = await vouchers.update_voucher(session, principal, code, changes, voucher_id=_voucher_id(code))
    return JSON(mappers.voucher(view))


@router.delete("/{code}", status_code=204, summary="Delete a voucher (for good; `force` is accepted)")
async def delete_voucher(code: str, session: SessionDep, principal: PrincipalDep) -> Response:
    code = segment(code)
    with answers(code):
        await vouchers.delete_voucher(session, principal, code)
    return Response(status_code=204)


@router.post("/{code}/enable", summary="Enable a voucher")
async def enable_voucher(code: str, session: SessionDep, principal: PrincipalDep) -> JSON:
    code = segment(code)
    with answers(code):
        view = await vouchers.set_active(session, principal, code, active=True, voucher_id=_voucher_id(code))
    return JSON(mappers.voucher(view))


@router.post("/{code}/disable", summary="Disable a voucher: it then neither validates nor redeems")
async def disable_voucher(code: str, session: SessionDep, principal: PrincipalDep) -> JSON:
    code = segment(code)
    with answers(code):
        view = await vouchers.set_active(session, principal, code, active=False, voucher_id=_voucher_id(code))
    return JSON(mappers.voucher(view))


def _when(request: Request, name: str, side: str) -> datetime | None:
    value = request.query_params.get(f"{name}[{side}]")
    return parse(value, field=f"{name}[{side}]") if value else None


@router.get("", summary="List vouchers (newest first)")
async def list_vouchers(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    limit, page = page_of(request)
    query = request.query_params
    campaign_id: uuid.UUID | None = None
    if query.get("campaign_id"):
        try:
            campaign_id = unprefixed(mappers.CAMPAIGN, query["campaign_id"], "campaign")
        except NotFound:
            return JSON(envelope("vouchers", [], 0))  # no such campaign: none of its vouchers
    holder_id: uuid.UUID | None = None
    holder_source: str | None = None
    customer = query.get("customer")
    if customer:
        try:
            holder_id = unprefixed(mappers.CUSTOMER, customer, "customer")
        except NotFound:
            holder_source = customer
    where = vouchers.VoucherFilter(
        campaign_id=campaign_id,
        campaign_name=query.get("campaign") or None,
        category=query.get("category") or None,
        holder_id=holder_id,
        holder_source_id=holder_source,
        created_before=_when(request, "created_at", "before"),
        created_after=_when(request, "created_at", "after"),
        updated_before=_when(request, "updated_at", "before"),
        updated_after=_when(request, "updated_at", "after"),
        order=query.get("order") or "-created_at",
    )
    try:
        found, total = await vouchers.find_vouchers(
            session, principal, where, limit=limit, offset=(page - 1) * limit
        )
    except InvalidInput as bad:
        raise InvalidQuery(bad.message) from None
    return JSON(envelope("vouchers", [mappers.voucher(view) for view in found], total))
