from voucherd.core.errors import Conflict


class VoucherAlreadyPublished(Conflict):
    code = "voucher_already_published"
    default_message = "This code was already published to another customer."


class PoolExhausted(Conflict):
    code = "campaign_pool_exhausted"
