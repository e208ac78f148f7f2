"""Validation answers; redemption acts (one transaction: guarded use, redemption row, event)."""

from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd import metrics
from voucherd.accounts.service import Principal, SubjectKind
from voucherd.campaigns.figures import client_redemptions
from voucherd.core import clock
from voucherd.core.codes import normalize
from voucherd.core.errors import DomainError, InvalidInput
from voucherd.core.ids import new_id
from voucherd.core.money import describe_amount
from voucherd.core.pagination import PageRequest
from voucherd.events import service as events
from voucherd.models import Redemption, Voucher
from voucherd.offers.errors import CustomerLimitReached, CustomerRequired, MinimumSpendNotMet
from voucherd.offers.rules import discount_for, exhausted_error, usability_error
from voucherd.redemptions import giftcards as gift_cards
from voucherd.redemptions import repository
from voucherd.redemptions.errors import NeedsSession, OrderReferenceConflict, RedemptionNotFound
from voucherd.redemptions.repository import CheckoutStore, Outcome, PastRedemption
from voucherd.redemptions.schemas import RedeemInput, RedemptionResult, Validation
from voucherd.vouchers.errors import VoucherNotFound

MAX_REFERENCE_LENGTH = 200
MAX_REASON_LENGTH = 500


def needs_session(code: str) -> bool:
    """Whether the checkout of ``code`` runs in a session: a gift card's code (by its shape) is
    looked up among gift cards first, through SQLAlchemy."""
    return gift_cards.is_gift_code(code)


async def validate(store: CheckoutStore, principal: Principal, code: str) -> Validation:
    """Whether the code can be used now, and if not why; changes nothing."""
    result = await _validate(store, principal, code)
    metrics.checkout("validate", "ok" if result.error is None else result.error.code)
    return result


async def redeem(store: CheckoutStore, principal: Principal, data: RedeemInput) -> RedemptionResult:
    """Use the voucher once for an order, or replay the result of the same order sent before.

    The same ``order_reference`` with the same amount returns the original result and redeems
    nothing more; with another amount it is an :class:`OrderReferenceConflict`."""
    try:
        result = await _redeem(store, principal, data)
    except DomainError as refused:
        metrics.checkout("redeem", refused.code)
        raise
    metrics.checkout("redeem", "replayed" if result.replayed else "ok")
    return result


async def _validate(store: CheckoutStore, principal: Principal, code: str) -> Validation:
    code = normalize(code)
    if store.session is not None and gift_cards.is_gift_code(code):
        gift = await gift_cards.validate(store.session, principal, code)
        if gift is not None:
            return gift
    offer = await store.lookup(principal.client_id, code) if code else None
    if offer is None:
        return Validation(code=code, offer=None, error=VoucherNotFound(), remaining_uses=0)
    if gift_cards.is_gift_voucher(offer):
        return await gift_cards.validate_voucher(_session(store), offer)
    return Validation(
        code=code,
        offer=offer,
        error=usability_error(offer, offer.redeemed_count, clock.now()),
        remaining_uses=max(offer.uses_per_voucher - offer.redeemed_count, 0),
    )


