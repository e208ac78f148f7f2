from voucherd.core.errors import NotFound


class VoucherNotFound(NotFound):
    code = "voucher_not_found"
    default_message = "Voucher not found"
