from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, Integer, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from voucherd.models.base import Base

# The figures a campaign keeps, each the sum of one column over its rows.
FIGURES = (
    "issued",
    "redeemed_codes",
    "published",
    "publications",
    "recipients",
    "opened",
    "clicked",
    "bounced",
    "leads",
    "referrals",
    "redemptions_online",
    "redemptions_in_store",
    "revenue",
    "discount_given",
    "redemptions",
)


def _figure(big: bool = False) -> Mapped[int]:
    return mapped_column(BigInteger if big else Integer, default=0, server_default=text("0"))


class CampaignFigures(Base):
    """A campaign's counts, kept by database triggers (migration 0018) in the statement that
    changes the counted rows: vouchers, voucher_owners, publications, recipients, redemptions.
    A campaign's figures are the sums over its rows here; on PostgreSQL each connection adds to
    its own ``shard`` (its backend pid), so concurrent transactions never wait for one another on
    a figures row. Never written by the application."""

    __tablename__ = "campaign_figures"

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    issued: Mapped[int] = _figure()
    redeemed_codes: Mapped[int] = _figure()
    published: Mapped[int] = _figure()
    publications: Mapped[int] = _figure()
    recipients: Mapped[int] = _figure()
    opened: Mapped[int] = _figure()
    clicked: Mapped[int] = _figure()
    bounced: Mapped[int] = _figure()
    leads: Mapped[int] = _figure()
    referrals: Mapped[int] = _figure()
    redemptions_online: Mapped[int] = _figure()
    redemptions_in_store: Mapped[int] = _figure()
    revenue: Mapped[int] = _figure(big=True)
    discount_given: Mapped[int] = _figure(big=True)
    redemptions: Mapped[int] = _figure()  # every redemption row, rolled-back ones too (0023)
    # Its (batch, customer, channel) groups of publications: Voucherify's publication list items
    # (0025). Not one of FIGURES: it is no campaign statistic.
    publication_batches: Mapped[int] = _figure()


class ClientFigures(Base):
    """A client's counts, kept as :class:`CampaignFigures` are (the customers table's triggers):
    ``customers`` is how many are not erased."""

    __tablename__ = "client_figures"

    client_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    customers: Mapped[int] = _figure()


# The figures of a campaign's quarter hour (:class:`CampaignQuarter`), each a sum over its shards.
QUARTER_FIGURES = ("online", "in_store", "revenue_online", "revenue_in_store", "discount_given")


class CampaignQuarter(Base):
    """A campaign's standing redemptions in one quarter hour (``quarter``: seconds since the epoch
    / 900, UTC), split by channel, kept by database triggers (migration 0024) as
    :class:`CampaignFigures` are, shard by shard: the campaign page's days are sums of these rows.
    Never written by the application."""

    __tablename__ = "campaign_quarters"

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    quarter: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    online: Mapped[int] = _figure()
    in_store: Mapped[int] = _figure()
    revenue_online: Mapped[int] = _figure(big=True)
    revenue_in_store: Mapped[int] = _figure(big=True)
    discount_given: Mapped[int] = _figure(big=True)
