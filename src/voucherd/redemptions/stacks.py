"""Several codes on one order (Voucherify's stacked validations and redemptions): up to 30
redeemables, all or nothing. Each code's discount applies to what the codes before it left of the
order, so the discounts never add up to more than the order; a redemption of the stack redeems
every code through the checkout's own write (the same guarded use, redemption row and
``voucher.redeemed`` event) in the caller's one transaction, which any refused code rolls back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.core.codes import normalize
from voucherd.core.errors import DomainError, InvalidInput
from voucherd.core.ids import new_id
from voucherd.core.money import MAX_MINOR, Amount
from voucherd.giftcards.vouchers import GiftBalance
from voucherd.models import Redemption
from voucherd.offers.repository import Offer
from voucherd.offers.rules import discount_for
from voucherd.redemptions import giftcards as gift_cards
from voucherd.redemptions import service as redemptions
from voucherd.redemptions.errors import OrderReferenceConflict, RedemptionNotFound
from voucherd.redemptions.repository import CheckoutStore
from voucherd.redemptions.schemas import Channel, RedeemInput, RedemptionResult

MAX_REDEEMABLES = 30


@dataclass(frozen=True)
class Checked:
    """One code of the stack: its offer (``None`` when unknown), why it cannot apply (``None``
    when it can), and the discount it gives on what the codes before it left."""

    code: str
    offer: Offer | None
    error: DomainError | None
    discount: int
    gift: GiftBalance | None = None  # a gift voucher's balance before this order


@dataclass(frozen=True)
class Redeemable:
    """One code of the request, with the credits to take when it is a gift voucher."""

    code: str
    credits: int | None = None


@dataclass(frozen=True)
class Stack:
    amount: int
    items: list[Checked]

    @property
    def valid(self) -> bool:
        return all(item.error is None for item in self.items)

    @property
    def discount(self) -> int:
        return sum(item.discount for item in self.items if item.error is None)


@dataclass(frozen=True)
class Redeemed:
    """The redemptions of a stack, in the order requested; ``stack_id`` groups them when there
    are several (Voucherify's parent redemption), ``None`` for one code."""

    stack_id: uuid.UUID | None
    results: list[RedemptionResult]


def _checked_codes(codes: list[Redeemable]) -> list[Redeemable]:
    if not 1 <= len(codes) <= MAX_REDEEMABLES:
        raise InvalidInput(f"redeemables must hold 1 to {MAX_REDEEMABLES} items.", field="redeemables")
    for index, item in enumerate(codes):
        if item.credits is not None and item.credits > MAX_MINOR:  # RELIABILITY M8
            where = f"redeemables[{index}].gift.credits"
            raise InvalidInput(f"{where} must be at most {MAX_MINOR} (minor units).", field=where)
    return codes


def _checked_amount(amount: int) -> int:
    if not 0 <= amount <= MAX_MINOR:
        raise InvalidInput(f"order.amount must be 0 to {MAX_MINOR} (minor units).", field="order.amount")
    return amount


async def validate(store: CheckoutStore, principal: Principal, codes: list[Redeemable], amount: int) -> Stack:
    """What the stack would give on an order of ``amount`` minor units; changes nothing."""
    left = _checked_amount(amount)
    items = []
    for item in _checked_codes(codes):
        result = await redemptions.validate(store, principal, item.code)
        discount, error = 0, result.error
        if result.offer is not None and error is None:
            try:
                discount = (
                    discount_for(result.offer, left)
                    if result.gift is None
                    else gift_cards.taken(
                        result.gift.balance,
                        amount=left,
                        credits=item.credits,
                        code=result.offer.code,
                        currency=result.offer.currency,
                    )
                )
            except DomainError as refused:
                error = refused
            left -= discount
        items.append(Checked(item.code, result.offer, error, discount, result.gift))
    return Stack(amount, items)


async def redeem(
    store: CheckoutStore,
    principal: Principal,
    codes: list[Redeemable],
    amount: int,
    *,
    order_reference: str | None,
    customer: str | None,
) -> Redeemed:
    """Redeem every code of the stack on the order, or none: the first refusal raises (the
    caller's transaction then writes nothing). Several codes are one stack, each redemption
    naming it. A retry with the same ``order_reference`` answers as the first did; a retry that
    adds codes to an order redeemed before, or regroups its codes, is an
    :class:`OrderReferenceConflict` (and redeems nothing)."""
    left = _checked_amount(amount)
    stack_id = new_id() if len(_checked_codes(codes)) > 1 else None
    if stack_id is not None:  # several codes, one transaction: lock them in one order first
        await store.lock(principal.client_id, sorted({normalize(item.code) for item in codes}))
    results = []
    for item in codes:
        result = await redemptions.redeem(
            store,
            principal,
            RedeemInput(
                code=item.code,
                credits=item.credits,
                amount=Amount.minor(left),
                order_reference=order_reference,
                channel=Channel.ONLINE,
                customer=customer,
                stack_id=stack_id,
            ),
        )
        left -= result.discount_applied
        results.append(result)
    if stack_id is not None and any(result.replayed for result in results):
        earlier = {result.stack_id for result in results if result.stack_id is not None}
        if not all(result.replayed for result in results) or len(earlier) != 1:
            raise OrderReferenceConflict(
                f"Order {order_reference} was already redeemed with other codes; send the same "
                "codes again, or use a new order source_id for a different order."
            )
        stack_id = earlier.pop()
    return Redeemed(stack_id, results)


async def members(session: AsyncSession, principal: Principal, stack_id: uuid.UUID) -> list[Redemption]:
    """The client's redemptions of one stack, in the order they were redeemed."""
    rows = await session.scalars(
        select(Redemption)
        .where(Redemption.client_id == principal.client_id, Redemption.stack_id == stack_id)
        .order_by(Redemption.created_at, Redemption.id)
    )
    found = list(rows.all())
    if not found:
        raise RedemptionNotFound(
            "No redemption with this id.", resource_id=str(stack_id), resource_type="redemption"
        )
    return found


async def rollback(
    session: AsyncSession, principal: Principal, stack_id: uuid.UUID, *, reason: str
) -> tuple[list[Redemption], bool]:
    """Roll back every redemption of the stack not rolled back yet, in the caller's one
    transaction (all or none); the second value says whether this call rolled any back."""
    done = False
    found = await members(session, principal, stack_id)
    for member in found:
        if member.rolled_back_at is None:
            _, rolled = await redemptions.rollback_redemption(
                session, principal, reason=reason, redemption_id=member.id
            )
            done = done or rolled
    return found, done
