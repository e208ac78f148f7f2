"""Our management API for distribution: customers, publications, campaign figures."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from voucherd.api.vouchertrack import mappers
from voucherd.api.vouchertrack.auth import AuthenticatedRoute, PrincipalDep, authenticated
from voucherd.api.vouchertrack.management import AfterDep
from voucherd.api.vouchertrack.schemas import CustomerBody, PublicationCreate
from voucherd.campaigns import service as campaigns
from voucherd.campaigns.errors import CampaignNotFound
from voucherd.core.errors import InvalidInput
from voucherd.core.pagination import MAX_PAGE, PageRequest
from voucherd.customers import service as customers
from voucherd.customers.schemas import CustomerChanges, CustomerInput
from voucherd.http.idempotency import idempotent
from voucherd.http.responses import JSON
from voucherd.http.session import SessionDep
from voucherd.publications import service as publications
from voucherd.publications.schemas import CustomerRef, PublishInput
from voucherd.stats import service as stats

router = APIRouter(tags=["Distribution"], route_class=AuthenticatedRoute)

PageDep = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1 to 1,000,000,000")]
LimitDep = Annotated[int, Query(ge=1, le=100, description="Items per page, 1 to 100")]


def _customer_input(body: CustomerBody) -> CustomerInput:
    return CustomerInput(**body.model_dump())


@router.post(
    "/customers",
    status_code=201,
    summary="Create a customer",
    dependencies=[idempotent(authenticated)],
    responses={409: {"description": "Another customer has this external_id"}},
)
async def create_customer(body: CustomerBody, session: SessionDep, principal: PrincipalDep) -> Response:
    """`email`, `name` (or `forename`/`surname`), `mobile`, `postcode`, `external_id`, `metadata`."""
    customer = await customers.create_customer(session, principal, _customer_input(body))
    return JSON(mappers.customer(customer), status_code=201)


@router.get("/customers", summary="List customers")
async def list_customers(
    session: SessionDep,
    principal: PrincipalDep,
    email: Annotated[str | None, Query(description="Only the customers with this email")] = None,
    page: PageDep = 1,
    limit: LimitDep = 10,
    after: AfterDep = None,
) -> JSON:
    """Newest first; `after` (a `next_cursor`) goes on from the page before."""
    result = await customers.list_customers(
        session, principal, PageRequest(page=page, limit=limit, after=after), email=email
    )
    return JSON(mappers.page(result, [mappers.customer(c) for c in result.items]))


@router.get("/customers/{customer_id}", summary="Get a customer")
async def get_customer(customer_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> JSON:
    return JSON(mappers.customer(await customers.get_customer(session, principal, customer_id)))


@router.patch(
    "/customers/{customer_id}",
    summary="Update a customer",
    responses={409: {"description": "Another customer has this external_id"}},
)
async def update_customer(
    customer_id: uuid.UUID, body: CustomerBody, session: SessionDep, principal: PrincipalDep
) -> JSON:
    """Send only what changes; `null` clears a field."""
    changes = CustomerChanges(body.model_dump(exclude_unset=True))
    return JSON(mappers.customer(await customers.update_customer(session, principal, customer_id, changes)))


@router.delete("/customers/{customer_id}", status_code=204, summary="Delete (erase) a customer")
async def delete_customer(customer_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Response:
    """Their personal fields are erased; the codes they were given are never given to anyone else."""
    await customers.delete_customer(session, principal, customer_id)
    return Response(status_code=204)


async def _campaign_id(
    session: SessionDep, principal: PrincipalDep, body: PublicationCreate
) -> uuid.UUID | None:
    ref = body.campaign
    if ref is None:
        return None
    if ref.id is not None:
        try:
            return uuid.UUID(str(ref.id))
        except ValueError:
            raise CampaignNotFound() from None
    return await campaigns.campaign_named(session, principal, ref.name or "")


@router.post(
    "/publications",
    status_code=201,
    summary="Publish codes to a customer",
    dependencies=[idempotent(authenticated)],
    responses={
        404: {"description": "No such code or campaign of yours"},
        409: {"description": "The code went to another customer, or the pool is empty"},
    },
)
async def create_publication(
    body: PublicationCreate, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Publish a specific code (`voucher`) or `count` codes from a campaign's pool (`campaign`) to a
    customer (an id, or details: found by `external_id`/email, else created). A code is never
    published to two customers (409 `voucher_already_published`); an empty pool is a 409
    `campaign_pool_exhausted`, unless the campaign has `auto_update`, which makes new codes."""
    if isinstance(body.customer, str):
        try:
            ref = CustomerRef(id=uuid.UUID(body.customer))
        except ValueError:
            raise InvalidInput("customer must be a customer id or an object.", field="customer") from None
    else:
        ref = CustomerRef(data=_customer_input(body.customer))
    result = await publications.publish(
        session,
        principal,
        PublishInput(
            customer=ref,
            code=body.voucher,
            campaign_id=await _campaign_id(session, principal, body),
            count=body.campaign.count if body.campaign else 1,
            channel=body.channel or "API",
            metadata=body.metadata,
        ),
    )
    return JSON(mappers.publication(result), status_code=201)


@router.get("/campaigns/{campaign_id}/publications", summary="A campaign's publication history")
async def campaign_publications(
    campaign_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep = 1,
    limit: LimitDep = 10,
    after: AfterDep = None,
) -> JSON:
    """Who got which code, when, and through which channel; newest first. Follow `next_cursor`
    with `after` to walk a long history; `page` works too."""
    result = await publications.history_for_campaign(
        session, principal, campaign_id, PageRequest(page=page, limit=limit, after=after)
    )
    return JSON(mappers.page(result, [mappers.publication_entry(e) for e in result.items]))


@router.get("/vouchers/{code}/publications", summary="A code's publication history")
async def voucher_publications(
    code: str,
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep = 1,
    limit: LimitDep = 10,
    after: AfterDep = None,
) -> JSON:
    result = await publications.history_for_code(
        session, principal, code, PageRequest(page=page, limit=limit, after=after)
    )
    return JSON(mappers.page(result, [mappers.publication_entry(e) for e in result.items]))


@router.get("/campaigns/{campaign_id}/stats", summary="Campaign figures")
async def campaign_stats(campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> JSON:
    """Codes issued and published; recipients' opens, clicks and bounces; landing-page leads and
    referrals; redemptions online and in store (rolled-back ones left out); the redemption rate
    (codes redeemed / codes published, or / issued when none were published); revenue (sum of
    transaction amounts) and discount given, in the campaign's currency."""
    return JSON(mappers.stats(await stats.campaign_stats(session, principal, campaign_id)))
