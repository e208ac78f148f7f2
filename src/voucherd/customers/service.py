"""Customers: the people a client hands codes to (recipients are customers)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.core.metadata import checked as checked_metadata
from voucherd.core.pagination import Page, PageRequest, keyset_page, time_position
from voucherd.customers import matching, rules
from voucherd.customers.errors import CustomerNotFound, ExternalIdTaken
from voucherd.customers.schemas import CustomerChanges, CustomerFilter, CustomerInput, Person
from voucherd.models import ClientFigures, Customer

_LIMITS = {
    "name": 200,
    "forename": 100,
    "surname": 100,
    "postcode": 20,
    "external_id": 200,
    "phone": 60,
    "description": 1000,
    "address_line_1": 200,
    "address_line_2": 200,
    "city": 100,
    "state": 100,
    "country": 100,
}
_PROFILE_TEXT = ("phone", "description", "address_line_1", "address_line_2", "city", "state", "country")
# Erasure empties every one of these.
_PERSONAL = (
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
    *_PROFILE_TEXT,
    "birthdate",
)
_ORDER = {
    "created_at": Customer.created_at,
    "updated_at": Customer.updated_at,
    "external_id": Customer.external_id,
}


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
    for field in ("forename", "surname", "postcode", "external_id", *_PROFILE_TEXT):
        if field in values:
            setattr(customer, field, _text(field, values[field]))
    if "name" in values:
        customer.name = _text("name", values["name"])
    if not customer.name and (customer.forename or customer.surname):
        customer.name = " ".join(p for p in (customer.forename, customer.surname) if p)
    if "birthdate" in values:
        customer.birthdate = values["birthdate"]
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
    try:
        async with session.begin_nested():  # added inside: only this insert is undone
            session.add(customer)
            await session.flush()
    except IntegrityError:
        raise ExternalIdTaken() from None
    return customer


async def get_customer(session: AsyncSession, principal: Principal, customer_id: uuid.UUID) -> Customer:
    """The caller's customer; another client's (or an erased one) is not found."""
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.client_id != principal.client_id or customer.deleted_at:
        raise CustomerNotFound()
    return customer


async def list_customers(
    session: AsyncSession,
    principal: Principal,
    page: PageRequest,
    *,
    email: str | None = None,
    where: CustomerFilter | None = None,
) -> Page[Customer]:
    """The client's customers (erased ones never), filtered and ordered as ``where`` says, by
    ``page`` or, ordered by a time, after a cursor (``page.after``, the ``next_cursor`` of the page
    before); with no filter the total is the kept count, so neither costs a scan."""
    where = where or CustomerFilter(email=email)
    conditions = [Customer.client_id == principal.client_id, Customer.deleted_at.is_(None)]
    if where.email and where.email.strip():
        conditions.append(Customer.email_key == rules.email_key(where.email.strip()))
    if where.name and where.name.strip():
        conditions.append(func.lower(Customer.name) == where.name.strip().lower())
    if where.city and where.city.strip():
        conditions.append(func.lower(Customer.city) == where.city.strip().lower())
    if where.created_before is not None:
        conditions.append(Customer.created_at < where.created_before)
    if where.created_after is not None:
        conditions.append(Customer.created_at > where.created_after)
    if where.updated_before is not None:
        conditions.append(Customer.updated_at < where.updated_before)
    if where.updated_after is not None:
        conditions.append(Customer.updated_at > where.updated_after)
    column = _ORDER.get(where.order.removeprefix("-"))
    if column is None:
        choices = ", ".join(sorted(_ORDER))
        raise InvalidInput(f"order must be one of {choices}, - first to descend.", field="order")
    descending = where.order.startswith("-")
    if where == CustomerFilter(order=where.order):  # all of them: the kept count, no scan
        total = await session.scalar(
            select(func.coalesce(func.sum(ClientFigures.customers), 0)).where(
                ClientFigures.client_id == principal.client_id
            )
        )
    else:
        total = await session.scalar(select(func.count()).select_from(Customer).where(*conditions))
    query = (
        select(Customer)
        .where(*conditions)
        .order_by(*((column.desc(), Customer.id.desc()) if descending else (column.asc(), Customer.id)))
        .limit(page.limit + 1)
    )
    if page.after is None:
        query = query.offset(page.offset)
    elif column is Customer.external_id:  # may be empty: no position to continue from
        raise InvalidInput("after works with order created_at or updated_at.", field="after")
    else:
        position = tuple_(column, Customer.id)
        query = query.where(
            position < time_position(page.after) if descending else position > time_position(page.after)
        )
    rows = list((await session.scalars(query)).all())
    if column is Customer.external_id:
        return Page(items=rows[: page.limit], total=total or 0, request=page)
    return keyset_page(rows, page, total or 0, lambda item: (getattr(item, column.key), item.id))


async def find_by_external_id(session: AsyncSession, principal: Principal, external_id: str) -> Customer:
    """The caller's customer with this ``external_id``; not found otherwise."""
    found = await session.scalar(
        select(Customer).where(
            Customer.client_id == principal.client_id,
            Customer.external_id == external_id.strip(),
            Customer.deleted_at.is_(None),
        )
    )
    if found is None:
        raise CustomerNotFound()
    return found


async def upsert_customer(session: AsyncSession, principal: Principal, changes: dict[str, Any]) -> Customer:
    """The customer with ``changes["external_id"]``, given the other fields named (fields not
    named keep their value), or a new customer when there is none (or no external_id). Two
    upserts racing for one new external_id both end on the same customer."""
    CustomerChanges(changes)  # only known fields
    external_id = _text("external_id", changes.get("external_id"))
    for _attempt in range(2):
        if external_id:
            try:
                customer = await find_by_external_id(session, principal, external_id)
            except CustomerNotFound:
                pass
            else:
                _apply(customer, principal, changes)
                customer.updated_at = clock.now()
                await _flush(session)
                return customer
        customer = Customer(client_id=principal.client_id)
        _apply(customer, principal, changes)
        try:
            # Added inside the savepoint (begin_nested flushes what is pending before it opens):
            # a unique key met here undoes only this insert.
            async with session.begin_nested():
                session.add(customer)
                await session.flush()
        except IntegrityError:
            if not external_id:
                raise ExternalIdTaken() from None
            continue  # created meanwhile by another request: update that one
        return customer
    raise ExternalIdTaken()


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
    for field in _PERSONAL:
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
