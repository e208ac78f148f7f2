"""Pure campaign rules: descriptions, validity windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from voucherd.core.codes import CodePattern
from voucherd.core.errors import InvalidInput
from voucherd.core.money import basis_points_to_percent, describe_amount


class DiscountType(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"
    FREE_ITEM = "free_item"
    # A gift voucher: each code holds a balance, ``discount_value`` the amount it is loaded with
    # (giftcards.vouchers); at a checkout it is worth what is left.
    GIFT = "gift"


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


def describe_discount(discount_type: DiscountType, value: int, currency: str) -> str:
    """The generated ``discount_description``: "20% off your order", "£10 off your order"."""
    if discount_type is DiscountType.PERCENTAGE:
        return f"{basis_points_to_percent(value)}% off your order"
    if discount_type is DiscountType.FIXED:
        return f"{describe_amount(value, currency)} off your order"
    if discount_type is DiscountType.GIFT:
        return f"A {describe_amount(value, currency)} gift voucher"
    return "A free item with your order"


SLUG_LENGTH = 100


def normalize_slug(slug: str) -> str:
    """A landing page's address part: lower-case a-z, 0-9 and '-'."""
    slug = slug.strip().lower()
    if (
        not slug
        or len(slug) > SLUG_LENGTH
        or not all(c.isascii() and (c.isalnum() or c == "-") for c in slug)
    ):
        raise InvalidInput(
            f"landing_slug may contain only a-z, 0-9 and '-', 1 to {SLUG_LENGTH} characters.",
            field="landing_slug",
        )
    return slug


def end_of_day(day: date, timezone: str) -> datetime:
    """A date-only expiry lasts to the end of that day in the client's timezone."""
    return datetime.combine(day, time.max, tzinfo=ZoneInfo(timezone))


def start_of_day(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone))


def campaign_state(
    status: str, valid_from: datetime | None, valid_until: datetime | None, now: datetime
) -> str:
    """What a person is told of a campaign now: ``paused`` (by its status), ``ended`` (its
    validity is over), ``scheduled`` (not yet started) or ``active``."""
    if status == CampaignStatus.PAUSED:
        return "paused"
    if valid_until is not None and valid_until < now:
        return "ended"
    if valid_from is not None and valid_from > now:
        return "scheduled"
    return "active"


@dataclass(frozen=True)
class CodeRoom:
    """How many codes a pattern may hold (keeping ``margin_bits`` of sparsity, see
    :meth:`CodePattern.capacity`) and whether ``wanted`` of them fit."""

    pattern: str
    capacity: int
    margin_bits: int
    wanted: int | None = None

    @property
    def fits(self) -> bool:
        return self.wanted is None or self.wanted <= self.capacity

    def refusal(self) -> str:
        """The sentence that refuses a campaign of ``wanted`` codes its pattern cannot hold."""
        return (
            f"The code pattern {self.pattern} can hold at most {self.capacity:,} codes while "
            f"keeping codes unguessable (at most 1 in {2**self.margin_bits:,} guesses may hit a live "
            f"code); this campaign would have {self.wanted or 0:,}. Create a campaign with a longer "
            "code_length or a larger code_charset."
        )


def code_room(pattern: CodePattern, *, margin_bits: int, wanted: int | None = None) -> CodeRoom:
    """The room of ``pattern`` for ``wanted`` codes: the rule that refuses a code space too small
    for its campaign before any code is made."""
    return CodeRoom(pattern.pattern, pattern.capacity(margin_bits), margin_bits, wanted)
