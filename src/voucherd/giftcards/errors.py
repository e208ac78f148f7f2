"""Why a gift voucher operation is refused."""

from __future__ import annotations

from voucherd.core.errors import Conflict, InvalidInput, NotFound


class MistypedCode(InvalidInput):
    code = "code_mistyped"
    default_message = (
        "This is not a gift voucher code: check it for a mistyped symbol "
        "(codes look like 7KQ2-M9XD-4TNB-HC6W-8RZ3)."
    )


class GiftCardNotFound(NotFound):
    code = "voucher_code_not_found"
    default_message = "No gift voucher has this code."


class ProductNotFound(NotFound):
    code = "voucher_not_found"
    default_message = "No gift voucher with this voucherId."


class OptionNotFound(NotFound):
    code = "option_not_found"
    default_message = "The gift voucher has no option with this optionId."


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_message = "No order with this orderId."


class NotOnSale(Conflict):
    code = "voucher_not_on_sale"
    default_message = "This gift voucher is unpublished: publish it before selling it."


class SoldOut(Conflict):
    code = "sold_out"
    default_message = "Not enough of this gift voucher is left in stock."


class OptionSold(Conflict):
    code = "option_sold"
    default_message = "An option that has been sold cannot be removed; unpublish the voucher instead."


class PaymentMismatch(InvalidInput):
    code = "payment_mismatch"


class CurrencyMismatch(InvalidInput):
    code = "currency_mismatch"


class NotRedeemableHere(Conflict):
    code = "not_redeemable_on_domain"
    default_message = "This gift voucher cannot be redeemed on this sales page."


class GiftCardUnusable(Conflict):
    """The code exists but cannot move now; the subclass says why."""

    code = "voucher_unusable"


class GiftCardUsedUp(GiftCardUnusable):
    code = "voucher_redeemed"
    default_message = "This gift voucher has been redeemed completely."


class GiftCardExpired(GiftCardUnusable):
    code = "voucher_expired"
    default_message = "This gift voucher has expired."


class GiftCardNotYetValid(GiftCardUnusable):
    code = "voucher_not_yet_valid"
    default_message = "This gift voucher cannot be redeemed yet."


class GiftCardRefunded(GiftCardUnusable):
    code = "voucher_refunded"
    default_message = "This gift voucher's order was refunded: the code no longer works."


class GiftCardReplaced(GiftCardUnusable):
    code = "voucher_regenerated"
    default_message = "This code was replaced by a new one (it was reported lost); use the new code."


class InsufficientBalance(Conflict):
    code = "insufficient_balance"


class NotAStoredValue(Conflict):
    code = "not_a_stored_value"
    default_message = "Only stored-value gift vouchers (monetary, predefined) can be topped up."


class TopUpOverCap(InvalidInput):
    code = "top_up_over_cap"


class HoldNotFound(NotFound):
    code = "hold_not_found"
    default_message = "This gift voucher has no hold with this id."


class HoldClosed(Conflict):
    code = "hold_closed"


class OrderRefunded(Conflict):
    code = "order_refunded"
    default_message = "This order was refunded: it can no longer be paid."
