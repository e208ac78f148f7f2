"""A gift card as its public page shows it (``/redeem/{code}``, the link in the voucher's mail):
looked up by its code alone, whoever's it is. The code is the credential, so nothing here names
the buyer, the order or the ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.core import clock
from voucherd.giftcards import codes, rules
from voucherd.giftcards.balances import CardStatus, status_of
from voucherd.giftcards.errors import MistypedCode
from voucherd.models import Client, GiftCard, GiftProduct


class PublicState(StrEnum):
    """What a person holding the code needs to know."""

    USABLE = "usable"
    NOT_YET_VALID = "not_yet_valid"
    USED_UP = "used_up"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    REPLACED = "replaced"


_STATES = {
    CardStatus.COMPLETED: PublicState.USED_UP,
    CardStatus.EXPIRED: PublicState.EXPIRED,
    CardStatus.REFUNDED: PublicState.REFUNDED,
    CardStatus.REGENERATED: PublicState.REPLACED,
}


@dataclass(frozen=True)
class PublicCard:
    code: str
    business: str  # the client's name
    timezone: str  # the client's, in which its dates are shown
    title: str
    terms: str
    remaining: str  # "£19.00 left", "3 times left"
    state: PublicState
    valid_from: datetime | None
    valid_until: datetime | None
    client_id: uuid.UUID | None = None  # whose branding the page wears


async def lookup_public(session: AsyncSession, typed: str) -> PublicCard | None:
    """The gift card with this code, or ``None`` for anything that is not one (a mistyped code
    costs no lookup)."""
    try:
        code = codes.canonical(typed)
    except MistypedCode:
        return None
    row = (
        await session.execute(
            select(GiftCard, GiftProduct.title, GiftProduct.terms, Client.name, Client.timezone)
            .join(GiftProduct, GiftProduct.id == GiftCard.product_id)
            .join(Client, Client.id == GiftCard.client_id)
            .where(GiftCard.code == code)
        )
    ).first()
    if row is None:
        return None
    card: GiftCard = row[0]
    now = clock.now()
    status = status_of(card, now)
    if status is CardStatus.IN_PROGRESS:
        usable = card.valid_from is None or now >= card.valid_from
        state = PublicState.USABLE if usable else PublicState.NOT_YET_VALID
    else:
        state = _STATES[status]
    return PublicCard(
        code=card.code,
        business=row.name,
        timezone=row.timezone,
        title=row.title,
        terms=row.terms or "",
        remaining=rules.remaining(card.balance, monetary=card.monetary, currency=card.currency),
        state=state,
        valid_from=card.valid_from,
        valid_until=card.valid_until,
        client_id=card.client_id,
    )
