"""Vouchers (``VouchersApi``), discount vouchers: create with a random or a given code, get,
update, delete, enable, disable, list. Every voucher is one of our codes in one of our campaigns
(a standalone one in a campaign of its own), so the VoucherTrack checkout sees the same codes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from voucherd.accounts.service import Principal
from voucherd.api.voucherify import voucher_mappers as mappers
from voucherd.api.voucherify.auth import ApplicationRoute, PrincipalDep
from voucherd.api.voucherify.errors import InvalidQuery
from voucherd.api.voucherify.mappers import unprefixed
from voucherd.api.voucherify.requests import body, envelope, page_of, segment
from voucherd.api.voucherify.times import parse
from voucherd.campaigns import service as campaigns
from voucherd.campaigns.errors import CampaignNotFound
from voucherd.core.codes import CodePattern, normalize
from voucherd.core.errors import Conflict, InvalidInput, NotFound
from voucherd.http.responses import JSON
from voucherd.http.session import SessionDep
from voucherd.vouchers import service as vouchers
from voucherd.vouchers.errors import VoucherCodeTaken, VoucherNotFound

router = APIRouter(prefix="/v1/vouchers", tags=["Vouchers"], route_class=ApplicationRoute)


class DuplicateFound(Conflict):
    code = "duplicate_found"


@contextmanager
def _answers(code: str | None = None) -> Iterator[None]:
    """Our errors as Voucherify words them."""
    try:
        yield
    except VoucherNotFound:
        raise NotFound(
            f"Cannot find voucher with id {code}", resource_id=code, resource_type="voucher"
        ) from None
    except VoucherCodeTaken as taken:
        raise DuplicateFound(
            f"Duplicated resource found: voucher with code {taken.details.get('code')}",
            resource_id=taken.details.get("code"),
            resource_type="voucher",
        ) from None
    except CampaignNotFound as missing:
        raise NotFound(
            missing.message, resource_type="campaign", resource_id=missing.details.get("campaign")
        ) from None


def _moment(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be an ISO 8601 date-time.", field=field)
    try:
        return parse(value, field=field)
    except InvalidQuery as bad:
        raise InvalidInput(bad.message, field=field) from None


def _object(value: Any, field: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise InvalidInput(f"{field} must be an object.", field=field)
    return value


def _text(value: Any, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string.", field=field)
    return value


def _type(data: dict[str, Any]) -> None:
    kind = data.get("type") or mappers.DISCOUNT_VOUCHER
    if kind in mappers.LATER_TYPES:
        raise InvalidInput(
            f"type {kind} is not served yet ({mappers.LATER_TYPES[kind]} come in a later step); "
            "create a DISCOUNT_VOUCHER.",
            field="type",
        )
    if kind != mappers.DISCOUNT_VOUCHER:
        raise InvalidInput("type must be DISCOUNT_VOUCHER.", field="type")


def _pattern(config: Any) -> CodePattern | None:
    """``code_config``: ``prefix`` + (``pattern``, each ``#`` one random ``charset`` character, or
    ``length`` of them) + ``postfix``; codes are upper case, as the checkout matches them."""
    config = _object(config, "code_config")
    if not config:
        return None
    prefix = _text(config.get("prefix"), "code_config.prefix") or ""
    postfix = _text(config.get("postfix"), "code_config.postfix") or ""
    body_pattern = _text(config.get("pattern"), "code_config.pattern")
    if body_pattern is None:
        length = config.get("length", 8)
        if isinstance(length, float) and length.is_integer():
            length = int(length)
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 32:
            raise InvalidInput(
                "code_config.length must be a whole number from 1 to 32.", field="code_config.length"
            )
        body_pattern = "#" * length
    charset = _text(config.get("charset"), "code_config.charset")
    symbols = "".join(dict.fromkeys(charset.upper())) if charset else None
    return CodePattern.build(pattern=normalize(prefix + body_pattern + postfix), charset=symbols)


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


def _uses(data: dict[str, Any]) -> tuple[bool, int | None]:
    redemption = _object(data.get("redemption"), "redemption")
    if not redemption or "quantity" not in redemption:
        return False, None
    quantity = redemption["quantity"]
    if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int)):
        raise InvalidInput(
            "redemption.quantity must be a whole number, or null for no limit.", field="redemption.quantity"
        )
    return True, quantity


async def _create(session: SessionDep, principal: Principal, data: dict[str, Any], code: str | None) -> JSON:
    _type(data)
    discount = data.get("discount")
    kind, value = mappers.discount_of(discount) if discount is not None else (None, None)
    uses_given, uses = _uses(data)
    active = data.get("active")
    if active is not None and not isinstance(active, bool):
        raise InvalidInput("active must be true or false.", field="active")
    new = vouchers.NewVoucher(
        code=code,
        pattern=_pattern(data.get("code_config")) if code is None else None,
        campaign_id=await _campaign_of(session, principal, data),
        discount_type=kind,
        discount_value=value,
        uses=uses,
        uses_given=uses_given,
        active=True if active is None else active,
        valid_from=_moment(data.get("start_date"), "start_date"),
        valid_until=_moment(data.get("expiration_date"), "expiration_date"),
        metadata=_object(data.get("metadata"), "metadata"),
        additional_info=_text(data.get("additional_info"), "additional_info"),
        category=_text(data.get("category"), "category"),
    )
    with _answers(code):
        return JSON(mappers.voucher(await vouchers.create_voucher(session, principal, new)))


@router.post("", summary="Create a voucher (random code, or `code`)")
async def generate_random_code(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    data = await body(request)
    code = _text(data.get("code"), "code")
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
    with _answers(code):
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
        changes["metadata"] = _object(data["metadata"], "metadata")
    for field in ("additional_info", "category"):
        if data.get(field) is not None:
            changes[field] = _text(data[field], field)
    if data.get("start_date") is not None:
        changes["valid_from"] = _moment(data["start_date"], "start_date")
    if data.get("expiration_date") is not None:
        changes["valid_until"] = _moment(data["expiration_date"], "expiration_date")
    if data.get("discount") is not None:
        changes["discount"] = mappers.discount_of(data["discount"])
    uses_given, uses = _uses(data)
    if uses_given:
        changes["uses"] = uses
    with _answers(code):
        view = await vouchers.update_voucher(session, principal, code, changes, voucher_id=_voucher_id(code))
    return JSON(mappers.voucher(view))


@router.delete("/{code}", status_code=204, summary="Delete a voucher (for good; `force` is accepted)")
async def delete_voucher(code: str, session: SessionDep, principal: PrincipalDep) -> Response:
    code = segment(code)
    with _answers(code):
        await vouchers.delete_voucher(session, principal, code)
    return Response(status_code=204)


@router.post("/{code}/enable", summary="Enable a voucher")
async def enable_voucher(code: str, session: SessionDep, principal: PrincipalDep) -> JSON:
    code = segment(code)
    with _answers(code):
        view = await vouchers.set_active(session, principal, code, active=True, voucher_id=_voucher_id(code))
    return JSON(mappers.voucher(view))


@router.post("/{code}/disable", summary="Disable a voucher: it then neither validates nor redeems")
async def disable_voucher(code: str, session: SessionDep, principal: PrincipalDep) -> JSON:
    code = segment(code)
    with _answers(code):
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
