"""Voucherify's campaign object (``voucherify-api.md`` section 4) from one of our campaigns: the
template of its codes with ``code_config`` as given, ``vouchers_count`` its codes as the checkout
sees them, and the state of the job generating its first codes."""

from __future__ import annotations

from typing import Any

from voucherd.api.voucherify.mappers import ASYNC_ACTION, CAMPAIGN, moment, prefixed
from voucherd.api.voucherify.voucher_mappers import DISCOUNT_VOUCHER, GIFT_VOUCHER, discount, gift
from voucherd.campaigns.rules import DiscountType
from voucherd.models import Campaign, Job
from voucherd.offers.rules import Discount
from voucherd.vouchers.service import unlimited

DISCOUNT_COUPONS = "DISCOUNT_COUPONS"
GIFT_VOUCHERS = "GIFT_VOUCHERS"
CAMPAIGN_TYPES = (DISCOUNT_COUPONS, GIFT_VOUCHERS)
TYPES = ("AUTO_UPDATE", "STATIC", "STANDALONE")
_GENERATION = {"succeeded": "DONE", "failed": "FAILED"}


def generation_status(job: Job | None) -> str:
    """DONE once the first codes exist (or none were asked for)."""
    return "DONE" if job is None else _GENERATION.get(job.status, "IN_PROGRESS")


def campaign(row: Campaign, *, codes: int, job: Job | None) -> dict[str, Any]:
    profile = row.profile or {}
    status = generation_status(job)
    return {
        "id": prefixed(CAMPAIGN, row.id),
        "name": row.name,
        "description": None,
        "campaign_type": profile.get(
            "campaign_type", GIFT_VOUCHERS if row.discount_type == DiscountType.GIFT else DISCOUNT_COUPONS
        ),
        "type": profile.get("type", "AUTO_UPDATE" if row.auto_update else "STATIC"),
        "voucher": {
            **(
                {"type": GIFT_VOUCHER, "gift": gift(row.discount_value, row.discount_value)}
                if row.discount_type == DiscountType.GIFT
                else {
                    "type": DISCOUNT_VOUCHER,
                    "discount": discount(
                        Discount(row.discount_type, row.discount_value, row.discount_description)
                    ),
                }
            ),
            "redemption": {"quantity": None if unlimited(row) else row.uses_per_voucher},
            "code_config": profile.get("code_config") or {},
            "is_referral_code": False,
            "start_date": moment(row.valid_from),
            "expiration_date": moment(row.valid_until),
        },
        "auto_join": False,
        "join_once": bool(profile.get("join_once", False)),
        "use_voucher_metadata_schema": False,
        "start_date": moment(row.valid_from),
        "expiration_date": moment(row.valid_until),
        "vouchers_count": codes,
        "active": row.status == "active",
        "metadata": profile.get("metadata") or {},
        "created_at": moment(row.created_at),
        "updated_at": moment(row.updated_at),
        "category": None,
        "category_id": None,
        "categories": [],
        "creation_status": status,
        "vouchers_generation_status": status,
        "object": "campaign",
    }


def action_id(job: Job) -> str:
    return prefixed(ASYNC_ACTION, job.id)
