from voucherd.core.errors import NotFound


class VoucherNotFound(NotFound):
    code = "voucher_not_found"
    default_message = "Voucher not found"


class JobNotFound(NotFound):
    code = "job_not_found"
    default_message = "Job not found."
