"""Campaign figures: what was issued, handed out, opened, claimed and redeemed, and the money."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.campaigns.figures import campaign_figures
from voucherd.campaigns.service import get_campaign


@dataclass(frozen=True)
class CampaignStats:
    campaign_id: uuid.UUID
    currency: str
    issued: int  # codes made
    published: int  # codes handed to a customer (any channel)
    publications: int  # hand-outs (the publication history's length)
    recipients: int
    opened: int
    clicked: int
    bounced: int
    leads: int  # claims on the landing page (referred ones included)
    referrals: int  # claims through a share link
    redemptions_online: int
    redemptions_in_store: int
    redeemed_codes: int  # codes used at least once
    redemption_rate: Decimal  # redeemed codes / published codes (issued codes when none published)
    revenue: int  # sum of transaction amounts, minor units
    discount_given: int  # minor units
    redemptions: int  # every redemption recorded, rolled-back ones too


async def campaign_stats(
    session: AsyncSession, principal: Principal, campaign_id: uuid.UUID
) -> CampaignStats:
    """Every figure counts what stands now: rolled-back redemptions are left out."""
    campaign = await get_campaign(session, principal, campaign_id)
    figures = await campaign_figures(session, campaign.id)
    handed_out = figures["published"] or figures["issued"]
    rate = (
        (Decimal(figures["redeemed_codes"]) / Decimal(handed_out)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        if handed_out
        else Decimal("0.0000")
    )
    return CampaignStats(campaign_id=campaign.id, currency=campaign.currency, redemption_rate=rate, **figures)
