"""VoucherCart's coupons and discount codes (seed 003) over our core: a coupon is a campaign, a
discount code one of its vouchers."""
