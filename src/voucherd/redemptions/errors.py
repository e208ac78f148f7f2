"""Errors of recording and rolling back redemptions (why a code cannot be used: offers.errors)."""

from voucherd.core.errors import Conflict, NotFound


class OrderReferenceConflict(Conflict):
    code = "order_reference_conflict"


class RedemptionNotFound(NotFound):
    code = "redemption_not_found"


class NeedsSession(Exception):
    """The code turned out to be a gift voucher, whose redemption moves a balance through the
    session: the caller runs the checkout again in a transaction (nothing was written)."""
