"""Gift vouchers that are codes of a campaign (Voucherify's GIFT_VOUCHER): one of our vouchers,
with its code, campaign, validity and publications, whose worth is a balance. The balance is a
gift card of that voucher (``GiftCard.voucher_id``), the same card, ledger and guarded
``debit``/``credit`` as a card sold through VoucherCart. A voucher's card is opened by its first
movement with the amount its offer loads (so a million codes made in bulk need no million card
rows); until then its balance is that amount."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.core.ids import new_id
from voucherd.giftcards.balances import CardStatus
from voucherd.giftcards.ledger import ISSUE, actor, entry
from voucherd.models import GiftCard

_cards = cast(Table, GiftCard.__table__)


@dataclass(frozen=True)
class GiftBalance:
    """What a gift voucher was loaded with (its issue and top-ups) and what is left."""

    amount: int
    balance: int


async def balances(
    session: AsyncSession, loaded: Iterable[tuple[uuid.UUID, int]]
) -> dict[uuid.UUID, GiftBalance]:
    """The balance of each voucher, given with the amount its offer loads; reads, locks nothing."""
    wanted = dict(loaded)
    if not wanted:
        return {}
    rows = await session.execute(
        select(_cards.c.voucher_id, _cards.c.stock, _cards.c.balance).where(_cards.c.voucher_id.in_(wanted))
    )
    opened = {row.voucher_id: GiftBalance(int(row.stock), int(row.balance)) for row in rows}
    return {
        voucher_id: opened.get(voucher_id, GiftBalance(amount, amount))
        for voucher_id, amount in wanted.items()
    }


async def balance(session: AsyncSession, voucher_id: uuid.UUID, loaded: int) -> GiftBalance:
    return (await balances(session, [(voucher_id, loaded)]))[voucher_id]


def _dialect(session: AsyncSession) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


async def card(
    session: AsyncSession,
    principal: Principal,
    *,
    voucher_id: uuid.UUID,
    code: str,
    currency: str,
    loaded: int,
) -> GiftCard:
    """The voucher's card, locked for the caller's transaction (SQLite's writers are serialised
    by its BEGIN IMMEDIATE already), opened first if this is its first movement: a concurrent
    first movement meets the unique key and both go on with the one card."""
    now = clock.now()
    opened = await session.scalar(
        _dialect(session)
        .insert(_cards)
        .values(
            id=new_id(),
            client_id=principal.client_id,
            voucher_id=voucher_id,
            code=code,
            reference=voucher_id.hex,
            monetary=True,
            currency=currency,
            stock=loaded,
            balance=loaded,
            status=CardStatus.IN_PROGRESS.value,
            redeemable_on=[],
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
        .returning(_cards.c.id)
    )
    found = await session.scalar(
        select(GiftCard)
        .where(GiftCard.voucher_id == voucher_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert found is not None  # inserted above, or by the concurrent first movement
    if opened is not None:
        session.add(entry(found, ISSUE, loaded, balance_after=loaded, at=now, who=actor(principal)))
    return found
