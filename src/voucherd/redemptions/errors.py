"""Errors of recording and rolling back redemptions (why a code cannot be used: offers.errors)."""

from voucherd.core.errors import Conflict, NotFound, PermissionDenied


class OrderReferenceConflict(Conflict):
    code = "order_reference_conflict"


class RedemptionNotFound(NotFound):
    code = "redemption_not_found"


class NeedsSession(Exception):
    """The code turned out to be a gift voucher, whose redemption moves a balance through the
    session: the caller runs the checkout again in a transaction (nothing was written)."""


class UndoNotYours(PermissionDenied):
    code = "undo_not_yours"
    default_message = (
        "Only the staff member who redeemed it can undo it at the counter; a manager can roll it back."
    )


class UndoTooLate(Conflict):
    code = "undo_too_late"
    default_message = (
        "It is more than 5 minutes since this redemption: it can no longer be undone at the counter; "
        "a manager can roll it back."
    )
