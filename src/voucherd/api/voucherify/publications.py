"""Publications (``PublicationsApi``, ``voucherify-api.md`` section 5) over the publications
domain (seed 002): a code, or ``count`` codes from a campaign's pool, handed to one customer (a
code never to two); the customer named by ``id`` or upserted by ``source_id``. Also the same from
query parameters (``GET /v1/publications/create``), the list, and the client-side publish."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts import client_side
from voucherd.accounts.permissions import Permission, require
from voucherd.accounts.service import Principal
from voucherd.api.voucherify import publication_mappers as mappers
from voucherd.api.voucherify.auth import ApplicationRoute, PrincipalDep, client_caller
from voucherd.api.voucherify.cors import with_cors
from voucherd.api.voucherify.customer_mappers import CUSTOMER
from voucherd.api.voucherify.customers import _ADDRESS, _Fields
from voucherd.api.voucherify.errors import InvalidQuery
from voucherd.api.voucherify.mappers import CAMPAIGN
from voucherd.api.voucherify.requests import body, envelope, page_of
from voucherd.campaigns.errors import CampaignNotFound
from voucherd.campaigns.service import campaign_named, get_campaign
from voucherd.core.errors import InvalidInput, NotFound
from voucherd.core.pagination import PageRequest
from voucherd.customers import service as customers
from voucherd.customers.errors import CustomerNotFound
from voucherd.db import unit_of_work
from voucherd.http import ratelimit
from voucherd.http.responses import JSON
from voucherd.http.session import SessionDep, writes
from voucherd.models import Customer
from voucherd.publications import service as publications
from voucherd.publications.errors import PoolExhausted
from voucherd.publications.schemas import CustomerRef, PublicationFilter, PublishInput
from voucherd.vouchers.errors import VoucherNotFound

server = APIRouter(prefix="/v1/publications", tags=["Publications"], route_class=ApplicationRoute)
# Client-side routes check their caller themselves: a publishable key has no server-side permission.
client = APIRouter(prefix="/client", tags=["Client side"])
MAX_COUNT = 50


class NoVoucherSuitable(InvalidInput):
    code = "no_voucher_suitable_for_publication"


class _Campaign(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr = Field(min_length=1)
    count: int | None = Field(default=None, ge=1, le=MAX_COUNT)


class _Customer(_Fields):
    id: StrictStr | None = None


class _Publication(BaseModel):
    model_config = ConfigDict(extra="ignore")

    customer: _Customer
    voucher: StrictStr | None = None
    campaign: _Campaign | None = None
    channel: StrictStr | None = None
    source_id: StrictStr | None = None
    metadata: dict[str, Any] | None = None


def _fields(data: dict[str, Any]) -> _Publication:
    try:
        return _Publication.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from None


def _join_once(request: Request) -> bool:
    value = request.query_params.get("join_once")
    if value in (None, "", "false"):
        return False
    if value == "true":
        return True
    raise InvalidQuery("join_once must be true or false.")


async def _customer(session: AsyncSession, principal: Principal, given: _Customer) -> Customer:
    """The customer named by ``id`` (``cust_...``), else the one of ``source_id`` given the
    profile fields sent (created when new), as ``POST /v1/customers`` does."""
    if given.id:
        try:
            customer_id = uuid.UUID(hex=given.id.removeprefix(CUSTOMER))
            if not given.id.startswith(CUSTOMER):
                raise ValueError(given.id)
            return await customers.get_customer(session, principal, customer_id)
        except (ValueError, CustomerNotFound):
            raise NotFound(
                f"Cannot find customer with id {given.id}", resource_id=given.id, resource_type="customer"
            ) from None
    if not (given.source_id or "").strip():
        raise InvalidInput("customer needs an id (cust_...) or a source_id.", field="customer")
    changes: dict[str, Any] = {
        key: value
        for key, value in {
            "external_id": given.source_id,
            "name": given.name,
            "description": given.description,
            "email": given.email,
            "phone": given.phone,
            "birthdate": given.birthdate or given.birthday,
            "metadata": given.metadata,
        }.items()
        if value is not None
    }
    if given.address is not None:
        for theirs, ours in _ADDRESS.items():
            value = getattr(given.address, theirs)
            if value is not None:
                changes[ours] = value
    return await customers.upsert_customer(session, principal, changes)


async def _campaign_id(session: AsyncSession, principal: Principal, name: str) -> uuid.UUID:
    try:
        if name.startswith(CAMPAIGN):
            try:
                campaign_id = uuid.UUID(hex=name.removeprefix(CAMPAIGN))
            except ValueError:
                pass
            else:
                return (await get_campaign(session, principal, campaign_id)).id
        return await campaign_named(session, principal, name)
    except CampaignNotFound:
        raise NotFound(
            f"Cannot find campaign with id {name}", resource_id=name, resource_type="campaign"
        ) from None


async def _publish(
    request: Request, session: AsyncSession, principal: Principal, data: dict[str, Any], *, one: bool
) -> dict[str, Any]:
    fields = _fields(data)
    join_once = _join_once(request)
    if (fields.voucher is None) == (fields.campaign is None):
        if fields.voucher is None or not one:
            raise InvalidInput(
                "Name either a voucher (its code) or a campaign to publish from.", field="voucher"
            )
        fields.campaign = None  # the SDK's GET: with both, the campaign is skipped
    count = 1 if one or fields.campaign is None else (fields.campaign.count or 1)
    if fields.source_id is not None:
        earlier = await publications.by_source_id(session, principal, fields.source_id.strip())
        if earlier is not None:
            return await mappers.created(session, principal, earlier)
    customer = await _customer(session, principal, fields.customer)
    code = fields.voucher
    campaign_id = None
    if fields.campaign is not None:
        campaign_id = await _campaign_id(session, principal, fields.campaign.name)
        if join_once:
            code = await publications.held_code(session, principal, campaign_id, customer.id)
            if code is not None:
                campaign_id, count = None, 1
    try:
        result = await publications.publish(
            session,
            principal,
            PublishInput(
                customer=CustomerRef(id=customer.id),
                code=code,
                campaign_id=campaign_id,
                count=count,
                channel=fields.channel or "API",
                metadata=fields.metadata,
                source_id=fields.source_id,
            ),
        )
    except VoucherNotFound:
        raise NotFound(
            f"Cannot find voucher with id {fields.voucher}",
            resource_id=fields.voucher,
            resource_type="voucher",
        ) from None
    except PoolExhausted as error:
        name = fields.campaign.name if fields.campaign else ""
        left, asked = error.details.get("available", 0), error.details.get("requested", count)
        raise NoVoucherSuitable(
            f"Campaign {name!r} has {left} unpublished active code(s) left and {asked} were asked "
            f"for: add codes (POST /v1/campaigns/{{id}}/vouchers) or make the campaign AUTO_UPDATE.",
            resource_id=name,
            resource_type="campaign",
        ) from None
    return await mappers.created(session, principal, result)


@server.post("", summary="Publish a code, or codes of a campaign, to a customer")
async def create_publication(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    return JSON(await _publish(request, session, principal, await body(request), one=False))


def _nested(request: Request) -> dict[str, Any]:
    """Query parameters with deepObject keys (``customer[address][city]=x``) as nested objects."""
    found: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        parts = key.replace("]", "").split("[")
        place = found
        for part in parts[:-1]:
            inner = place.get(part)
            if not isinstance(inner, dict):
                inner = place[part] = {}
            place = inner
        place[parts[-1]] = value
    campaign = found.get("campaign")
    if isinstance(campaign, dict) and "count" in campaign:
        try:
            campaign["count"] = int(campaign["count"])
        except ValueError:
            raise InvalidQuery("campaign[count] must be a whole number.") from None
    return found


@server.get("/create", summary="Publish one code to a customer (from query parameters)")
@writes
async def create_publication_from_query(
    request: Request, session: SessionDep, principal: PrincipalDep
) -> JSON:
    data = _nested(request)
    if not isinstance(data.get("customer"), dict):
        raise InvalidQuery("customer[id] or customer[source_id] is required.")
    return JSON(await _publish(request, session, principal, data, one=True))


@server.get("", summary="List publications")
async def list_publications(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    limit, page = page_of(request)
    query = request.query_params
    order = query.get("order") or "-created_at"
    if order.removeprefix("-") not in publications.LIST_ORDERS:
        raise InvalidQuery(
            f"order must be one of {', '.join(publications.LIST_ORDERS)}, with - first to descend."
        )
    customer_id: uuid.UUID | None = None
    if query.get("customer"):
        customer_id = await _customer_id(session, principal, query["customer"])
    result, voucher_type = query.get("result"), query.get("voucher_type")
    kinds = {"discount": False, "DISCOUNT_VOUCHER": False, "gift": True, "GIFT_VOUCHER": True}
    nothing = result not in (None, "", "SUCCESS") or voucher_type not in (None, "", *kinds)
    if nothing or (query.get("customer") and customer_id is None):
        return JSON(envelope("publications", [], 0))
    found = await publications.list_publications(
        session,
        principal,
        PublicationFilter(
            campaign_name=query.get("campaign") or None,
            customer_id=customer_id,
            code=query.get("voucher") or None,
            source_id=query.get("source_id") or None,
            gift=kinds.get(voucher_type or ""),
            order=order,
        ),
        PageRequest(page=page, limit=limit),
    )
    items = await mappers.listed(session, principal, found.items)
    return JSON(envelope("publications", items, found.total))


async def _customer_id(session: AsyncSession, principal: Principal, value: str) -> uuid.UUID | None:
    """The customer of an id (``cust_...``) or else a ``source_id``; None when there is none."""
    if value.startswith(CUSTOMER):
        try:
            return (
                await customers.get_customer(session, principal, uuid.UUID(hex=value[len(CUSTOMER) :]))
            ).id
        except (ValueError, CustomerNotFound):
            pass
    try:
        return (await customers.find_by_external_id(session, principal, value)).id
    except CustomerNotFound:
        return None


@client.post("/v1/publish", summary="Publish to a customer (client side)")
async def publish_client_side(request: Request) -> JSON:
    """A publishable key publishes only when the client switched client-side publication on;
    the application pair is the server."""
    await ratelimit.check(request, "client_side_per_ip", f"ip:{ratelimit.client_ip(request)}")
    principal = await client_caller(request)
    async with unit_of_work(write=False) as session:
        allowed = await client_side.access(session, principal, request.headers.get("origin"))
    allowed.require_publish()
    if not allowed.publishable:
        require(principal, Permission.MANAGE)
    data = await body(request)
    async with unit_of_work(write=True) as session:
        answer = await _publish(request, session, principal, data, one=False)
    return with_cors(request, JSON(answer))


# One router for the application to include: the server-side routes and the client-side publish.
router = APIRouter()
router.include_router(server)
router.include_router(client)
