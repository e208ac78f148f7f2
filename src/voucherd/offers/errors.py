"""Why a voucher cannot be used. Messages are VoucherTrack's documented strings."""

from voucherd.core.errors import InvalidInput, NotRedeemable, QuotaExceeded


class VoucherExpired(NotRedeemable):
    reason = "voucher_expired"
    default_message = "Voucher has expired"


class VoucherNotYetActive(NotRedeemable):
    reason = "voucher_not_active"
    default_message = "Voucher not yet active"


class CampaignPaused(NotRedeemable):
    """Paused campaigns answer with the "not yet active" message (the documented five have no
    other that fits; see docs/decisions.md); the reason code tells them apart."""

    reason = "campaign_paused"
    default_message = "Voucher not yet active"


class VoucherDisabled(NotRedeemable):
    """A code switched off on its own (Voucherify's disable). Like a paused campaign it answers
    VoucherTrack's "not yet active" message; the reason code tells them apart."""

    reason = "voucher_disabled"
    default_message = "Voucher not yet active"


class VoucherAlreadyRedeemed(QuotaExceeded):
    code = "voucher_exhausted"
    default_message = "Voucher has already been redeemed"


class MaximumUsesReached(QuotaExceeded):
    code = "voucher_exhausted"
    default_message = "Maximum uses reached"


class MinimumSpendNotMet(NotRedeemable):
    reason = "minimum_spend_not_met"


class CustomerLimitReached(QuotaExceeded):
    """The redemption's customer has redeemed the campaign as often as it allows."""

    code = "customer_limit_reached"


class CustomerRequired(InvalidInput):
    """The campaign limits uses per customer and refuses redemptions that name none."""

    code = "customer_required"
