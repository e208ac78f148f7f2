"""Outbound webhooks, as VoucherTrack documents them (seed 000), with management around them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field

from voucherd.api.vouchertrack import mappers
from voucherd.api.vouchertrack.auth import AdministeredRoute, PrincipalDep, authenticated
from voucherd.api.vouchertrack.management import AfterDep
from voucherd.api.vouchertrack.schemas import Body
from voucherd.core.pagination import MAX_PAGE, PageRequest
from voucherd.http.ratelimit import rate_limit
from voucherd.http.responses import JSON
from voucherd.http.session import SessionDep
from voucherd.webhooks import service as webhooks
from voucherd.webhooks.schemas import EndpointChanges, EndpointInput

router = APIRouter(
    prefix="/integrations/webhooks",
    tags=["Webhooks"],
    route_class=AdministeredRoute,
    dependencies=[rate_limit("webhooks", per=authenticated)],
    responses={429: {"description": 'Over the limit: `{"code": 429, "message": ...}` and `Retry-After`'}},
)

PageDep = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1 to 1,000,000,000")]
LimitDep = Annotated[int, Query(ge=1, le=100, description="Items per page, 1 to 100")]


class WebhookCreate(Body):
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["Zapier - New Leads"])]
    url: Annotated[str, Field(min_length=1, max_length=2048)]
    events: Annotated[list[str], Field(examples=[["lead.captured", "voucher.redeemed"]])]
    enabled: bool = True


class WebhookUpdate(Body):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    events: list[str] | None = None
    enabled: bool | None = None


class RotateRequest(Body):
    overlap_hours: Annotated[float, Field(ge=0, le=168)] | None = Field(
        default=None, description="How long the old secret keeps signing (default 24)"
    )


@router.get("", summary="List webhooks")
async def list_webhooks(
    session: SessionDep, principal: PrincipalDep, page: PageDep = 1, limit: LimitDep = 100
) -> JSON:
    result = await webhooks.list_endpoints(session, principal, PageRequest(page=page, limit=limit))
    return JSON(mappers.page(result, [mappers.webhook(e) for e in result.items]))


@router.post("", status_code=201, summary="Create a webhook")
async def create_webhook(body: WebhookCreate, session: SessionDep, principal: PrincipalDep) -> JSON:
    """`name`, `url` (public https, or http) and `events` (or `["*"]` for all). The answer carries
    the signing `secret`, shown this once."""
    created = await webhooks.create_endpoint(
        session,
        principal,
        EndpointInput(name=body.name, url=body.url, events=body.events, enabled=body.enabled),
    )
    return JSON({**mappers.webhook(created.endpoint), "secret": created.secret}, status_code=201)


@router.get("/{webhook_id}", summary="Get a webhook")
async def get_webhook(webhook_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> JSON:
    return JSON(mappers.webhook(await webhooks.get_endpoint(session, principal, webhook_id)))


@router.patch("/{webhook_id}", summary="Update a webhook")
async def update_webhook(
    webhook_id: uuid.UUID, body: WebhookUpdate, session: SessionDep, principal: PrincipalDep
) -> JSON:
    """Send only what changes: `name`, `url`, `events`, `enabled` (true again after a disable)."""
    changes: dict[str, Any] = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    endpoint = await webhooks.update_endpoint(session, principal, webhook_id, EndpointChanges(changes))
    return JSON(mappers.webhook(endpoint))


@router.delete("/{webhook_id}", status_code=204, summary="Delete a webhook")
async def delete_webhook(webhook_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Response:
    """Its pending deliveries are dropped with it."""
    await webhooks.delete_endpoint(session, principal, webhook_id)
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate-secret", summary="Rotate the signing secret")
async def rotate_secret(
    webhook_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, body: RotateRequest | None = None
) -> JSON:
    """A new `secret`, shown once. The old one signs beside it until `previous_secret_expires_at`."""
    rotated = await webhooks.rotate_secret(
        session, principal, webhook_id, overlap_hours=body.overlap_hours if body else None
    )
    return JSON({**mappers.webhook(rotated.endpoint), "secret": rotated.secret})


@router.get("/{webhook_id}/deliveries", summary="A webhook's deliveries")
async def list_deliveries(
    webhook_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    status: Literal["pending", "sending", "succeeded", "failed"] | None = None,
    page: PageDep = 1,
    limit: LimitDep = 10,
    after: AfterDep = None,
) -> JSON:
    """One per event, newest first, with its state, attempts and next attempt; `after` (a
    `next_cursor`) goes on from the page before."""
    result = await webhooks.list_deliveries(
        session, principal, webhook_id, PageRequest(page=page, limit=limit, after=after), status=status
    )
    return JSON(mappers.page(result, [mappers.webhook_delivery(d) for d in result.items]))


@router.get("/{webhook_id}/attempts", summary="A webhook's delivery log")
async def list_attempts(
    webhook_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep = 1,
    limit: LimitDep = 10,
    after: AfterDep = None,
) -> JSON:
    """Every attempt, newest first: status, response code, duration, attempt number; `after` (a
    `next_cursor`) goes on from the page before."""
    request = PageRequest(page=page, limit=limit, after=after)
    result = await webhooks.list_attempts(session, principal, webhook_id, request)
    return JSON(mappers.page(result, [mappers.webhook_attempt(a, d) for a, d in result.items]))


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=202, summary="Send a delivery again"
)
async def redeliver(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> JSON:
    """Queued at once, with the same event id and body."""
    delivery = await webhooks.redeliver(session, principal, webhook_id, delivery_id)
    return JSON(mappers.webhook_delivery(delivery), status_code=202)
