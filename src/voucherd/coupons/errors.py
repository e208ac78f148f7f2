from voucherd.core.errors import Conflict, NotFound


class CouponNotFound(NotFound):
    code = "coupon_not_found"
    default_message = "Coupon not found."


class DiscountNotFound(NotFound):
    code = "discount_not_found"
    default_message = "Discount code not found."


class CouponEnded(Conflict):
    """A coupon whose redeemable window (expiry type ``time``) is over is not sold any more."""

    code = "coupon_ended"
