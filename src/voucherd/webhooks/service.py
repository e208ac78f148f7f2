"""Webhook endpoints: register, change, rotate the secret, remove; the delivery log; redelivery."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.config import get_settings
from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.core.pagination import Page, PageRequest, keyset_page, time_position
from voucherd.events.service import EVENT_TYPES
from voucherd.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from voucherd.webhooks import network, payloads, rules
from voucherd.webhooks.errors import DeliveryNotFound, EndpointNotFound
from voucherd.webhooks.schemas import CreatedEndpoint, EndpointChanges, EndpointInput, RotatedSecret

ALL_EVENTS = "*"
MAX_NAME_LENGTH = 200
MAX_ENDPOINTS_PER_CLIENT = 100


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_NAME_LENGTH:
        raise InvalidInput(f"name must be 1 to {MAX_NAME_LENGTH} characters.", field="name")
    return value.strip()


def event_list(values: Any) -> list[str]:
    """Known event types (or ``*`` for all, including types added later), without repeats."""
    if not isinstance(values, list) or not values:
        raise InvalidInput(
            'events must be a non-empty list of event types, such as ["voucher.redeemed"], or ["*"].',
            field="events",
        )
    chosen: list[str] = []
    for value in values:
        if not isinstance(value, str) or (value != ALL_EVENTS and value not in EVENT_TYPES):
            raise InvalidInput(
                f"events: {value!r} is not an event type; use one of {', '.join(EVENT_TYPES)}, or *.",
                field="events",
            )
        if value not in chosen:
            chosen.append(value)
    return chosen


async def _checked_url(url: Any) -> str:
    if not isinstance(url, str):
        raise InvalidInput("url must be a string.", field="url")
    allowed = rules.allowed_networks(get_settings().webhook_allowed_cidrs)
    return await network.check_url(url, allowed)


async def create_endpoint(
    session: AsyncSession, principal: Principal, data: EndpointInput
) -> CreatedEndpoint:
    """A new endpoint with its own signing secret (returned once). Its URL must be public."""
    name = _name(data.name)
    events = event_list(data.events)
    url = await _checked_url(data.url)
    if data.payload_format not in payloads.FORMATS:
        raise InvalidInput(f"Unknown payload format {data.payload_format!r}.", field="payload_format")
    count = await session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.client_id == principal.client_id)
    )
    if (count or 0) >= MAX_ENDPOINTS_PER_CLIENT:
        raise InvalidInput(f"A client can have at most {MAX_ENDPOINTS_PER_CLIENT} webhooks.")
    now = clock.now()
    secret = rules.new_secret()
    endpoint = WebhookEndpoint(
        client_id=principal.client_id,
        name=name,
        url=url,
        events=events,
        enabled=data.enabled,
        payload_format=data.payload_format,
        secret=secret,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    return CreatedEndpoint(endpoint=endpoint, secret=secret)


async def list_endpoints(
    session: AsyncSession, principal: Principal, page: PageRequest
) -> Page[WebhookEndpoint]:
    scope = WebhookEndpoint.client_id == principal.client_id
    total = await session.scalar(select(func.count()).select_from(WebhookEndpoint).where(scope))
    items = (
        await session.scalars(
            select(WebhookEndpoint)
            .where(scope)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
            .offset(page.offset)
            .limit(page.limit)
        )
    ).all()
    return Page(items=items, total=total or 0, request=page)


async def get_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.client_id != principal.client_id:
        raise EndpointNotFound()
    return endpoint


async def update_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, changes: EndpointChanges
) -> WebhookEndpoint:
    """Change name, URL, events or enabled. Enabling again clears the failure clock."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    values = changes.values
    if "name" in values:
        endpoint.name = _name(values["name"])
    if "events" in values:
        endpoint.events = event_list(values["events"])
    if "url" in values:
        endpoint.url = await _checked_url(values["url"])
    if "enabled" in values:
        if not isinstance(values["enabled"], bool):
            raise InvalidInput("enabled must be true or false.", field="enabled")
        if values["enabled"] and not endpoint.enabled:
            endpoint.failing_since = None
            endpoint.disabled_at = None
            endpoint.disabled_reason = None
        elif not values["enabled"] and endpoint.enabled:
            endpoint.disabled_at = clock.now()
            endpoint.disabled_reason = "Disabled by the client."
        endpoint.enabled = values["enabled"]
    endpoint.updated_at = clock.now()
    await session.flush()
    return endpoint


async def delete_endpoint(session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID) -> None:
    """Removes the endpoint with its pending deliveries and its log."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, overlap_hours: float | None = None
) -> RotatedSecret:
    """A new secret (returned once). The old one keeps signing beside it for the overlap, so
    receivers can switch without losing a delivery."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    hours = get_settings().webhook_rotation_overlap_hours if overlap_hours is None else overlap_hours
    if not 0 <= hours <= 24 * 7:
        raise InvalidInput("overlap_hours must be between 0 and 168.", field="overlap_hours")
    now = clock.now()
    secret = rules.new_secret()
    endpoint.previous_secret = endpoint.secret if hours > 0 else None
    endpoint.previous_secret_expires_at = now + timedelta(hours=hours) if hours > 0 else None
    endpoint.secret = secret
    endpoint.updated_at = now
    await session.flush()
    return RotatedSecret(endpoint=endpoint, secret=secret)


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The current secret, then the previous one while its overlap lasts."""
    result = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and clock.now() < expires:
        result.append(endpoint.previous_secret)
    return result


async def list_attempts(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, page: PageRequest
) -> Page[tuple[WebhookAttempt, WebhookDelivery]]:
    """The delivery log of one endpoint, newest first, by ``page`` or after a cursor."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    scope = WebhookAttempt.endpoint_id == endpoint.id
    total = await session.scalar(select(func.count()).select_from(WebhookAttempt).where(scope))
    query = (
        select(WebhookAttempt, WebhookDelivery)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(scope)
        .order_by(WebhookAttempt.created_at.desc(), WebhookAttempt.id.desc())
        .limit(page.limit + 1)
    )
    if page.after is None:
        query = query.offset(page.offset)
    else:
        query = query.where(tuple_(WebhookAttempt.created_at, WebhookAttempt.id) < time_position(page.after))
    rows = [(row[0], row[1]) for row in (await session.execute(query)).all()]
    return keyset_page(rows, page, total or 0, lambda item: (item[0].created_at, item[0].id))


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    page: PageRequest,
    *,
    status: str | None = None,
) -> Page[WebhookDelivery]:
    """One endpoint's deliveries (one per event), newest first, by ``page`` or after a cursor."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    conditions = [WebhookDelivery.endpoint_id == endpoint.id]
    if status is not None:
        conditions.append(WebhookDelivery.status == status)
    total = await session.scalar(select(func.count()).select_from(WebhookDelivery).where(*conditions))
    query = (
        select(WebhookDelivery)
        .where(*conditions)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(page.limit + 1)
    )
    if page.after is None:
        query = query.offset(page.offset)
    else:
        query = query.where(
            tuple_(WebhookDelivery.created_at, WebhookDelivery.id) < time_position(page.after)
        )
    rows = list((await session.scalars(query)).all())
    return keyset_page(rows, page, total or 0, lambda item: (item.created_at, item.id))


async def redeliver(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send a delivery again now, with the same event id and body (a delivered or given-up one
    too). A delivery being sent right now is left to finish."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise DeliveryNotFound()
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id, WebhookDelivery.status != "sending")
        .values(status="pending", next_attempt_at=clock.now(), lease_until=None)
    )
    await session.refresh(delivery)
    return delivery
