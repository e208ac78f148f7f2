"""Seed 000's integration API: recipient upload, mail-merge export, inbound email tracking."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from voucherd.api.vouchertrack import mappers
from voucherd.api.vouchertrack.auth import AuthenticatedRoute, PrincipalDep, authenticated
from voucherd.api.vouchertrack.schemas import RecipientUpload
from voucherd.campaigns.service import get_campaign
from voucherd.core.clock import isoformat_z
from voucherd.core.money import Amount
from voucherd.db import get_database
from voucherd.http.boundary import body_limit
from voucherd.http.idempotency import idempotent
from voucherd.http.ratelimit import rate_limit
from voucherd.http.responses import JSON
from voucherd.http.session import SessionDep, writes
from voucherd.recipients import export
from voucherd.recipients import service as recipients
from voucherd.recipients.schemas import RecipientInput, UploadInput
from voucherd.tracking import service as tracking
from voucherd.tracking.service import Signal

# 10,000 recipients of up to about 1.6 kB each (names, email, mobile, ids); other routes take 1 MB.
UPLOAD_BODY_LIMIT = 16_000_000

router = APIRouter(prefix="/integrations", tags=["Integrations"], route_class=AuthenticatedRoute)


@router.post(
    "/campaigns/{campaign_id}/recipients",
    status_code=201,
    summary="Upload recipients and get a code each",
    responses={200: {"description": "Every recipient was uploaded before: their codes, nothing new"}},
    dependencies=[rate_limit("recipient_upload", per=authenticated), idempotent(authenticated)],
)
@body_limit(UPLOAD_BODY_LIMIT)
async def upload_recipients(
    campaign_id: uuid.UUID,
    body: RecipientUpload,
    session: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """Up to 10,000 recipients per request, each with an email or a mobile. Each gets a unique code,
    a redemption URL and a QR code of it. A recipient uploaded before (same `external_id`, else
    same email) gets their existing code back; `total_created` counts only new ones. A request with
    any bad row creates nothing and lists every problem in `errors` (index, field, reason)."""
    result = await recipients.upload(
        session,
        principal,
        campaign_id,
        UploadInput(
            recipients=[RecipientInput(**row.model_dump()) for row in body.recipients],
            discount_type=body.discount_type,
            discount_value=None if body.discount_value is None else Amount.major(body.discount_value),
            discount_description=body.discount_description,
            code_prefix=body.code_prefix,
        ),
    )
    return JSON(mappers.upload(result), status_code=201 if result.total_created else 200)


@router.get(
    "/campaigns/{campaign_id}/recipients/export",
    summary="Export recipients as CSV for mail merge",
    response_class=StreamingResponse,
    dependencies=[rate_limit("export", per=authenticated)],
    responses={200: {"content": {"text/csv": {}}, "description": "CSV, streamed"}},
)
@writes
async def export_recipients(campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Response:
    """Columns `email, forename, voucher_code, redemption_url, redeemed, opened_at, clicked_at`,
    then the other recipient fields and the tracking links. Cells that a spreadsheet would run as
    a formula start with `'`. Exporting publishes the codes (channel `export`)."""
    campaign = await get_campaign(session, principal, campaign_id)
    await export.record_export(session, principal.client_id, campaign.id)
    # The rows stream after this transaction has committed, each chunk in a read of its own.
    return StreamingResponse(
        export.stream_csv(get_database(), principal.client_id, campaign.id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="recipients-{campaign.id}.csv"'},
    )


async def _track(
    session: SessionDep, principal: PrincipalDep, recipient_id: uuid.UUID, signal: Signal
) -> JSON:
    result = await tracking.track(session, recipient_id, signal, client_id=principal.client_id)
    return JSON(
        {
            "success": True,
            "recipient_id": str(result.recipient_id),
            "event": f"email.{signal.value}",
            "recorded": result.recorded,
            "opened_at": isoformat_z(result.opened_at) if result.opened_at else None,
            "clicked_at": isoformat_z(result.clicked_at) if result.clicked_at else None,
            "bounced_at": isoformat_z(result.bounced_at) if result.bounced_at else None,
        }
    )


RecipientId = Annotated[uuid.UUID, Query(description="The recipient_id returned by the upload")]


_UNKNOWN_RECIPIENT: dict[int | str, dict[str, object]] = {
    404: {"description": "No recipient of yours has this id"}
}


@router.post("/tracking/email-opened", summary="An email was opened", responses=_UNKNOWN_RECIPIENT)
async def email_opened(recipient_id: RecipientId, session: SessionDep, principal: PrincipalDep) -> JSON:
    """Records the first open; repeats change nothing (`recorded: false`)."""
    return await _track(session, principal, recipient_id, Signal.OPENED)


@router.post(
    "/tracking/email-clicked", summary="A link in an email was clicked", responses=_UNKNOWN_RECIPIENT
)
async def email_clicked(recipient_id: RecipientId, session: SessionDep, principal: PrincipalDep) -> JSON:
    """Records the first click (and an open, if none was recorded)."""
    return await _track(session, principal, recipient_id, Signal.CLICKED)


@router.post("/tracking/email-bounced", summary="An email bounced", responses=_UNKNOWN_RECIPIENT)
async def email_bounced(recipient_id: RecipientId, session: SessionDep, principal: PrincipalDep) -> JSON:
    return await _track(session, principal, recipient_id, Signal.BOUNCED)
