"""The one place that decides who a person is: every caller that names someone (a recipient
upload, a landing-page lead, an inline customer on a publication, soon a gift order) gets the
existing customer or a new one from :func:`match_or_create`, so the rule is written once.

The rule: an external id, when given, decides (the client's own CRM key: two people may share a
family email); otherwise the oldest live customer with the same email, otherwise with the same
mobile. People repeated in one call share one customer. Erased customers never match."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.core.ids import new_id
from voucherd.customers import rules
from voucherd.customers.errors import CustomerNotFound
from voucherd.customers.schemas import Person
from voucherd.db import bulk
from voucherd.models import Customer

_customers = cast(Table, Customer.__table__)


def _key(person: Person) -> tuple[str, str] | None:
    """What identifies the person, by the rule above (``None``: nothing does)."""
    if person.external_id:
        return ("external_id", person.external_id)
    if person.email:
        return ("email_key", rules.email_key(person.email))
    if person.mobile_e164:
        return ("mobile_e164", person.mobile_e164)
    return None


async def _existing(
    session: AsyncSession, client_id: uuid.UUID, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], uuid.UUID]:
    found: dict[tuple[str, str], uuid.UUID] = {}
    for column_name in ("external_id", "email_key", "mobile_e164"):
        values = [value for kind, value in keys if kind == column_name]
        if not values:
            continue
        column = _customers.c[column_name]
        # Newest first, so that the oldest customer with an email or a mobile wins.
        query = (
            select(_customers.c.id, column)
            .where(_customers.c.client_id == client_id, _customers.c.deleted_at.is_(None))
            .order_by(_customers.c.created_at.desc())
        )
        found.update(
            ((column_name, getattr(row, column_name)), row.id)
            for row in await bulk.select_matching(session, query, column, values)
        )
    return found


async def match_or_create(
    session: AsyncSession, client_id: uuid.UUID, people: Sequence[Person]
) -> list[uuid.UUID]:
    """The customer id of each person, in order: matched by the rule above, created when none
    matches (in bulk: thousands of rows cost a few statements). The same external id created by
    a concurrent transaction raises :class:`IntegrityError`: what that means is the caller's
    (a concurrent upload, a taken id)."""
    keys = [_key(person) for person in people]
    known = await _existing(session, client_id, {key for key in keys if key is not None})
    now = clock.now()
    new_rows: list[dict[str, Any]] = []
    result: list[uuid.UUID] = []
    for person, key in zip(people, keys, strict=True):
        customer_id = known.get(key) if key is not None else None
        if customer_id is None:
            customer_id = new_id()
            new_rows.append(_row(client_id, customer_id, person, now))
            if key is not None:
                known[key] = customer_id
        result.append(customer_id)
    await bulk.insert_rows(session, _customers, new_rows)
    return result


def _row(client_id: uuid.UUID, customer_id: uuid.UUID, person: Person, now: Any) -> dict[str, Any]:
    name = person.name or " ".join(p for p in (person.forename, person.surname) if p) or None
    return {
        "id": customer_id,
        "client_id": client_id,
        "email": person.email,
        "email_key": rules.email_key(person.email) if person.email else None,
        "name": name,
        "forename": person.forename,
        "surname": person.surname,
        "mobile": person.mobile,
        "mobile_e164": person.mobile_e164,
        "postcode": person.postcode,
        "external_id": person.external_id,
        "metadata": person.metadata,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }


async def for_redemption(session: AsyncSession, client_id: uuid.UUID, reference: str) -> uuid.UUID:
    """The customer a redemption names, by our customer id or by email (as Voucherify's
    redemptions do): an id must be the client's live customer; an email is matched by the rule
    above, and a new customer made when none matches. Two first redemptions by one new email at
    once make one customer: on PostgreSQL a transaction lock on the email serializes them (on
    SQLite the write transaction already does)."""
    reference = reference.strip()
    try:
        customer_id = uuid.UUID(reference)
    except ValueError:
        pass
    else:
        found = await session.scalar(
            select(_customers.c.id).where(
                _customers.c.id == customer_id,
                _customers.c.client_id == client_id,
                _customers.c.deleted_at.is_(None),
            )
        )
        if found is None:
            raise CustomerNotFound("No customer of yours has this id; name the customer by email instead.")
        return customer_id
    try:
        email = rules.normalize_email(reference)
    except rules.ContactError as error:
        raise InvalidInput(
            f"customer must be an email or a customer id: {reference[:100]!r} {error}.", field="customer"
        ) from None
    if session.get_bind().dialect.name == "postgresql":
        lock_key = f"customer:{client_id}:{rules.email_key(email)}"
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(lock_key, 0))))
    [customer_id] = await match_or_create(session, client_id, [Person(email=email)])
    return customer_id
