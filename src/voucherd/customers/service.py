"""Customers: the people a client hands codes to (recipients are customers)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.core.metadata import checked as checked_metadata
from voucherd.core.pagination import Page, PageRequest
from voucherd.customers import matching, rules
from voucherd.customers.errors import CustomerNotFound, ExternalIdTaken
from voucherd.customers.schemas import CustomerChanges, CustomerInput, Person
from voucherd.models import Customer

_LIMITS = {"name": 200, "forename": 100, "surname": 100, "postcode": 20, "external_id": 200}


def _text(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > _LIMITS[field]:
        raise InvalidInput(f"{field} may be at most {_LIMITS[field]} characters.", field=field)
    return value


def _apply(customer: Customer, principal: Principal, values: dict[str, Any]) -> None:
    if "email" in values:
        email = values["email"]
        if email is not None and email.strip():
            try:
                email = rules.normalize_email(email)
            except rules.ContactError as error:
                raise InvalidInput(f"email {error}.", field="email") from None
        else:
            email = None
        customer.email = email
        customer.email_key = rules.email_key(email) if email else None
    if "mobile" in values:
        mobile = values["mobile"]
        if mobile is not None and mobile.strip():
            try:
                customer.mobile_e164 = rules.normalize_mobile(mobile, principal.currency)
            except rules.ContactError as error:
                raise InvalidInput(f"mobile {error}.", field="mobile") from None
            customer.mobile = mobile.strip()
        else:
            customer.mobile = customer.mobile_e164 = None
    for field in ("forename", "surname", "postcode", "external_id"):
        if field in values:
            setattr(customer, field, _text(field, values[field]))
    if "name" in values:
        customer.name = _text("name", values["name"])
    if not customer.name and (customer.forename or customer.surname):
        customer.name = " ".join(p for p in (customer.forename, customer.surname) if p)
    if "metadata" in values:
        customer.metadata_ = checked_metadata(values["metadata"])


async def _flush(session: AsyncSession) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise ExternalIdTaken() from None


async def create_customer(session: AsyncSession, principal: Principal, data: CustomerInput) -> Customer:
    """A new customer; ``external_id`` is unique per client."""
    customer = Customer(client_id=principal.client_id)
    _apply(customer, principal, data.__dict__)
    session.add(customer)
    await _flush(session)
    return customer


async def get_customer(session: AsyncSession, principal: Principal, customer_id: uuid.UUID) -> Customer:
    """The caller's customer; another client's (or an erased one) is not found."""
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.client_id != principal.client_id or customer.deleted_at:
        raise CustomerNotFound()
    return customer


async def list_customers(
    session: AsyncSession, principal: Principal, page: PageRequest, *, email: str | None = None
) -> Page[Customer]:
    where = [Customer.client_id == principal.client_id, Customer.deleted_at.is_(None)]
    if email:
        where.append(Customer.email_key == rules.email_key(email.strip()))
    total = await session.scalar(select(func.count()).select_from(Customer).where(*where))
    rows = await session.scalars(
        select(Customer)
        .where(*where)
        .order_by(Customer.created_at.desc(), Customer.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return Page(items=list(rows.all()), total=total or 0, request=page)


async def update_customer(
    session: AsyncSession, principal: Principal, customer_id: uuid.UUID, update: CustomerChanges
) -> Customer:
    customer = await get_customer(session, principal, customer_id)
    _apply(customer, principal, update.changes)
    customer.updated_at = clock.now()
    await _flush(session)
    return customer


async def delete_customer(session: AsyncSession, principal: Principal, customer_id: uuid.UUID) -> None:
    """Erase the person: every personal field is emptied; the codes they were given stay theirs
    (never handed to someone else), and the figures keep counting them."""
    customer = await get_customer(session, principal, customer_id)
    for field in (
        "email",
        "email_key",
        "name",
        "forename",
        "surname",
        "mobile",
        "mobile_e164",
        "postcode",
        "external_id",
        "metadata_",
    ):
        setattr(customer, field, None)
    customer.deleted_at = customer.updated_at = clock.now()
    await session.flush()


async def find_or_create(session: AsyncSession, principal: Principal, data: CustomerInput) -> Customer:
    """The customer these details name (:mod:`customers.matching`'s rule), or a new one."""
    email = data.email
    if email:
        try:
            email = rules.normalize_email(email)
        except rules.ContactError as error:
            raise InvalidInput(f"customer.email {error}.", field="customer.email") from None
    checked = Customer(client_id=principal.client_id)  # never added: _apply checks and normalises
    _apply(checked, principal, {**data.__dict__, "email": email})
    if not (checked.email or checked.mobile_e164 or checked.external_id or checked.name):
        raise InvalidInput(
            "customer needs at least an email, a mobile, an external_id or a name.", field="customer"
        )
    person = Person(
        email=checked.email,
        name=checked.name,
        forename=checked.forename,
        surname=checked.surname,
        mobile=checked.mobile,
        mobile_e164=checked.mobile_e164,
        postcode=checked.postcode,
        external_id=checked.external_id,
        metadata=checked.metadata_,
    )
    try:
        async with session.begin_nested():
            [customer_id] = await matching.match_or_create(session, principal.client_id, [person])
    except IntegrityError:
        raise ExternalIdTaken() from None
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    return customer
