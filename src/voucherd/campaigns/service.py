"""Campaigns: the offer (discount, validity, uses per code) and how its codes look."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.campaigns.errors import CampaignNameTaken, CampaignNotFound, CodeSpaceTooSmall, LandingSlugTaken
from voucherd.campaigns.rules import (
    CampaignStatus,
    CodeRoom,
    DiscountType,
    code_room,
    describe_discount,
    end_of_day,
    normalize_slug,
    start_of_day,
)
from voucherd.campaigns.schemas import CampaignChanges, CampaignInput, CodeSettings, Moment
from voucherd.config import get_settings
from voucherd.core import clock
from voucherd.core.codes import CodePattern
from voucherd.core.errors import InvalidInput
from voucherd.core.money import MAX_MINOR, Amount, is_currency
from voucherd.core.pagination import Page, PageRequest
from voucherd.models import Campaign

MAX_USES_PER_VOUCHER = 1_000_000


async def create_campaign(session: AsyncSession, principal: Principal, data: CampaignInput) -> Campaign:
    """A new campaign for the caller's client; description generated when absent."""
    if data.discount_value is None and data.discount_type is not DiscountType.FREE_ITEM:
        raise InvalidInput(
            f"discount_value is required for a {data.discount_type.value} discount.", field="discount_value"
        )
    currency = (data.currency or principal.currency).upper()
    if not is_currency(currency):
        raise InvalidInput("currency must be a three-letter ISO 4217 code.", field="currency")
    pattern = _code_pattern(data.codes)
    room = code_room_of(data.codes, wanted=data.planned_codes)
    if not room.fits:
        raise CodeSpaceTooSmall(
            room.refusal(), field="planned_codes", capacity=room.capacity, wanted=room.wanted
        )
    campaign = Campaign(
        client_id=principal.client_id,
        name=_name(data.name),
        currency=currency,
        code_pattern=pattern.pattern,
        code_charset=pattern.charset,
        status=data.status.value,
        auto_update=data.auto_update,
        landing_slug=normalize_slug(data.landing_slug) if data.landing_slug else None,
        terms=_terms(data.terms),
    )
    _apply_offer(
        campaign,
        principal,
        discount_type=data.discount_type,
        discount_value=Amount.minor(0) if data.discount_value is None else data.discount_value,
        description=data.discount_description,
        minimum_spend=data.minimum_spend,
        uses_per_voucher=data.uses_per_voucher,
    )
    campaign.valid_from = _moment(data.valid_from, principal.timezone, end=False)
    campaign.valid_until = _moment(data.valid_until, principal.timezone, end=True)
    _check_window(campaign)
    _apply_customer_limit(campaign, data.uses_per_customer, data.require_customer)
    session.add(campaign)
    await _flush(session)
    return campaign


def code_room_of(codes: CodeSettings, *, wanted: int | None = None) -> CodeRoom:
    """How many codes these code settings allow and whether ``wanted`` fit (the rule of
    :func:`voucherd.vouchers.service.check_capacity`); a malformed pattern is refused."""
    if wanted is not None and wanted < 1:
        raise InvalidInput("The number of codes must be at least 1.", field="planned_codes")
    return code_room(_code_pattern(codes), margin_bits=get_settings().code_space_margin_bits, wanted=wanted)


