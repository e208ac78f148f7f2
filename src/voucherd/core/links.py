"""The public links of a code, a recipient and a sales page, on ``VOUCHERD_PUBLIC_URL``."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from voucherd.config import get_settings


def base_url() -> str:
    return get_settings().public_url.rstrip("/")


def redemption_url(code: str) -> str:
    return f"{base_url()}/redeem/{quote(code, safe='')}"


def pixel_url(recipient_id: uuid.UUID) -> str:
    """A 1x1 image for the email: loading it records the open (platforms without webhooks)."""
    return f"{base_url()}/t/o/{recipient_id}.gif"


def click_url(recipient_id: uuid.UUID) -> str:
    """A link to the voucher page that records the click on the way."""
    return f"{base_url()}/t/c/{recipient_id}"


def shop_url(sales_page: str) -> str:
    """A sales page's address (VoucherCart's domain ``url``), where the gift voucher shop answers."""
    return f"{base_url()}/shop/{quote(sales_page, safe='')}/"
