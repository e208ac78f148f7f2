"""Several codes on one order (Voucherify's stacked validations and redemptions): up to 30
redeemables, all or nothing. Each code's discount applies to what the codes before it left of the
order, so the discounts never add up to more than the order; a redemption of the stack redeems
every code through the checkout's own write (the same guarded use, redemption row and
``voucher.redeemed`` event) in the caller's one transaction, which any refused code rolls back."""

from __future__ import annotations

from dataclasses import dataclass

from voucherd.accounts.service import Principal
from voucherd.core.errors import DomainError, InvalidInput
from voucherd.core.money import MAX_MINOR, Amount
from voucherd.giftcards.vouchers import GiftBalance
from voucherd.offers.repository import Offer
from voucherd.offers.rules import discount_for
from voucherd.redemptions import giftcards as gift_cards
from voucherd.redemptions import service as redemptions
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


def _checked_codes(codes: list[Redeemable]) -> list[Redeemable]:
    if not 1 <= len(codes) <= MAX_REDEEMABLES:
        raise InvalidInput(f"redeemables must hold 1 to {MAX_REDEEMABLES} items.", field="redeemables")
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
) -> list[RedemptionResult]:
    """Redeem every code of the stack on the order, or none: the first refusal raises (the
    caller's transaction then writes nothing). A retry with the same ``order_reference``
    answers as the first did."""
    left = _checked_amount(amount)
    results = []
    for item in _checked_codes(codes):
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
            ),
        )
        left -= result.discount_applied
        results.append(result)
    return results
