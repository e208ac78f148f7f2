from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from voucherd.core.errors import DomainError
from voucherd.core.money import Amount
from voucherd.giftcards.vouchers import GiftBalance
from voucherd.offers.repository import Offer


class Channel(StrEnum):
    ONLINE = "online"
    IN_STORE = "in_store"


@dataclass(frozen=True)
class Validation:
    """The answer to "can this code be used now?" (``error`` says why not)."""

    code: str
    offer: Offer | None
    error: DomainError | None
    remaining_uses: int
    gift: GiftBalance | None = None  # a gift voucher's balance (its offer is then worth it)


@dataclass(frozen=True)
class RedeemInput:
    code: str
    amount: Amount
    order_reference: str | None = None
    redeemed_at: datetime | None = None
    channel: Channel = Channel.ONLINE
    customer: str | None = None  # an email or our customer id
    credits: int | None = None  # what to take from a gift voucher (else all the order can use)
    stack_id: uuid.UUID | None = None  # the codes redeemed with it on the order, as one stack


@dataclass(frozen=True)
class RedemptionResult:
    redemption_id: uuid.UUID
    code: str
    currency: str
    transaction_amount: int
    discount_applied: int
    replayed: bool
    gift: GiftBalance | None = None  # a gift voucher's balance after the redemption
    stack_id: uuid.UUID | None = None
