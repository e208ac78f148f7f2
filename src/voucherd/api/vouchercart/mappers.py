"""VoucherCart's wire shapes: integer ids (our objects' numbers), camelCase names."""

from __future__ import annotations

from typing import Any

from voucherd.accounts.staff import Login, Registered
from voucherd.core import links
from voucherd.coupons import shapes
from voucherd.coupons.shapes import CouponView, DiscountView
from voucherd.models import SalesPage, Staff


def domain(page: SalesPage) -> dict[str, Any]:
    return {"id": page.number, "name": page.name, "url": links.shop_url(page.name)}


def domains(pages: list[SalesPage]) -> dict[str, Any]:
    return {"status": "success", "domains": [domain(page) for page in pages]}


def registered(result: Registered) -> dict[str, Any]:
    return {"status": "created", "clientId": result.client.number, "domainId": result.sales_page.number}


def profile(staff: Staff) -> dict[str, Any]:
    return {"email": staff.email, "fullName": staff.full_name, "id": staff.number, "locale": staff.locale}


def authenticated(login: Login) -> dict[str, Any]:
    return {
        "accessToken": login.access_token,
        "identifiedBy": str(login.token_id),
        "profile": profile(login.staff),
        "refreshToken": login.refresh_token,
        "status": "authenticated",
    }


def refreshed(login: Login) -> dict[str, Any]:
    return {
        "accessToken": login.access_token,
        "identifiedBy": str(login.token_id),
        "refreshToken": login.refresh_token,
        "status": "refreshed",
    }


def coupon(view: CouponView) -> dict[str, Any]:
    return shapes.coupon(view)


def discount(view: DiscountView, timezone: str) -> dict[str, Any]:
    """``redeemedAt`` in the client's timezone, as the seed prints it (``2016-12-07 14:17:59``)."""
    return shapes.discount(view, timezone)
