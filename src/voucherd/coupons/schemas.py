"""Inputs of the coupon service, by the seed's meaning (the dialect parses the wire into these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# A moment of an expiry of type ``time``: an aware datetime, a naive one (in the client's
# timezone) or a date alone (the start of that day for dateFrom, its end for dateTo).
Moment = date | datetime


@dataclass(frozen=True)
class ExpiryInput:
    type: str
    interval: str | None = None
    period: int | None = None
    date_from: Moment | None = None
    date_to: Moment | None = None


@dataclass(frozen=True)
class CouponInput:
    domain: int  # the sales page's number (``domainId``)
    title: str
    type: str
    amount: int
    terms: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None
    expiry: ExpiryInput | None = None


@dataclass(frozen=True)
class RecipientInput:
    email: str
    label: str | None = None


@dataclass(frozen=True)
class PaymentInput:
    amount: int
    currency: str
    title: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class PurchaseInput:
    domain: int | None = None  # when given, the coupon's own sales page
    payments: list[PaymentInput] = field(default_factory=list)
    recipients: list[RecipientInput] = field(default_factory=list)
