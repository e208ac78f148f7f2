"""Voucherify's customer object (``voucherify-api.md`` section 4) from ours: ``id`` is
``cust_<hex>``, ``source_id`` our ``external_id``, ``phone`` the phone as written (else the
mobile), the address's ``postal_code`` our ``postcode``; no ``summary`` (the SDK would need all of
it), ``referrals`` empty."""

from __future__ import annotations

from typing import Any

from voucherd.api.voucherify.mappers import moment, prefixed
from voucherd.models import Customer

CUSTOMER = "cust_"


def customer(item: Customer) -> dict[str, Any]:
    birthdate = item.birthdate.isoformat() if item.birthdate else None
    return {
        "id": prefixed(CUSTOMER, item.id),
        "source_id": item.external_id,
        "name": item.name,
        "description": item.description,
        "email": item.email,
        "phone": item.phone or item.mobile,
        "birthdate": birthdate,
        "birthday": birthdate,
        "address": {
            "city": item.city,
            "state": item.state,
            "line_1": item.address_line_1,
            "line_2": item.address_line_2,
            "country": item.country,
            "postal_code": item.postcode,
        },
        "metadata": item.metadata_ or {},
        "system_metadata": {},
        "referrals": {"total": 0, "campaigns": []},
        "created_at": moment(item.created_at),
        "updated_at": moment(item.updated_at),
        "object": "customer",
    }
