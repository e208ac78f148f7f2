"""Customers (``CustomersApi``, ``voucherify-api.md`` section 5): create (an upsert by
``source_id``), get, update (fields left out keep their value), delete (our erasure) and list.
``{id}`` is ``cust_<hex>`` or, failing that, a ``source_id``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.api.voucherify import customer_mappers
from voucherd.api.voucherify.auth import ApplicationRoute, PrincipalDep
from voucherd.api.voucherify.errors import InvalidQuery
from voucherd.api.voucherify.requests import body, envelope, page_of, segment
from voucherd.api.voucherify.times import parse
from voucherd.core.errors import InvalidInput, NotFound
from voucherd.core.pagination import PageRequest
from voucherd.customers import service as customers
from voucherd.customers.errors import CustomerNotFound
from voucherd.customers.schemas import CustomerChanges, CustomerFilter
from voucherd.http.responses import JSON
from voucherd.http.session import SessionDep
from voucherd.models import Customer

router = APIRouter(prefix="/v1/customers", tags=["Customers"], route_class=ApplicationRoute)

_ORDERS = {"created_at": "created_at", "updated_at": "updated_at", "source_id": "external_id"}


class _Address(BaseModel):
    model_config = ConfigDict(extra="ignore")

    city: StrictStr | None = None
    state: StrictStr | None = None
    line_1: StrictStr | None = None
    line_2: StrictStr | None = None
    country: StrictStr | None = None
    postal_code: StrictStr | None = None


class _Fields(BaseModel):
    """The fields of a create or update body; ``null`` (or absent) means "not given"."""

    model_config = ConfigDict(extra="ignore")

    source_id: StrictStr | None = None
    name: StrictStr | None = None
    description: StrictStr | None = None
    email: StrictStr | None = None
    phone: StrictStr | None = None
    birthdate: date | None = None
    birthday: date | None = None  # deprecated name of birthdate
    address: _Address | None = None
    metadata: dict[str, Any] | None = None


_ADDRESS = {
    "city": "city",
    "state": "state",
    "line_1": "address_line_1",
    "line_2": "address_line_2",
    "country": "country",
    "postal_code": "postcode",
}


async def _changes(request: Request, *, with_source_id: bool) -> dict[str, Any]:
    """Our customer fields from the body: only those given."""
    given = await body(request)
    # An empty string clears a field; for the date too.
    cleared = [key for key in ("birthdate", "birthday") if given.get(key) == ""]
    try:
        fields = _Fields.model_validate({k: v for k, v in given.items() if k not in cleared})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise InvalidInput(problems or "The customer is not valid.") from None
    changes: dict[str, Any] = {
        key: value
        for key, value in {
            "name": fields.name,
            "description": fields.description,
            "email": fields.email,
            "phone": fields.phone,
            "birthdate": fields.birthdate or fields.birthday,
            "metadata": fields.metadata,
        }.items()
        if value is not None
    }
    if cleared and fields.birthdate is None and fields.birthday is None:
        changes["birthdate"] = None
    if with_source_id and fields.source_id is not None:
        changes["external_id"] = fields.source_id
    if fields.address is not None:
        for theirs, ours in _ADDRESS.items():
            value = getattr(fields.address, theirs)
            if value is not None:
                changes[ours] = value
    return changes


async def _find(session: AsyncSession, principal: Principal, raw: str) -> Customer:
    """The caller's customer named by its id (``cust_<hex>``) or else its ``source_id``."""
    value = segment(raw)
    if value.startswith(customer_mappers.CUSTOMER):
        try:
            customer_id = uuid.UUID(hex=value.removeprefix(customer_mappers.CUSTOMER))
        except ValueError:
            pass
        else:
            try:
                return await customers.get_customer(session, principal, customer_id)
            except CustomerNotFound:
                pass
    try:
        return await customers.find_by_external_id(session, principal, value)
    except CustomerNotFound:
        raise NotFound(
            f"Cannot find customer with id {value}", resource_id=value, resource_type="customer"
        ) from None


@router.post("", summary="Create a customer (an upsert by source_id)")
async def create_customer(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    changes = await _changes(request, with_source_id=True)
    customer = await customers.upsert_customer(session, principal, changes)
    return JSON(customer_mappers.customer(customer))


@router.get("", summary="List customers")
async def list_customers(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    limit, page = page_of(request)
    query = request.query_params
    order = query.get("order", "-created_at")
    ours = _ORDERS.get(order.removeprefix("-"))
    if ours is None:
        raise InvalidQuery(f"order must be one of {', '.join(_ORDERS)}, with - first to descend.")
    moments: dict[str, datetime | None] = {}
    for field in ("created_at", "updated_at"):
        for side in ("before", "after"):
            value = query.get(f"{field}[{side}]") or query.get(f"{field}_{side}")
            moments[f"{field}_{side}"] = parse(value, field=f"{field}[{side}]") if value else None
    where = CustomerFilter(
        email=query.get("email"),
        name=query.get("name"),
        city=query.get("city"),
        created_before=moments["created_at_before"],
        created_after=moments["created_at_after"],
        updated_before=moments["updated_at_before"],
        updated_after=moments["updated_at_after"],
        order=("-" if order.startswith("-") else "") + ours,
    )
    found = await customers.list_customers(
        session, principal, PageRequest(limit=limit, page=page), where=where
    )
    return JSON(
        envelope(
            "customers",
            [customer_mappers.customer(item) for item in found.items],
            found.total,
            has_more=found.has_more,
        )
    )


@router.get("/{customer_id}", summary="Get a customer by id or source_id")
async def get_customer(customer_id: str, session: SessionDep, principal: PrincipalDep) -> JSON:
    return JSON(customer_mappers.customer(await _find(session, principal, customer_id)))


@router.put("/{customer_id}", summary="Update a customer (fields left out keep their value)")
async def update_customer(
    customer_id: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> JSON:
    customer = await _find(session, principal, customer_id)
    changes = CustomerChanges(await _changes(request, with_source_id=False))
    updated = await customers.update_customer(session, principal, customer.id, changes)
    return JSON(customer_mappers.customer(updated))


@router.delete("/{customer_id}", status_code=204, summary="Delete (erase) a customer")
async def delete_customer(customer_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    customer = await _find(session, principal, customer_id)
    await customers.delete_customer(session, principal, customer.id)
    return Response(status_code=204)
