from voucherd.core.errors import Conflict, NotFound


class VoucherNotFound(NotFound):
    code = "voucher_not_found"
    default_message = "Voucher not found"


class VoucherCodeTaken(Conflict):
    code = "voucher_code_taken"
    default_message = "A voucher with this code already exists."