async def _redeem(store: CheckoutStore, principal: Principal, data: RedeemInput) -> RedemptionResult:
    code = normalize(data.code)
    order_reference = _reference(data.order_reference)
    if store.session is not None and gift_cards.is_gift_code(code):
        paid = await gift_cards.redeem(
            store.session,
            principal,
            code=code,
            amount=data.amount,
            order_reference=order_reference,
            redeemed_at=data.redeemed_at,
            sales_page_id=data.sales_page_id,
        )
        if paid is not None:
            return paid
    offer = await store.lookup(principal.client_id, code) if code else None
    if offer is None:
        raise VoucherNotFound()
    amount = data.amount.in_minor_units(offer.currency, field="transaction_amount")
    now = clock.now()
    error = usability_error(offer, offer.redeemed_count, now)
    if error is not None:
        # A retry of an order that took the last use must still get its original answer.
        past = await _past(store, principal, offer.id, order_reference)
        if past is not None:
            return _replay(past, amount)
        raise error
    if offer.minimum_spend is not None and amount < offer.minimum_spend:
        raise MinimumSpendNotMet(
            f"Minimum spend is {describe_amount(offer.minimum_spend, offer.currency)}; this "
            f"transaction is {describe_amount(amount, offer.currency)}."
        )
    customer_id = await store.customer(principal.client_id, data.customer) if data.customer else None
    if offer.uses_per_customer is not None and customer_id is None and offer.require_customer:
        raise CustomerRequired(
            f"This campaign allows {_times(offer.uses_per_customer)} per customer: name the customer "
            "(an email or a customer id) in customer.",
            field="customer",
        )
    # Without a customer the limit cannot apply (the campaign allows that, or it refused above).
    customer_limit = offer.uses_per_customer if customer_id is not None else None
    redeemed_at = data.redeemed_at or now
    card = None
    if gift_cards.is_gift_voucher(offer):
        session = _session(store)
        past = await _past(store, principal, offer.id, order_reference)
        if past is not None:
            return replace(_replay(past, amount), gift=await gift_cards.balance_of(session, offer))
        card, discount = await gift_cards.take(session, principal, offer, amount=amount, credits=data.credits)
    else:
        discount = discount_for(offer, amount)
    redemption_id = new_id()
    outcome = await store.redeem(
        {
            "id": redemption_id,
            "client_id": principal.client_id,
            "campaign_id": offer.campaign_id,
            "voucher_id": offer.id,
            "code": offer.code,
            "customer_id": customer_id,
            "order_reference": order_reference,
            "currency": offer.currency,
            "transaction_amount": amount,
            "discount_applied": discount,
            "channel": data.channel.value,
            "redeemed_at": redeemed_at,
            "created_at": now,
            "stack_id": data.stack_id,
            "staff_id": principal.subject.id if principal.subject.kind is SubjectKind.STAFF else None,
            "sales_page_id": data.sales_page_id,
        },
        events.new_event(
            principal.client_id,
            events.VOUCHER_REDEEMED,
            {
                "redemption_id": str(redemption_id),
                "voucher_id": str(offer.id),
                "voucher_code": offer.code,
                "campaign_id": str(offer.campaign_id),
                "campaign_name": offer.campaign_name,
                "currency": offer.currency,
                "transaction_amount_minor": amount,
                "discount_applied_minor": discount,
                "order_reference": order_reference,
                "channel": data.channel.value,
                "redeemed_at": clock.isoformat_z(redeemed_at),
            },
        ),
        limit=offer.uses_per_voucher,
        customer_limit=customer_limit,
    )
    if outcome is not Outcome.REDEEMED:
        # This order was redeemed before (a retry), or meanwhile by a concurrent retry (which
        # may have taken the last use): answer as it was answered.
        past = await _past(store, principal, offer.id, order_reference)
        if past is not None:
            return _replay(past, amount)
        if outcome is Outcome.DUPLICATE:  # pragma: no cover - the unique key guarantees a row
            raise RuntimeError("redemption conflict without a row")
        if outcome is Outcome.CUSTOMER_LIMIT:
            raise CustomerLimitReached(
                f"This customer has redeemed this campaign {_times(offer.uses_per_customer or 0)}, "
                "as often as it allows."
            )
        raise exhausted_error(offer.uses_per_voucher)
    gift = None
    if card is not None:
        gift = await gift_cards.pay(
            _session(store),
            principal,
            card,
            discount,
            at=redeemed_at,
            order_reference=order_reference,
            transaction_amount=amount,
            sales_page_id=data.sales_page_id,
        )
    return RedemptionResult(
        redemption_id=redemption_id,
        code=offer.code,
        currency=offer.currency,
        transaction_amount=amount,
        discount_applied=discount,
        replayed=False,
        gift=gift,
        stack_id=data.stack_id,
    )


def _session(store: CheckoutStore) -> AsyncSession:
    """The request's session, which a gift voucher's balance needs: without one the caller runs
    the checkout again in a transaction (:class:`NeedsSession`)."""
    if store.session is None:
        raise NeedsSession()
    return store.session


async def _past(
    store: CheckoutStore, principal: Principal, voucher_id: uuid.UUID, order_reference: str | None
) -> PastRedemption | None:
    if order_reference is None:
        return None
    return await store.past(principal.client_id, voucher_id, order_reference)


