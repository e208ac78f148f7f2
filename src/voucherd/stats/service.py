"""Campaign figures: what was issued, handed out, opened, claimed and redeemed, and the money."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.campaigns.service import get_campaign
from voucherd.models import Recipient, Redemption, Voucher, VoucherOwner
from voucherd.redemptions.schemas import Channel


@dataclass(frozen=True)
class CampaignStats:
    campaign_id: uuid.UUID
    currency: str
    issued: int  # codes made
    published: int  # codes handed to a customer (any channel)
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


async def campaign_stats(
    session: AsyncSession, principal: Principal, campaign_id: uuid.UUID
) -> CampaignStats:
    """Every figure counts what stands now: rolled-back redemptions are left out."""
    campaign = await get_campaign(session, principal, campaign_id)
    issued, redeemed_codes = (
        await session.execute(
            select(func.count(), func.count(case((Voucher.redeemed_count > 0, 1)))).where(
                Voucher.campaign_id == campaign.id
            )
        )
    ).one()
    published = await session.scalar(
        select(func.count()).select_from(VoucherOwner).where(VoucherOwner.campaign_id == campaign.id)
    )
    tracked = (
        await session.execute(
            select(
                func.count(),
                func.count(Recipient.opened_at),
                func.count(Recipient.clicked_at),
                func.count(Recipient.bounced_at),
                func.count(case((Recipient.source == "landing_page", 1))),
                func.count(Recipient.referred_by),
            ).where(Recipient.campaign_id == campaign.id)
        )
    ).one()
    money = (
        await session.execute(
            select(
                func.count(case((Redemption.channel == Channel.ONLINE.value, 1))),
                func.count(case((Redemption.channel == Channel.IN_STORE.value, 1))),
                func.coalesce(func.sum(Redemption.transaction_amount), 0),
                func.coalesce(func.sum(Redemption.discount_applied), 0),
            ).where(Redemption.campaign_id == campaign.id, Redemption.rolled_back_at.is_(None))
        )
    ).one()
    handed_out = int(published or 0) or int(issued)
    rate = (
        (Decimal(int(redeemed_codes)) / Decimal(handed_out)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        if handed_out
        else Decimal("0.0000")
    )
    return CampaignStats(
        campaign_id=campaign.id,
        currency=campaign.currency,
        issued=int(issued),
        published=int(published or 0),
        recipients=int(tracked[0]),
        opened=int(tracked[1]),
        clicked=int(tracked[2]),
        bounced=int(tracked[3]),
        leads=int(tracked[4]),
        referrals=int(tracked[5]),
        redemptions_online=int(money[0]),
        redemptions_in_store=int(money[1]),
        redeemed_codes=int(redeemed_codes),
        redemption_rate=rate,
        revenue=int(money[2]),
        discount_given=int(money[3]),
    )
