"""Our management API: campaigns, codes, vouchers, jobs. Same key and envelope as the checkout."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from voucherd.accounts.permissions import Permission
from voucherd.api.vouchertrack import mappers
from voucherd.api.vouchertrack.auth import AuthenticatedRoute, PrincipalDep, authenticated
from voucherd.api.vouchertrack.schemas import CampaignCreate, CampaignUpdate, GenerateRequest, ReasonRequest
from voucherd.campaigns import service as campaigns
from voucherd.campaigns.schemas import CampaignChanges, CampaignInput, CodeSettings
from voucherd.core.errors import InvalidInput
from voucherd.core.money import Amount
from voucherd.core.pagination import MAX_PAGE, PageRequest
from voucherd.http.idempotency import idempotent
from voucherd.http.responses import JSON
from voucherd.http.routes import permission
from voucherd.http.session import SessionDep
from voucherd.jobs import service as jobs
from voucherd.redemptions import service as redemptions
from voucherd.vouchers import service as vouchers

router = APIRouter(tags=["Management"], route_class=AuthenticatedRoute)

PageDep = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1 to 1,000,000,000")]
LimitDep = Annotated[int, Query(ge=1, le=100, description="Items per page, 1 to 100")]
AfterDep = Annotated[
    str | None,
    Query(description="The next_cursor of the page before: the next page, as fast deep in a list as first"),
]


def _amount(value: object) -> Amount | None:
    return None if value is None else Amount.major(value)  # type: ignore[arg-type]


@router.post(
    "/campaigns",
    status_code=201,
    summary="Create a campaign",
    dependencies=[idempotent(authenticated)],
    responses={409: {"description": "Another campaign has this landing_slug"}},
)
async def create_campaign(body: CampaignCreate, session: SessionDep, principal: PrincipalDep) -> Response:
    """Name, discount, validity and how its codes look. The description is generated when absent."""
    campaign = await campaigns.create_campaign(
        session,
        principal,
        CampaignInput(
            name=body.name,
            discount_type=body.discount_type,
            discount_value=_amount(body.discount_value),
            discount_description=body.discount_description,
            minimum_spend=_amount(body.minimum_spend),
            currency=body.currency,
            valid_from=body.valid_from,
            valid_until=body.valid_until,
            uses_per_voucher=body.uses_per_voucher,
            uses_per_customer=body.uses_per_customer,
            require_customer=body.require_customer,
            codes=CodeSettings(
                pattern=body.code_pattern,
                prefix=body.code_prefix,
                length=body.code_length,
                charset=body.code_charset,
            ),
            status=body.status,
            auto_update=body.auto_update,
            landing_slug=body.landing_slug,
            terms=body.terms,
        ),
    )
    return JSON(mappers.campaign(campaign), status_code=201)


@router.get("/campaigns", summary="List campaigns")
async def list_campaigns(
    session: SessionDep, principal: PrincipalDep, page: PageDep = 1, limit: LimitDep = 10
) -> JSON:
    result = await campaigns.list_campaigns(session, principal, PageRequest(page=page, limit=limit))
    return JSON(mappers.page(result, [mappers.campaign(c) for c in result.items]))


@router.get("/campaigns/{campaign_id}", summary="Get a campaign")
async def get_campaign(campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> JSON:
    return JSON(mappers.campaign(await campaigns.get_campaign(session, principal, campaign_id)))


@router.patch(
    "/campaigns/{campaign_id}",
    summary="Update a campaign",
    responses={409: {"description": "Another campaign has this landing_slug"}},
)
async def update_campaign(
    campaign_id: uuid.UUID, body: CampaignUpdate, session: SessionDep, principal: PrincipalDep
) -> JSON:
    """Send only what changes. Pause with `{"status": "paused"}`."""
    changes = body.model_dump(exclude_unset=True)
    for field in ("discount_value", "minimum_spend"):
        if field in changes:
            changes[field] = _amount(changes[field])
    for field in ("name", "discount_type", "uses_per_voucher", "require_customer", "status", "auto_update"):
        if field in changes and changes[field] is None:
            raise InvalidInput(f"{field} cannot be null.", field=field)
    campaign = await campaigns.update_campaign(session, principal, campaign_id, CampaignChanges(changes))
    return JSON(mappers.campaign(campaign))


@router.delete("/campaigns/{campaign_id}", status_code=204, summary="Delete a campaign")
async def delete_campaign(campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Response:
    """Its codes stop validating; its redemption history is kept."""
    await campaigns.delete_campaign(session, principal, campaign_id)
    return Response(status_code=204)


@router.post(
    "/campaigns/{campaign_id}/vouchers",
    status_code=201,
    summary="Generate codes",
    responses={202: {"description": "More than 1,000 codes: a job makes them; follow it at /api/jobs/{id}"}},
    dependencies=[idempotent(authenticated)],
)
async def generate_vouchers(
    campaign_id: uuid.UUID,
    body: GenerateRequest,
    session: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """Up to 1,000 codes answer at once (201, with the codes); more answer 202 with a job."""
    result = await vouchers.generate_vouchers(session, principal, campaign_id, count=body.count)
    if result.job is not None:
        return JSON(
            {"campaign_id": str(campaign_id), "count": body.count, "job": mappers.job(result.job)},
            status_code=202,
            headers={"Location": f"/api/jobs/{result.job.id}"},
        )
    return JSON(
        {"campaign_id": str(campaign_id), "count": len(result.codes or []), "codes": result.codes},
        status_code=201,
    )


@router.get("/campaigns/{campaign_id}/vouchers", summary="List a campaign's vouchers")
async def list_vouchers(
    campaign_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    redeemed: Annotated[
        bool | None, Query(description="Only redeemed (true) or unredeemed (false) codes")
    ] = None,
    page: PageDep = 1,
    limit: LimitDep = 10,
    after: AfterDep = None,
) -> JSON:
    """Oldest first. Follow `next_cursor` with `after` to walk a long list; `page` works too."""
    campaign, result = await vouchers.list_vouchers(
        session,
        principal,
        campaign_id,
        redeemed=redeemed,
        page=PageRequest(page=page, limit=limit, after=after),
    )
    return JSON(mappers.page(result, [mappers.voucher_summary(v, campaign) for v in result.items]))


@router.get("/vouchers/{code}", summary="Get a voucher")
@permission(Permission.REDEEM)  # counter staff look codes up
async def get_voucher(code: str, session: SessionDep, principal: PrincipalDep) -> JSON:
    """State, uses left and the redemption history, rollbacks included."""
    return JSON(mappers.voucher_details(await vouchers.get_voucher(session, principal, code)))


@router.post("/redemptions/{redemption_id}/rollback", summary="Roll back a redemption by id")
async def rollback_redemption(
    redemption_id: uuid.UUID, body: ReasonRequest, session: SessionDep, principal: PrincipalDep
) -> JSON:
    """The same as `POST /api/webhook/redemption/rollback`, for a redemption known by id."""
    redemption, _ = await redemptions.rollback_redemption(
        session, principal, redemption_id=redemption_id, reason=body.reason
    )
    return JSON(
        {
            "success": True,
            "voucher_code": redemption.code,
            "redemption": mappers.redemption_record(redemption),
        }
    )


@router.get("/jobs/{job_id}", summary="Follow a background job")
async def get_job(job_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> JSON:
    return JSON(mappers.job(await jobs.get_job(session, principal, job_id)))