def _replay(earlier: PastRedemption, amount: int) -> RedemptionResult:
    if earlier.rolled_back_at is not None:
        raise OrderReferenceConflict(
            f"The redemption for order {earlier.order_reference} was rolled back; "
            "a new order needs a new order_reference."
        )
    if earlier.transaction_amount != amount:
        raise OrderReferenceConflict(
            f"Order {earlier.order_reference} was already redeemed with this voucher for a "
            "different transaction_amount; use a new order_reference for a different order."
        )
    return RedemptionResult(
        redemption_id=earlier.id,
        code=earlier.code,
        currency=earlier.currency,
        transaction_amount=earlier.transaction_amount,
        discount_applied=earlier.discount_applied,
        replayed=True,
        stack_id=earlier.stack_id,
    )


async def rollback_redemption(
    session: AsyncSession,
    principal: Principal,
    *,
    reason: str,
    redemption_id: uuid.UUID | None = None,
    code: str | None = None,
    order_reference: str | None = None,
) -> tuple[Redemption, bool]:
    """Give the use back (order cancelled or refunded) and record why. Idempotent: rolling back
    again changes nothing; the second value says whether this call did it."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"reason must be 1 to {MAX_REASON_LENGTH} characters.", field="reason")
    redemption = await _find_redemption(
        session, principal, redemption_id=redemption_id, code=code, order_reference=order_reference
    )
    now = clock.now()
    done = await repository.mark_rolled_back(session, redemption.id, at=now, reason=reason)
    if done:
        sequence = await repository.release_use(session, redemption.voucher_id)
        await gift_cards.give_back(session, principal, redemption)
        await events.record(
            session,
            principal.client_id,
            events.REDEMPTION_ROLLED_BACK,
            events.numbered(
                {
                    "redemption_id": str(redemption.id),
                    "voucher_code": redemption.code,
                    "campaign_id": str(redemption.campaign_id),
                    "order_reference": redemption.order_reference,
                    "reason": reason,
                    "rolled_back_at": clock.isoformat_z(now),
                },
                redemption.voucher_id,
                sequence,
            ),
        )
        await session.refresh(redemption)
    return redemption, done


async def _find_redemption(
    session: AsyncSession,
    principal: Principal,
    *,
    redemption_id: uuid.UUID | None,
    code: str | None,
    order_reference: str | None,
) -> Redemption:
    query = select(Redemption).where(Redemption.client_id == principal.client_id)
    if redemption_id is not None:
        query = query.where(Redemption.id == redemption_id)
    elif code and order_reference:
        query = query.join(Voucher, Voucher.id == Redemption.voucher_id).where(
            Voucher.code == normalize(code), Redemption.order_reference == order_reference.strip()
        )
    else:
        raise InvalidInput("Name the redemption: code and order_reference.", field="order_reference")
    redemption = await session.scalar(query)
    if redemption is None:
        raise RedemptionNotFound("No redemption of this voucher for that order_reference.")
    return redemption


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _reference(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_REFERENCE_LENGTH:
        raise InvalidInput(
            f"order_reference may be at most {MAX_REFERENCE_LENGTH} characters.", field="order_reference"
        )
    return value


async def get_redemption(session: AsyncSession, principal: Principal, redemption_id: uuid.UUID) -> Redemption:
    """The client's redemption (another client's is not found)."""
    redemption = await session.get(Redemption, redemption_id)
    if redemption is None or redemption.client_id != principal.client_id:
        raise RedemptionNotFound(
            "No redemption with this id.", resource_id=str(redemption_id), resource_type="redemption"
        )
    return redemption


async def list_redemptions(
    session: AsyncSession, principal: Principal, page: PageRequest
) -> tuple[list[Redemption], int]:
    """The client's redemptions, newest first, and how many there are (the campaigns' kept count)."""
    where = Redemption.client_id == principal.client_id
    total = await client_redemptions(session, principal.client_id)
    rows = await session.scalars(
        select(Redemption)
        .where(where)
        .order_by(Redemption.created_at.desc(), Redemption.id.desc())
        .offset(page.offset)
        .limit(page.limit)
    )
    return list(rows.all()), total or 0