async def get_campaign(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID) -> Campaign:
    """The caller's campaign; another client's is not found."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or campaign.client_id != principal.client_id or campaign.deleted_at:
        raise CampaignNotFound()
    return campaign


async def campaign_named(session: AsyncSession, principal: Principal, name: str) -> uuid.UUID:
    """The id of the caller's one live campaign of this name (names are not unique: two answer a
    clear 422 asking for the id)."""
    name = name.strip()
    if not name:
        raise InvalidInput("campaign needs an id or a name.", field="campaign")
    ids = list(
        (
            await session.scalars(
                select(Campaign.id).where(
                    Campaign.client_id == principal.client_id,
                    Campaign.name == name,
                    Campaign.deleted_at.is_(None),
                )
            )
        ).all()
    )
    if not ids:
        raise CampaignNotFound(f"No campaign is named {name!r}.")
    if len(ids) > 1:
        raise InvalidInput(f"{len(ids)} campaigns are named {name!r}; give campaign.id.", field="campaign")
    return ids[0]


async def list_campaigns(
    session: AsyncSession,
    principal: Principal,
    page: PageRequest,
    *,
    with_standalone: bool = True,
    gift: bool | None = None,
    name_contains: str | None = None,
) -> Page[Campaign]:
    """Newest first; ``gift`` keeps only the campaigns of gift vouchers (or only the others);
    ``name_contains`` only those whose name contains it (ignoring case)."""
    where: tuple[Any, ...] = (Campaign.client_id == principal.client_id, Campaign.deleted_at.is_(None))
    if name_contains and name_contains.strip():
        where += (Campaign.name.icontains(name_contains.strip(), autoescape=True),)
    if not with_standalone:
        where += (Campaign.standalone.is_(False),)
    if gift is not None:
        where += ((Campaign.discount_type == DiscountType.GIFT) == gift,)
    total = await session.scalar(select(func.count()).select_from(Campaign).where(*where))
    rows = await session.scalars(
        select(Campaign)
        .where(*where)
        .order_by(Campaign.created_at.desc(), Campaign.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return Page(items=list(rows.all()), total=total or 0, request=page)


async def update_campaign(
    session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, update: CampaignChanges
) -> Campaign:
    """Apply the named changes; a generated description follows the new offer."""
    campaign = await get_campaign(session, principal, campaign_id)
    changes = update.changes
    if "name" in changes:
        campaign.name = _name(changes["name"])
    offer_keys = {
        "discount_type",
        "discount_value",
        "discount_description",
        "minimum_spend",
        "uses_per_voucher",
    }
    if offer_keys & changes.keys():
        discount_type = DiscountType(changes.get("discount_type", campaign.discount_type))
        if "discount_value" in changes:
            value = changes["discount_value"]
        elif "discount_type" in changes and discount_type.value != campaign.discount_type:
            raise InvalidInput("Changing discount_type needs a discount_value too.", field="discount_value")
        else:
            value = None
        _apply_offer(
            campaign,
            principal,
            discount_type=discount_type,
            discount_value=value,
            description=changes.get(
                "discount_description",
                None if campaign.description_is_generated else campaign.discount_description,
            ),
            minimum_spend=changes.get("minimum_spend", _KEEP),
            uses_per_voucher=changes.get("uses_per_voucher", campaign.uses_per_voucher),
        )
    if "valid_from" in changes:
        campaign.valid_from = _moment(changes["valid_from"], principal.timezone, end=False)
    if "valid_until" in changes:
        campaign.valid_until = _moment(changes["valid_until"], principal.timezone, end=True)
    _check_window(campaign)
    if {"uses_per_customer", "require_customer"} & changes.keys():
        _apply_customer_limit(
            campaign,
            changes.get("uses_per_customer", campaign.uses_per_customer),
            bool(changes.get("require_customer", campaign.require_customer)),
        )
    if "status" in changes:
        campaign.status = CampaignStatus(changes["status"]).value
    if "auto_update" in changes:
        campaign.auto_update = bool(changes["auto_update"])
    if "landing_slug" in changes:
        slug = changes["landing_slug"]
        campaign.landing_slug = normalize_slug(slug) if slug else None
    if "terms" in changes:
        campaign.terms = _terms(changes["terms"])
    campaign.updated_at = clock.now()
    await _flush(session)
    return campaign


async def _flush(session: AsyncSession) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise LandingSlugTaken() from None


def _terms(terms: str | None) -> str | None:
    terms = terms.strip() if terms else None
    if terms and len(terms) > 5000:
        raise InvalidInput("terms may be at most 5,000 characters.", field="terms")
    return terms or None


async def delete_campaign(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID) -> None:
    """Soft delete: its codes stop validating ("Voucher not found"); redemption history stays."""
    campaign = await get_campaign(session, principal, campaign_id)
    campaign.deleted_at = clock.now()
    await session.flush()


def _apply_customer_limit(campaign: Campaign, uses_per_customer: int | None, require_customer: bool) -> None:
    if uses_per_customer is not None and not 1 <= uses_per_customer <= MAX_USES_PER_VOUCHER:
        raise InvalidInput(
            f"uses_per_customer must be between 1 and {MAX_USES_PER_VOUCHER}, or null for no limit.",
            field="uses_per_customer",
        )
    if require_customer and uses_per_customer is None:
        raise InvalidInput(
            "require_customer needs a uses_per_customer limit: it refuses redemptions that name no "
            "customer because the limit could not apply to them.",
            field="require_customer",
        )
    campaign.uses_per_customer = uses_per_customer
    campaign.require_customer = require_customer


class _Keep:
    """Leave the field as it is (PATCH without it)."""


_KEEP = _Keep()


def _apply_offer(
    campaign: Campaign,
    principal: Principal,
    *,
    discount_type: DiscountType,
    discount_value: Amount | None,
    description: str | None,
    minimum_spend: Amount | _Keep | None,
    uses_per_voucher: int,
) -> None:
    currency = campaign.currency
    if discount_value is not None:
        campaign.discount_value = _discount_value(discount_type, discount_value, currency)
    campaign.discount_type = discount_type.value
    if isinstance(minimum_spend, Amount):
        campaign.minimum_spend = minimum_spend.in_minor_units(currency, field="minimum_spend")
    elif minimum_spend is None:
        campaign.minimum_spend = None
    if not 1 <= uses_per_voucher <= MAX_USES_PER_VOUCHER:
        raise InvalidInput(
            f"uses_per_voucher must be between 1 and {MAX_USES_PER_VOUCHER}.", field="uses_per_voucher"
        )
    campaign.uses_per_voucher = uses_per_voucher
    description = description.strip() if description else None
    if description is None and discount_type is DiscountType.FREE_ITEM:
        raise InvalidInput(
            "A free_item campaign needs a discount_description saying what the free item is, "
            "for example 'Free dessert with any main course'.",
            field="discount_description",
        )
    if description and len(description) > 500:
        raise InvalidInput(
            "discount_description may be at most 500 characters.", field="discount_description"
        )
    campaign.description_is_generated = description is None
    campaign.discount_description = description or describe_discount(
        discount_type, campaign.discount_value, currency
    )


def _discount_value(discount_type: DiscountType, value: Amount, currency: str) -> int:
    if discount_type is DiscountType.FREE_ITEM:
        return 0
    if discount_type is DiscountType.PERCENTAGE:
        return value.in_basis_points(field="discount_value")
    minor = value.in_minor_units(currency, field="discount_value")
    if minor <= 0:
        raise InvalidInput("discount_value must be more than 0.", field="discount_value")
    return minor


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("name must be 1 to 200 characters.", field="name")
    return name


def _code_pattern(codes: CodeSettings) -> CodePattern:
    return CodePattern.build(
        pattern=codes.pattern, prefix=codes.prefix, length=codes.length, charset=codes.charset
    )


def _moment(value: Moment | None, timezone: str, *, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput(
                "Datetimes need a timezone, for example 2026-03-31T23:59:59Z.",
                field="valid_until" if end else "valid_from",
            )
        return value
    assert isinstance(value, date)
    return end_of_day(value, timezone) if end else start_of_day(value, timezone)


def _check_window(campaign: Campaign) -> None:
    if campaign.valid_from and campaign.valid_until and campaign.valid_until <= campaign.valid_from:
        raise InvalidInput("valid_until must be after valid_from.", field="valid_until")


# A standalone voucher without a limit of uses: the most the column holds, shown as "unlimited".
UNLIMITED_USES = 2_147_483_647


async def create_standalone(
    session: AsyncSession,
    principal: Principal,
    *,
    code: str,
    discount_type: DiscountType,
    discount_value: int,
    uses_per_voucher: int | None,
    valid_from: datetime | None,
    valid_until: datetime | None,
    pattern: CodePattern,
) -> Campaign:
    """The campaign of one voucher created on its own (Voucherify's standalone voucher): the
    voucher's offer, uses and window; ``uses_per_voucher`` ``None`` is no limit. Values in our
    units (basis points, minor units of the client's currency)."""
    campaign = Campaign(
        client_id=principal.client_id,
        name=_name(f"Voucher {code}"[:200]),
        currency=principal.currency,
        code_pattern=pattern.pattern,
        code_charset=pattern.charset,
        status=CampaignStatus.ACTIVE.value,
        standalone=True,
    )
    set_standalone_offer(campaign, discount_type=discount_type, discount_value=discount_value)
    set_standalone_uses(campaign, uses_per_voucher)
    campaign.valid_from, campaign.valid_until = valid_from, valid_until
    _check_window(campaign)
    session.add(campaign)
    await session.flush()
    return campaign


def check_own_offer(discount_type: DiscountType, value: int) -> None:
    """A voucher's own offer (Voucherify's ``discount`` or ``gift``), in its fields' words."""
    if discount_type is DiscountType.PERCENTAGE and not 0 < value <= 10_000:
        raise InvalidInput("percent_off must be more than 0 and at most 100.", field="discount.percent_off")
    if discount_type is DiscountType.FIXED and not 0 < value <= MAX_MINOR:
        raise InvalidInput(
            f"amount_off must be more than 0 and at most {MAX_MINOR} (minor units).",
            field="discount.amount_off",
        )
    if discount_type is DiscountType.GIFT and not 0 < value <= MAX_MINOR:
        raise InvalidInput(
            f"gift.amount must be more than 0 and at most {MAX_MINOR} (minor units).", field="gift.amount"
        )


def set_standalone_offer(campaign: Campaign, *, discount_type: DiscountType, discount_value: int) -> None:
    check_own_offer(discount_type, discount_value)
    campaign.discount_type = discount_type.value
    campaign.discount_value = discount_value
    campaign.description_is_generated = True
    campaign.discount_description = describe_discount(discount_type, discount_value, campaign.currency)


def set_standalone_uses(campaign: Campaign, uses_per_voucher: int | None) -> None:
    if uses_per_voucher is not None and not 1 <= uses_per_voucher <= MAX_USES_PER_VOUCHER:
        raise InvalidInput(
            f"redemption.quantity must be between 1 and {MAX_USES_PER_VOUCHER:,}, or null for no limit.",
            field="redemption.quantity",
        )
    campaign.uses_per_voucher = UNLIMITED_USES if uses_per_voucher is None else uses_per_voucher


def set_window(campaign: Campaign, valid_from: datetime | None, valid_until: datetime | None) -> None:
    campaign.valid_from, campaign.valid_until = valid_from, valid_until
    _check_window(campaign)
    campaign.updated_at = clock.now()


@dataclass(frozen=True)
class CodesCampaign:
    """A campaign whose codes are made from ``pattern`` (Voucherify's campaign): our units (basis
    points, minor units of the client's currency); ``uses_per_voucher`` ``None`` is no limit;
    ``profile`` is what the dialect keeps and shows back."""

    name: str
    discount_type: DiscountType
    discount_value: int
    pattern: CodePattern
    uses_per_voucher: int | None = 1
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    auto_update: bool = False
    profile: dict[str, Any] | None = None


async def create_codes_campaign(session: AsyncSession, principal: Principal, data: CodesCampaign) -> Campaign:
    """A new campaign whose name no other live campaign of the client has
    (:class:`CampaignNameTaken`)."""
    name = _name(data.name)
    taken = await session.scalar(
        select(Campaign.id).where(
            Campaign.client_id == principal.client_id,
            Campaign.name == name,
            Campaign.deleted_at.is_(None),
        )
    )
    if taken is not None:
        raise CampaignNameTaken(f"A campaign named {name!r} already exists.", name=name)
    campaign = Campaign(
        client_id=principal.client_id,
        name=name,
        currency=principal.currency,
        code_pattern=data.pattern.pattern,
        code_charset=data.pattern.charset,
        status=CampaignStatus.ACTIVE.value,
        auto_update=data.auto_update,
        profile=data.profile,
    )
    set_standalone_offer(campaign, discount_type=data.discount_type, discount_value=data.discount_value)
    set_standalone_uses(campaign, data.uses_per_voucher)
    campaign.valid_from, campaign.valid_until = data.valid_from, data.valid_until
    _check_window(campaign)
    session.add(campaign)
    await session.flush()
    return campaign


async def codes_campaign(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID) -> Campaign:
    """The caller's live campaign, not one made for a standalone voucher."""
    campaign = await get_campaign(session, principal, campaign_id)
    if campaign.standalone:
        raise CampaignNotFound()
    return campaign
