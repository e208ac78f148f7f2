"""Request fields as the Voucherify SDK sends them (JSON objects, ``null`` for "not given") and
our errors as Voucherify words them, for the vouchers and campaigns routes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from voucherd.api.voucherify.errors import InvalidQuery
from voucherd.api.voucherify.times import parse
from voucherd.campaigns.errors import CampaignNotFound
from voucherd.core.codes import CodePattern, normalize
from voucherd.core.errors import Conflict, InvalidInput, NotFound
from voucherd.vouchers.errors import VoucherCodeTaken, VoucherNotFound


class DuplicateFound(Conflict):
    code = "duplicate_found"


@contextmanager
def answers(code: str | None = None) -> Iterator[None]:
    """Our errors as Voucherify words them."""
    try:
        yield
    except VoucherNotFound:
        raise NotFound(
            f"Cannot find voucher with id {code}", resource_id=code, resource_type="voucher"
        ) from None
    except VoucherCodeTaken as taken:
        raise DuplicateFound(
            f"Duplicated resource found: voucher with code {taken.details.get('code')}",
            resource_id=taken.details.get("code"),
            resource_type="voucher",
        ) from None
    except CampaignNotFound as missing:
        raise NotFound(
            missing.message, resource_type="campaign", resource_id=missing.details.get("campaign")
        ) from None


def moment(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be an ISO 8601 date-time.", field=field)
    try:
        return parse(value, field=field)
    except InvalidQuery as bad:
        raise InvalidInput(bad.message, field=field) from None


def obj(value: Any, field: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise InvalidInput(f"{field} must be an object.", field=field)
    return value


def text(value: Any, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string.", field=field)
    return value


def code_pattern(config: Any) -> CodePattern | None:
    """``code_config``: ``prefix`` + (``pattern``, each ``#`` one random ``charset`` character, or
    ``length`` of them) + ``postfix``; codes are upper case, as the checkout matches them."""
    config = obj(config, "code_config")
    if not config:
        return None
    prefix = text(config.get("prefix"), "code_config.prefix") or ""
    postfix = text(config.get("postfix"), "code_config.postfix") or ""
    body_pattern = text(config.get("pattern"), "code_config.pattern")
    if body_pattern is None:
        length = config.get("length")
        if length is None:  # left out, or null as the SDK sends it: "not given"
            length = 8
        if isinstance(length, float) and length.is_integer():
            length = int(length)
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 32:
            raise InvalidInput(
                "code_config.length must be a whole number from 1 to 32.", field="code_config.length"
            )
        body_pattern = "#" * length
    charset = text(config.get("charset"), "code_config.charset")
    symbols = "".join(dict.fromkeys(charset.upper())) if charset else None
    return CodePattern.build(pattern=normalize(prefix + body_pattern + postfix), charset=symbols)


def redemption_quantity(data: dict[str, Any]) -> tuple[bool, int | None]:
    redemption = obj(data.get("redemption"), "redemption")
    if not redemption or "quantity" not in redemption:
        return False, None
    quantity = redemption["quantity"]
    if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int)):
        raise InvalidInput(
            "redemption.quantity must be a whole number, or null for no limit.", field="redemption.quantity"
        )
    return True, quantity
