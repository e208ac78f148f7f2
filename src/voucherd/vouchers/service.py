"""Issuing codes and reading vouchers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.campaigns.errors import CodeSpaceTooSmall
from voucherd.campaigns.service import get_campaign
from voucherd.config import get_settings
from voucherd.core import clock
from voucherd.core.codes import CodePattern, normalize
from voucherd.core.errors import InvalidInput
from voucherd.core.pagination import Page, PageRequest
from voucherd.events import service as events
from voucherd.jobs import service as jobs
from voucherd.models import Campaign, Job, Redemption, Voucher
from voucherd.offers.rules import Discount, VoucherState, discount_of, offer_of, voucher_state
from voucherd.vouchers import repository
from voucherd.vouchers.errors import VoucherNotFound

GENERATE_CODES = "generate_codes"
MAX_CODES_PER_REQUEST = 1_000_000


@dataclass(frozen=True)
class Generation:
    """Either the codes (made now) or the job that makes them."""

    campaign: Campaign
    codes: list[str] | None = None
    job: Job | None = None


@dataclass(frozen=True)
class VoucherDetails:
    voucher: Voucher
    campaign: Campaign
    state: VoucherState
    discount: Discount
    valid_until: datetime | None  # the code's own end of validity, else its campaign's
    remaining_uses: int
    redemptions: list[Redemption]


async def generate_vouchers(
    session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, *, count: int
) -> Generation:
    """Up to ``sync_code_limit`` codes are made in this transaction; more go to a resumable job.
    A request the code pattern cannot hold with the safety margin is refused before any code is
    made."""
    settings = get_settings()
    if not 1 <= count <= MAX_CODES_PER_REQUEST:
        raise InvalidInput(f"count must be between 1 and {MAX_CODES_PER_REQUEST:,}.", field="count")
    campaign = await get_campaign(session, principal, campaign_id)
    await check_capacity(session, campaign, adding=count)
    if count <= settings.sync_code_limit:
        codes = await issue_codes(session, campaign, count=count, job_id=None)
        await events.record(
            session,
            campaign.client_id,
            events.VOUCHERS_GENERATED,
            batch_event(campaign, count=count, job_id=None),
        )
        return Generation(campaign=campaign, codes=codes)
    job = await jobs.enqueue(
        session,
        kind=GENERATE_CODES,
        client_id=principal.client_id,
        payload={"campaign_id": str(campaign.id), "count": count},
        total=count,
    )
    return Generation(campaign=campaign, job=job)


async def check_capacity(
    session: AsyncSession, campaign: Campaign, *, adding: int, pattern: CodePattern | None = None
) -> None:
    margin = get_settings().code_space_margin_bits
    pattern = pattern or CodePattern(campaign.code_pattern, campaign.code_charset)
    capacity = pattern.capacity(margin)
    existing = await session.scalar(
        select(func.count()).select_from(Voucher).where(Voucher.campaign_id == campaign.id)
    )
    pending = await session.scalar(
        select(func.coalesce(func.sum(Job.total - Job.progress), 0)).where(
            Job.kind == GENERATE_CODES,
            Job.status.in_(("queued", "running")),
            Job.payload["campaign_id"].as_string() == str(campaign.id),
        )
    )
    wanted = (existing or 0) + (pending or 0) + adding
    if wanted > capacity:
        raise CodeSpaceTooSmall(
            f"The code pattern {pattern.pattern} can hold at most {capacity:,} codes while "
            f"keeping codes unguessable (at most 1 in {2**margin:,} guesses may hit a live code); "
            f"this campaign would have {wanted:,}. Create a campaign with a longer code_length "
            "or a larger code_charset.",
            field="count",
            capacity=capacity,
            wanted=wanted,
        )


async def issue_codes(
    session: AsyncSession, campaign: Campaign, *, count: int, job_id: uuid.UUID | None
) -> list[str]:
    """Exactly ``count`` new unique codes, inserted in the current transaction."""
    pattern = CodePattern(campaign.code_pattern, campaign.code_charset)
    now = clock.now()
    issued: list[str] = []
    while len(issued) < count:
        # A collision (with an existing code, or inside the batch) is skipped by the insert and
        # simply drawn again; the capacity margin keeps that rare.
        inserted = await repository.insert_codes(
            session,
            client_id=campaign.client_id,
            campaign_id=campaign.id,
            codes=pattern.generate(count - len(issued)),
            job_id=job_id,
            now=now,
        )
        issued.extend(inserted)
    return issued


def batch_event(campaign: Campaign, *, count: int, job_id: uuid.UUID | None) -> dict[str, object]:
    return {
        "campaign_id": str(campaign.id),
        "campaign_name": campaign.name,
        "count": count,
        "job_id": str(job_id) if job_id else None,
    }


async def get_voucher(session: AsyncSession, principal: Principal, code: str) -> VoucherDetails:
    """A voucher with its state, uses left and redemption history (rollbacks included)."""
    voucher = await session.scalar(
        select(Voucher).where(Voucher.client_id == principal.client_id, Voucher.code == normalize(code))
    )
    if voucher is None:
        raise VoucherNotFound()
    campaign = await session.get(Campaign, voucher.campaign_id)
    if campaign is None or campaign.deleted_at is not None:
        raise VoucherNotFound()
    redemptions = await session.scalars(
        select(Redemption).where(Redemption.voucher_id == voucher.id).order_by(Redemption.created_at)
    )
    offer = offer_of(voucher, campaign)
    return VoucherDetails(
        voucher=voucher,
        campaign=campaign,
        state=voucher_state(offer, voucher.redeemed_count, clock.now()),
        discount=discount_of(voucher, campaign),
        valid_until=offer.valid_until,
        remaining_uses=max(campaign.uses_per_voucher - voucher.redeemed_count, 0),
        redemptions=list(redemptions.all()),
    )


async def list_vouchers(
    session: AsyncSession,
    principal: Principal,
    campaign_id: uuid.UUID,
    *,
    redeemed: bool | None,
    page: PageRequest,
) -> tuple[Campaign, Page[Voucher]]:
    campaign = await get_campaign(session, principal, campaign_id)
    where = [Voucher.campaign_id == campaign.id]
    if redeemed is True:
        where.append(Voucher.redeemed_count > 0)
    elif redeemed is False:
        where.append(Voucher.redeemed_count == 0)
    total = await session.scalar(select(func.count()).select_from(Voucher).where(*where))
    rows = await session.scalars(
        select(Voucher)
        .where(*where)
        .order_by(Voucher.created_at, Voucher.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return campaign, Page(items=list(rows.all()), total=total or 0, request=page)


async def issue_personal_codes(
    session: AsyncSession,
    campaign: Campaign,
    *,
    count: int,
    pattern: CodePattern | None = None,
    offer: repository.OwnOffer | None = None,
) -> list[tuple[uuid.UUID, str]]:
    """Exactly ``count`` new codes, each to be handed to one person: (voucher id, code) pairs in
    the current transaction. ``pattern`` and ``offer`` override the campaign's for these codes.
    The caller checks capacity and writes the ``voucher.created`` events (:func:`created_event`:
    the codes are inserted with their first event number taken)."""
    pattern = pattern or CodePattern(campaign.code_pattern, campaign.code_charset)
    now = clock.now()
    issued: list[tuple[uuid.UUID, str]] = []
    while len(issued) < count:
        issued.extend(
            await repository.insert_vouchers(
                session,
                client_id=campaign.client_id,
                campaign_id=campaign.id,
                codes=pattern.generate(count - len(issued)),
                offer=offer,
                now=now,
            )
        )
    return issued


def created_event(campaign: Campaign, voucher_id: uuid.UUID, code: str, **more: object) -> dict[str, object]:
    """The ``voucher.created`` data of a code issued singly: the code's first event. Such codes
    are inserted with ``event_sequence`` at 1 (:func:`issue_personal_codes`), so numbering their
    events costs no statement per code."""
    return {
        "voucher_id": str(voucher_id),
        "voucher_code": code,
        "campaign_id": str(campaign.id),
        "campaign_name": campaign.name,
        **more,
        events.SEQUENCE: events.FIRST_SEQUENCE,
    }
