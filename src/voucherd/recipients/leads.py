"""Lead capture: a visitor claims a campaign's offer on its public landing page (name, email,
consent) and gets their own code; a claim through someone's share link is a referral.

One code per email per campaign: the claim is a recipient whose identity is the email, under the
same unique key as uploads. A second claim with the same email is refused without showing the
first code (anyone can type someone else's email)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core import clock
from voucherd.core.errors import Conflict, InvalidInput, NotFound
from voucherd.core.ids import new_id
from voucherd.customers import matching, rules
from voucherd.customers.schemas import Person
from voucherd.events import service as events
from voucherd.models import Campaign, Publication, Recipient, Voucher
from voucherd.publications import repository as ownership
from voucherd.publications.schemas import CHANNEL_LANDING_PAGE, CHANNEL_REFERRAL
from voucherd.vouchers import service as vouchers

_recipients = cast(Table, Recipient.__table__)
_publications = cast(Table, Publication.__table__)


class LandingPageNotFound(NotFound):
    code = "landing_page_not_found"
    default_message = "This offer is not available."


class AlreadyClaimed(Conflict):
    code = "already_claimed"
    default_message = "This email address has already claimed this offer."


class ClaimRefused(InvalidInput):
    code = "claim_refused"


@dataclass(frozen=True)
class Claim:
    name: str
    email: str
    consent: bool
    honeypot: str = ""  # a field people never see; bots fill it
    referral: str | None = None  # the share token (the referrer's voucher id)


@dataclass(frozen=True)
class Lead:
    recipient_id: uuid.UUID
    voucher_code: str
    referred_by: uuid.UUID | None


async def landing_campaign(session: AsyncSession, slug: str) -> Campaign:
    """The campaign behind a public landing page (active, not deleted)."""
    campaign = await session.scalar(
        select(Campaign).where(Campaign.landing_slug == slug.strip().lower(), Campaign.deleted_at.is_(None))
    )
    if campaign is None or campaign.status != "active":
        raise LandingPageNotFound()
    return campaign


async def claim(session: AsyncSession, campaign: Campaign, data: Claim) -> Lead:
    """A new recipient with their own code, a ``lead.captured`` event, and ``referral.converted``
    when the claim came through a share link."""
    if data.honeypot.strip():
        raise ClaimRefused("We could not accept this claim.", field="website")
    name = data.name.strip()
    if not name or len(name) > 200:
        raise ClaimRefused("Please enter your name.", field="name")
    try:
        email = rules.normalize_email(data.email)
    except rules.ContactError:
        raise ClaimRefused("Please enter a valid email address.", field="email") from None
    if not data.consent:
        raise ClaimRefused("Please agree to the terms to claim the offer.", field="consent")
    identity = rules.identity(external_id=None, email=email, mobile_e164=None)
    taken = await session.scalar(
        select(_recipients.c.id).where(
            _recipients.c.campaign_id == campaign.id, _recipients.c.identity == identity
        )
    )
    if taken is not None:
        raise AlreadyClaimed()
    referrer = await _referrer(session, campaign, data.referral)
    await vouchers.check_capacity(session, campaign, adding=1)
    try:
        async with session.begin_nested():
            return await _create(session, campaign, name, email, identity, referrer)
    except IntegrityError:  # the same email claimed concurrently
        raise AlreadyClaimed() from None


async def _referrer(session: AsyncSession, campaign: Campaign, token: str | None) -> Any:
    if not token:
        return None
    try:
        voucher_id = uuid.UUID(token)
    except ValueError:
        return None
    return (
        await session.execute(
            select(_recipients.c.id, _recipients.c.email, Voucher.code)
            .join(Voucher, Voucher.id == _recipients.c.voucher_id)
            .where(_recipients.c.voucher_id == voucher_id, _recipients.c.campaign_id == campaign.id)
        )
    ).first()


async def _create(
    session: AsyncSession, campaign: Campaign, name: str, email: str, identity: str, referrer: Any
) -> Lead:
    [customer_id] = await matching.match_or_create(
        session, campaign.client_id, [Person(email=email, name=name)]
    )
    [(voucher_id, code)] = await vouchers.issue_personal_codes(session, campaign, count=1)
    now = clock.now()
    recipient_id = uuid.uuid4()
    forename, _, surname = name.partition(" ")
    await session.execute(
        _recipients.insert().values(
            id=recipient_id,
            client_id=campaign.client_id,
            campaign_id=campaign.id,
            customer_id=customer_id,
            voucher_id=voucher_id,
            identity=identity,
            source="landing_page",
            referred_by=referrer.id if referrer else None,
            email=email,
            forename=forename[:100] or None,
            surname=surname[:100] or None,
            created_at=now,
        )
    )
    await ownership.give_new_codes(
        session,
        client_id=campaign.client_id,
        campaign_id=campaign.id,
        owners=[(voucher_id, customer_id)],
        now=now,
    )
    channel = CHANNEL_REFERRAL if referrer else CHANNEL_LANDING_PAGE
    await session.execute(
        _publications.insert().values(
            id=new_id(),
            client_id=campaign.client_id,
            campaign_id=campaign.id,
            voucher_id=voucher_id,
            customer_id=customer_id,
            batch_id=new_id(),
            channel=channel,
            created_at=now,
        )
    )
    await events.record(
        session,
        campaign.client_id,
        events.VOUCHER_CREATED,
        vouchers.created_event(campaign, voucher_id, code, source=channel, recipient_id=str(recipient_id)),
    )
    # Seed 000's documented lead.captured data: lead_id, email, voucher_code, campaign_name (and,
    # as every event about a voucher, voucher_id and sequence: the new code's 2nd event).
    await events.record(
        session,
        campaign.client_id,
        events.LEAD_CAPTURED,
        {"lead_id": str(recipient_id), "email": email, "voucher_code": code, "campaign_name": campaign.name},
        voucher_id=voucher_id,
    )
    if referrer:
        # About the new code too (its 3rd event); the referrer's code does not change.
        await events.record(
            session,
            campaign.client_id,
            events.REFERRAL_CONVERTED,
            {
                "lead_id": str(recipient_id),
                "email": email,
                "voucher_code": code,
                "campaign_name": campaign.name,
                "referrer_id": str(referrer.id),
                "referrer_email": referrer.email,
                "referrer_voucher_code": referrer.code,
            },
            voucher_id=voucher_id,
        )
    return Lead(recipient_id=recipient_id, voucher_code=code, referred_by=referrer.id if referrer else None)
