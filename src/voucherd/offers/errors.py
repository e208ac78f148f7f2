"""Why a voucher cannot be used. Messages are VoucherTrack's documented strings."""

from voucherd.core.errors import NotRedeemable, QuotaExceeded


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


class VoucherAlreadyRedeemed(QuotaExceeded):
    code = "voucher_exhausted"
    default_message = "Voucher has already been redeemed"


class MaximumUsesReached(QuotaExceeded):
    code = "voucher_exhausted"
    default_message = "Maximum uses reached"


class MinimumSpendNotMet(NotRedeemable):
    reason = "minimum_spend_not_met"
