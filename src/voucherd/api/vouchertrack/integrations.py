"""Seed 000's integration API: recipient upload, mail-merge export, inbound email tracking."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from voucherd.api.vouchertrack.auth import PrincipalDep, authenticated
from voucherd.api.vouchertrack.schemas import RecipientUpload
from voucherd.campaigns.service import get_campaign
from voucherd.core import links, qr
from voucherd.core.clock import isoformat_z
from voucherd.core.money import Amount
from voucherd.db import get_database, unit_of_work
from voucherd.http.idempotency import IdempotentRoute, idempotent
from voucherd.http.ratelimit import rate_limit
from voucherd.http.responses import JSON
from voucherd.http.session import SessionDep
from voucherd.recipients import export
from voucherd.recipients import service as recipients
from voucherd.recipients.schemas import RecipientInput, UploadInput
from voucherd.tracking import service as tracking
from voucherd.tracking.service import Signal

router = APIRouter(prefix="/integrations", tags=["Integrations"], route_class=IdempotentRoute)


@router.post(
    "/campaigns/{campaign_id}/recipients",
    status_code=201,
    summary="Upload recipients and get a code each",
    responses={200: {"description": "Every recipient was uploaded before: their codes, nothing new"}},
    dependencies=[rate_limit("recipient_upload", per=authenticated), idempotent(authenticated)],
)
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
    # The QR codes of new codes are encoded (in worker processes) while the upload writes
    # its rows, not after: they are most of a large upload's time.
    early: list[tuple[list[str], asyncio.Task[list[str]]]] = []

    def encode_early(codes: list[str]) -> None:
        early.append((codes, asyncio.ensure_future(_encode(codes))))

    try:
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
            on_issued=encode_early,
        )
    except BaseException:
        for _, task in early:
            task.cancel()
        raise
    qr_codes = await _qr_codes([item.voucher_code for item in result.recipients], early)
    urls = [links.redemption_url(item.voucher_code) for item in result.recipients]
    items: list[dict[str, Any]] = [
        {
            "recipient_id": str(item.recipient_id),
            "voucher_id": str(item.voucher_id),
            "voucher_code": item.voucher_code,
            "redemption_url": url,
            "qr_code_url": qr_code,
            "email": item.email,
            "external_id": item.external_id,
            "created": item.created,
            "tracking_pixel_url": links.pixel_url(item.recipient_id),
            "click_tracking_url": links.click_url(item.recipient_id),
        }
        for item, url, qr_code in zip(result.recipients, urls, qr_codes, strict=True)
    ]
    return JSON(
        {"success": True, "total_created": result.total_created, "recipients": items},
        status_code=201 if result.total_created else 200,
    )


async def _encode(codes: list[str]) -> list[str]:
    return await qr.data_uris_async([links.redemption_url(code) for code in codes])


async def _qr_codes(codes: list[str], early: list[tuple[list[str], asyncio.Task[list[str]]]]) -> list[str]:
    """The QR data URI of each code's redemption URL, in order: those encoded early, the rest now."""
    known: dict[str, str] = {}
    for encoded, task in early:
        known.update(zip(encoded, await task, strict=True))
    rest = [code for code in codes if code not in known]
    known.update(zip(rest, await _encode(rest), strict=True))
    return [known[code] for code in codes]


@router.get(
    "/campaigns/{campaign_id}/recipients/export",
    summary="Export recipients as CSV for mail merge",
    response_class=StreamingResponse,
    dependencies=[rate_limit("export", per=authenticated)],
    responses={200: {"content": {"text/csv": {}}, "description": "CSV, streamed"}},
)
async def export_recipients(campaign_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Response:
    """Columns `email, forename, voucher_code, redemption_url, redeemed, opened_at, clicked_at`,
    then the other recipient fields and the tracking links. Cells that a spreadsheet would run as
    a formula start with `'`. Exporting publishes the codes (channel `export`)."""
    campaign = await get_campaign(session, principal, campaign_id)
    database = get_database()
    async with unit_of_work(database) as writer:
        await export.record_export(writer, principal.client_id, campaign.id)
    return StreamingResponse(
        export.stream_csv(database, principal.client_id, campaign.id),
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


@router.post("/tracking/email-opened", summary="An email was opened")
async def email_opened(recipient_id: RecipientId, session: SessionDep, principal: PrincipalDep) -> JSON:
    """Records the first open; repeats change nothing (`recorded: false`)."""
    return await _track(session, principal, recipient_id, Signal.OPENED)


@router.post("/tracking/email-clicked", summary="A link in an email was clicked")
async def email_clicked(recipient_id: RecipientId, session: SessionDep, principal: PrincipalDep) -> JSON:
    """Records the first click (and an open, if none was recorded)."""
    return await _track(session, principal, recipient_id, Signal.CLICKED)


@router.post("/tracking/email-bounced", summary="An email bounced")
async def email_bounced(recipient_id: RecipientId, session: SessionDep, principal: PrincipalDep) -> JSON:
    return await _track(session, principal, recipient_id, Signal.BOUNCED)
