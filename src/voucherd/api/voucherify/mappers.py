"""Voucherify's objects (``voucherify-api.md`` section 4) from ours: prefixed string ids
(``aa_...``), integers where the SDK types integers, ISO 8601 date-times."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from voucherd.core import clock
from voucherd.core.errors import NotFound
from voucherd.models import Job

ASYNC_ACTION = "aa_"
REDEMPTION = "r_"
ROLLBACK = "rr_"
VOUCHER = "v_"
CAMPAIGN = "camp_"
VALIDATION = "valid_"
# Our job kinds as Voucherify names the work.
ACTION_TYPES = {
    "generate_codes": "CAMPAIGN.VOUCHERS_GENERATE",
    "delete_campaign": "CAMPAIGN.VOUCHERS_DELETE",
    "record_export_publications": "CAMPAIGN.VOUCHERS_EXPORT",
    "recipient_upload": "CAMPAIGN.VOUCHERS_IMPORT",
    "mail.voucher": "VOUCHER.MAIL",
}
_STATUS = {"queued": "ENQUEUED", "running": "IN_PROGRESS", "succeeded": "DONE", "failed": "FAILED"}
_OPERATION = {"succeeded": "SUCCESS", "failed": "FAILED"}


def moment(value: datetime | None) -> str | None:
    return None if value is None else clock.isoformat_z_precise(value)


def prefixed(prefix: str, value: uuid.UUID) -> str:
    return f"{prefix}{value.hex}"


def unprefixed(prefix: str, value: str, resource_type: str) -> uuid.UUID:
    """Our id from a prefixed one; a malformed id is simply not found."""
    try:
        if not value.startswith(prefix):
            raise ValueError(value)
        return uuid.UUID(hex=value[len(prefix) :])
    except ValueError:
        raise NotFound(
            f"Cannot find {resource_type} with id {value}", resource_id=value, resource_type=resource_type
        ) from None


def async_action(job: Job, *, with_result: bool) -> dict[str, Any]:
    progress = 100 if job.status == "succeeded" else (job.progress * 100 // job.total if job.total else 0)
    finished = job.finished_at or job.created_at
    body: dict[str, Any] = {
        "id": prefixed(ASYNC_ACTION, job.id),
        "type": ACTION_TYPES.get(job.kind, job.kind.upper()),
        "status": _STATUS.get(job.status, "IN_PROGRESS"),
        "operation_status": _OPERATION.get(job.status, "UNKNOWN"),
        "progress": min(progress, 100),
        "created_at": moment(job.created_at),
        "updated_at": moment(finished),
        "request_id": None,
        "processing_time": int((finished - job.created_at).total_seconds() * 1000) if job.finished_at else 0,
        "object": "async_action",
    }
    if with_result:
        body["result"] = job.result or {}
    return body
