"""Issuing codes and reading vouchers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.campaigns import service as campaigns
from voucherd.campaigns.errors import CampaignNotFound, CodeSpaceTooSmall
from voucherd.campaigns.figures import campaign_figures, figures_of_campaigns
from voucherd.campaigns.rules import DiscountType, code_room, describe_discount
from voucherd.campaigns.service import get_campaign
from voucherd.config import get_settings
from voucherd.core import clock
from voucherd.core.codes import MAX_CODE_LENGTH, CodePattern, normalize
from voucherd.core.errors import InvalidInput
from voucherd.core.pagination import Page, PageRequest, time_cursor, time_position
from voucherd.events import service as events
from voucherd.giftcards import vouchers as gift_vouchers
from voucherd.giftcards.vouchers import GiftBalance
from voucherd.jobs import service as jobs
from voucherd.models import Campaign, Customer, Job, Publication, Redemption, Voucher, VoucherOwner
from voucherd.offers.rules import CodeOffer, Discount, VoucherState, discount_of, offer_of, voucher_state
from voucherd.vouchers import repository
from voucherd.vouchers.errors import VoucherCodeTaken, VoucherNotFound

GENERATE_CODES = "generate_codes"
MAX_CODES_PER_REQUEST = 1_000_000


@dataclass(frozen=True)
class Generation:
    """Either the codes (made now) or the job that makes them."""

    campaign: Campaign
    codes: list[str] | None = None
    job: Job | None = None


@dataclass(frozen=True)
class VoucherDetails:
    voucher: Voucher
    campaign: Campaign
    state: VoucherState
    discount: Discount
    valid_until: datetime | None  # the code's own end of validity, else its campaign's
    remaining_uses: int
    redemptions: list[Redemption]


async def generate_vouchers(
    session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, *, count: int
) -> Generation:
    """Up to ``sync_code_limit`` codes are made in this transaction; more go to a resumable job.
    A request the code pattern cannot hold with the safety margin is refused before any code is
    made."""
    settings = get_settings()
    if not 1 <= count <= MAX_CODES_PER_REQUEST:
        raise InvalidInput(f"count must be between 1 and {MAX_CODES_PER_REQUEST:,}.", field="count")
    campaign = await get_campaign(session, principal, campaign_id)
    await check_capacity(session, campaign, adding=count)
    if count <= settings.sync_code_limit:
        codes = await issue_codes(session, campaign, count=count, job_id=None)
        await events.record(
            session,
            campaign.client_id,
            events.VOUCHERS_GENERATED,
            batch_event(campaign, count=count, job_id=None),
        )
        return Generation(campaign=campaign, codes=codes)
    job = await jobs.enqueue(
        session,
        kind=GENERATE_CODES,
        client_id=principal.client_id,
        payload={"campaign_id": str(campaign.id), "count": count},
        total=count,
    )
    return Generation(campaign=campaign, job=job)


async def check_capacity(
    session: AsyncSession, campaign: Campaign, *, adding: int, pattern: CodePattern | None = None
) -> None:
    pattern = pattern or CodePattern(campaign.code_pattern, campaign.code_charset)
    existing = await session.scalar(
        select(func.count()).select_from(Voucher).where(Voucher.campaign_id == campaign.id)
    )
    pending = await session.scalar(
        select(func.coalesce(func.sum(Job.total - Job.progress), 0)).where(
            Job.kind == GENERATE_CODES,
            Job.status.in_(("queued", "running")),
            Job.payload["campaign_id"].as_string() == str(campaign.id),
        )
    )
    wanted = (existing or 0) + (pending or 0) + adding
    room = code_room(pattern, margin_bits=get_settings().code_space_margin_bits, wanted=wanted)
    if not room.fits:
        raise CodeSpaceTooSmall(room.refusal(), field="count", capacity=room.capacity, wanted=wanted)


async def issue_codes(
    session: AsyncSession, campaign: Campaign, *, count: int, job_id: uuid.UUID | None
) -> list[str]:
    """Exactly ``count`` new unique codes, inserted in the current transaction."""
    pattern = CodePattern(campaign.code_pattern, campaign.code_charset)
    now = clock.now()
    issued: list[str] = []
    while len(issued) < count:
        # A collision (with an existing code, or inside the batch) is skipped by the insert and
        # simply drawn again; the capacity margin keeps that rare.
        inserted = await repository.insert_codes(
            session,
            client_id=campaign.client_id,
            campaign_id=campaign.id,
            codes=pattern.generate(count - len(issued)),
            job_id=job_id,
            now=now,
        )
        issued.extend(inserted)
    return issued


def batch_event(campaign: Campaign, *, count: int, job_id: uuid.UUID | None) -> dict[str, object]:
    return {
        "campaign_id": str(campaign.id),
        "campaign_name": campaign.name,
        "count": count,
        "job_id": str(job_id) if job_id else None,
    }


async def get_voucher(session: AsyncSession, principal: Principal, code: str) -> VoucherDetails:
    """A voucher with its state, uses left and redemption history (rollbacks included)."""
    voucher = await session.scalar(
        select(Voucher).where(Voucher.client_id == principal.client_id, Voucher.code == normalize(code))
    )
    if voucher is None:
        raise VoucherNotFound()
    campaign = await session.get(Campaign, voucher.campaign_id)
    if campaign is None or campaign.deleted_at is not None:
        raise VoucherNotFound()
    redemptions = await session.scalars(
        select(Redemption).where(Redemption.voucher_id == voucher.id).order_by(Redemption.created_at)
    )
    offer = offer_of(voucher, campaign)
    return VoucherDetails(
        voucher=voucher,
        campaign=campaign,
        state=voucher_state(offer, voucher.redeemed_count, clock.now()),
        discount=discount_of(voucher, campaign),
        valid_until=offer.valid_until,
        remaining_uses=max(campaign.uses_per_voucher - voucher.redeemed_count, 0),
        redemptions=list(redemptions.all()),
    )


async def list_vouchers(
    session: AsyncSession,
    principal: Principal,
    campaign_id: uuid.UUID,
    *,
    redeemed: bool | None,
    page: PageRequest,
    code: str | None = None,
) -> tuple[Campaign, Page[Voucher]]:
    """The campaign's codes, oldest first, by ``page`` or after a cursor (``page.after``); the
    total is the campaign's kept count, so neither costs a scan of its codes. ``code``: only that
    whole code (looked up by its index)."""
    campaign = await get_campaign(session, principal, campaign_id)
    figures = await campaign_figures(session, campaign.id)
    where = [Voucher.campaign_id == campaign.id]
    total = figures["issued"]
    if redeemed is True:
        where.append(Voucher.redeemed_count > 0)
        total = figures["redeemed_codes"]
    elif redeemed is False:
        where.append(Voucher.redeemed_count == 0)
        total -= figures["redeemed_codes"]
    if code is not None and code.strip():
        where += [Voucher.client_id == principal.client_id, Voucher.code == normalize(code)]
        total = await session.scalar(select(func.count()).select_from(Voucher).where(*where)) or 0
    query = select(Voucher).where(*where).order_by(Voucher.created_at, Voucher.id).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(tuple_(Voucher.created_at, Voucher.id) > time_position(page.after))
    else:
        query = query.offset(page.offset)
    rows = list((await session.scalars(query)).all())
    items = rows[: page.limit]
    last = items[-1] if len(rows) > page.limit else None
    cursor = None if last is None else time_cursor(last.created_at, last.id)
    return campaign, Page(items=items, total=total, request=page, next_cursor=cursor, keyset=True)


async def issue_personal_codes(
    session: AsyncSession,
    campaign: Campaign,
    *,
    count: int,
    pattern: CodePattern | None = None,
    offer: repository.OwnOffer | None = None,
) -> list[tuple[uuid.UUID, str]]:
    """Exactly ``count`` new codes, each to be handed to one person: (voucher id, code) pairs in
    the current transaction. ``pattern`` and ``offer`` override the campaign's for these codes.
    The caller checks capacity and writes the ``voucher.created`` events (:func:`created_event`:
    the codes are inserted with their first event number taken)."""
    pattern = pattern or CodePattern(campaign.code_pattern, campaign.code_charset)
    now = clock.now()
    issued: list[tuple[uuid.UUID, str]] = []
    while len(issued) < count:
        issued.extend(
            await repository.insert_vouchers(
                session,
                client_id=campaign.client_id,
                campaign_id=campaign.id,
                codes=pattern.generate(count - len(issued)),
                offer=offer,
                now=now,
            )
        )
    return issued


def created_event(campaign: Campaign, voucher_id: uuid.UUID, code: str, **more: object) -> dict[str, object]:
    """The ``voucher.created`` data of a code issued singly: the code's first event. Such codes
    are inserted with ``event_sequence`` at 1 (:func:`issue_personal_codes`), so numbering their
    events costs no statement per code."""
    return {
        "voucher_id": str(voucher_id),
        "voucher_code": code,
        "campaign_id": str(campaign.id),
        "campaign_name": campaign.name,
        **more,
        events.SEQUENCE: events.FIRST_SEQUENCE,
    }


# Vouchers one at a time, with their own state (the Voucherify dialect's vouchers): a voucher in a
# campaign takes its campaign's offer unless it has its own; a standalone one gets a campaign of
# its own (flagged ``standalone``) that holds its offer, uses and window.


@dataclass(frozen=True)
class NewVoucher:
    """A voucher to create. ``code`` ``None``: a random one of ``pattern``. Without a campaign the
    offer is required; ``uses`` ``None`` is no limit. Our units (basis points, minor units)."""

    code: str | None
    pattern: CodePattern | None = None
    campaign_id: uuid.UUID | None = None
    discount_type: DiscountType | None = None
    discount_value: int | None = None
    uses: int | None = None
    uses_given: bool = False
    active: bool = True
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    metadata: dict[str, Any] | None = None
    additional_info: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class VoucherView:
    """One voucher as its owner sees it: the code, its campaign, how often it was handed out and
    to whom it was last given (``holder_id``)."""

    voucher: Voucher
    campaign: Campaign
    publications: int
    holder_id: uuid.UUID | None
    gift: GiftBalance | None = None  # a gift voucher's balance (giftcards.vouchers)

    @property
    def offer(self) -> CodeOffer:
        return offer_of(self.voucher, self.campaign)

    @property
    def discount(self) -> Discount:
        return discount_of(self.voucher, self.campaign)


# What a change may name (``VoucherChanges``): keys present are set, absent ones kept.
CHANGEABLE = frozenset(
    {"active", "metadata", "additional_info", "category", "valid_from", "valid_until", "discount", "uses"}
)
MAX_RANDOM_ATTEMPTS = 20


async def create_voucher(session: AsyncSession, principal: Principal, new: NewVoucher) -> VoucherView:
    """One voucher, in a campaign of the caller or standalone; a code taken is
    :class:`VoucherCodeTaken`."""
    code = await _new_code(session, principal, new)
    if new.campaign_id is not None:
        campaign = await get_campaign(session, principal, new.campaign_id)
        if campaign.standalone:  # it holds one voucher's offer, and goes with that voucher
            raise CampaignNotFound()
        if new.uses_given and new.uses != _uses_of(campaign):
            raise InvalidInput(
                "redemption.quantity of a campaign's voucher is its campaign's; leave it out.",
                field="redemption.quantity",
            )
    else:
        if new.discount_type is None or new.discount_value is None:
            raise InvalidInput("A voucher without a campaign needs its discount.", field="discount")
        campaign = await campaigns.create_standalone(
            session,
            principal,
            code=code,
            discount_type=new.discount_type,
            discount_value=new.discount_value,
            uses_per_voucher=new.uses,
            valid_from=new.valid_from,
            valid_until=new.valid_until,
            pattern=new.pattern or CodePattern.build(),
        )
    voucher = Voucher(
        client_id=principal.client_id,
        campaign_id=campaign.id,
        code=code,
        redeemed_count=0,
        event_sequence=events.FIRST_SEQUENCE,
        active=new.active,
        metadata_=new.metadata or {},
        additional_info=_text(new.additional_info, "additional_info", 1000),
        category=_text(new.category, "category", 200),
    )
    if not campaign.standalone:
        voucher.valid_from, voucher.valid_until = new.valid_from, new.valid_until
        _check_own_window(voucher)
        if new.discount_type is not None and new.discount_value is not None:
            _set_own_discount(voucher, campaign, new.discount_type, new.discount_value)
    try:
        async with session.begin_nested():
            session.add(voucher)
            await session.flush()
    except IntegrityError:
        raise VoucherCodeTaken(f"A voucher with the code {code} already exists.", code=code) from None
    await events.record(
        session, principal.client_id, events.VOUCHER_CREATED, created_event(campaign, voucher.id, code)
    )
    offer = discount_of(voucher, campaign)
    loaded = offer.discount_value if offer.discount_type == DiscountType.GIFT else None
    return VoucherView(voucher, campaign, 0, None, None if loaded is None else GiftBalance(loaded, loaded))


async def own_voucher(
    session: AsyncSession, principal: Principal, code: str, *, voucher_id: uuid.UUID | None = None
) -> VoucherView:
    """The caller's voucher of this code (trimmed, any case), else of ``voucher_id`` when given;
    another client's is not found."""
    found, _ = await find_vouchers(session, principal, VoucherFilter(code=normalize(code)), limit=1, offset=0)
    if not found and voucher_id is not None:
        found, _ = await find_vouchers(
            session, principal, VoucherFilter(voucher_id=voucher_id), limit=1, offset=0
        )
    if not found:
        raise VoucherNotFound()
    return found[0]


async def own_vouchers(
    session: AsyncSession, principal: Principal, voucher_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, VoucherView]:
    """The caller's vouchers of these ids that :func:`own_voucher` would find, in a few queries
    whatever their number (a list page's codes)."""
    if not voucher_ids:
        return {}
    unique = tuple(dict.fromkeys(voucher_ids))
    found, _ = await find_vouchers(
        session, principal, VoucherFilter(voucher_ids=unique), limit=len(unique), offset=0
    )
    return {view.voucher.id: view for view in found}


async def update_voucher(
    session: AsyncSession,
    principal: Principal,
    code: str,
    changes: dict[str, Any],
    *,
    voucher_id: uuid.UUID | None = None,
) -> VoucherView:
    """Set what ``changes`` names (keys of :data:`CHANGEABLE`; ``discount`` a pair of type and
    value): a standalone voucher's offer, uses and window are its campaign's."""
    view = await own_voucher(session, principal, code, voucher_id=voucher_id)
    voucher, campaign = view.voucher, view.campaign
    unknown = changes.keys() - CHANGEABLE
    if unknown:
        raise InvalidInput(f"Cannot change {', '.join(sorted(unknown))}.")
    if "active" in changes:
        voucher.active = bool(changes["active"])
    if "metadata" in changes:
        voucher.metadata_ = changes["metadata"] or {}
    if "additional_info" in changes:
        voucher.additional_info = _text(changes["additional_info"], "additional_info", 1000)
    if "category" in changes:
        voucher.category = _text(changes["category"], "category", 200)
    if "discount" in changes and (view.gift is not None or changes["discount"][0] == DiscountType.GIFT):
        raise InvalidInput(
            "A gift voucher is worth its balance and a discount voucher its discount: one cannot "
            "become the other. Create a new voucher instead.",
            field="discount",
        )
    window = {"valid_from", "valid_until"} & changes.keys()
    if campaign.standalone:
        if window:
            campaigns.set_window(
                campaign,
                changes.get("valid_from", campaign.valid_from),
                changes.get("valid_until", campaign.valid_until),
            )
        if "discount" in changes:
            discount_type, value = changes["discount"]
            campaigns.set_standalone_offer(campaign, discount_type=discount_type, discount_value=value)
        if "uses" in changes:
            campaigns.set_standalone_uses(campaign, changes["uses"])
        campaign.updated_at = clock.now()
    else:
        if window:
            voucher.valid_from = changes.get("valid_from", voucher.valid_from)
            voucher.valid_until = changes.get("valid_until", voucher.valid_until)
            _check_own_window(voucher)
        if "discount" in changes:
            _set_own_discount(voucher, campaign, *changes["discount"])
        if "uses" in changes and changes["uses"] != _uses_of(campaign):
            raise InvalidInput(
                "redemption.quantity of a campaign's voucher is its campaign's.", field="redemption.quantity"
            )
    voucher.updated_at = clock.now()
    await session.flush()
    return view


async def set_active(
    session: AsyncSession,
    principal: Principal,
    code: str,
    *,
    active: bool,
    voucher_id: uuid.UUID | None = None,
) -> VoucherView:
    """Enable or disable a voucher: a disabled one neither validates nor redeems anywhere."""
    return await update_voucher(session, principal, code, {"active": active}, voucher_id=voucher_id)


async def delete_voucher(session: AsyncSession, principal: Principal, code: str) -> None:
    """Delete the voucher for good (its redemptions and hand-outs with it); a standalone one takes
    its campaign along."""
    view = await own_voucher(session, principal, code)
    if view.campaign.standalone:
        await session.execute(delete(Campaign).where(Campaign.id == view.campaign.id))
    else:
        await session.execute(delete(Voucher).where(Voucher.id == view.voucher.id))


@dataclass(frozen=True)
class VoucherFilter:
    code: str | None = None
    voucher_id: uuid.UUID | None = None
    voucher_ids: tuple[uuid.UUID, ...] | None = None  # any of these
    campaign_id: uuid.UUID | None = None
    campaign_name: str | None = None
    category: str | None = None
    holder_id: uuid.UUID | None = None
    holder_source_id: str | None = None  # the holder's external_id
    created_before: datetime | None = None
    created_after: datetime | None = None
    updated_before: datetime | None = None
    updated_after: datetime | None = None
    order: str = "-created_at"  # created_at, updated_at or code; "-" first: descending


ORDERS = frozenset({"created_at", "updated_at", "code"})


MAX_KEPT_CAMPAIGNS = 1000


async def _kept_total(session: AsyncSession, principal: Principal, where: VoucherFilter) -> int | None:
    """How many vouchers match, from the campaigns' kept counts, when the filter is one campaign or
    none (the lists a big client pages through); ``None`` when they cannot say."""
    only = {field.name: getattr(where, field.name) for field in fields(where)} | {"order": None}
    if any(value is not None for name, value in only.items() if name != "campaign_id"):
        return None
    live = select(Campaign.id).where(Campaign.client_id == principal.client_id, Campaign.deleted_at.is_(None))
    if where.campaign_id is not None:
        live = live.where(Campaign.id == where.campaign_id, Campaign.standalone.is_(False))
    campaign_ids = list((await session.scalars(live.limit(MAX_KEPT_CAMPAIGNS + 1))).all())
    if len(campaign_ids) > MAX_KEPT_CAMPAIGNS:  # many standalone codes: counting them is as cheap
        return None
    return sum((await count_codes(session, principal, campaign_ids)).values())


async def find_vouchers(
    session: AsyncSession, principal: Principal, where: VoucherFilter, *, limit: int, offset: int
) -> tuple[list[VoucherView], int]:
    """The caller's vouchers that match, in ``where.order`` (newest first by default), and how
    many match in all. Codes of a bulk job still running do not exist yet (as for the checkout)."""
    updated = func.coalesce(Voucher.updated_at, Voucher.created_at)
    holder = select(VoucherOwner.customer_id).where(VoucherOwner.voucher_id == Voucher.id).scalar_subquery()
    conditions: list[ColumnElement[bool]] = [
        Voucher.client_id == principal.client_id,
        Campaign.deleted_at.is_(None),
        or_(Voucher.job_id.is_(None), Job.status == "succeeded"),
    ]
    if where.code is not None:
        conditions.append(Voucher.code == where.code)
    if where.voucher_id is not None:
        conditions.append(Voucher.id == where.voucher_id)
    if where.voucher_ids is not None:
        conditions.append(Voucher.id.in_(where.voucher_ids))
    if where.campaign_id is not None:
        conditions += [Voucher.campaign_id == where.campaign_id, Campaign.standalone.is_(False)]
    if where.campaign_name is not None:
        conditions += [Campaign.name == where.campaign_name, Campaign.standalone.is_(False)]
    if where.category is not None:
        conditions.append(Voucher.category == where.category)
    if where.holder_id is not None:
        conditions.append(holder == where.holder_id)
    if where.holder_source_id is not None:
        conditions.append(
            holder.in_(
                select(Customer.id).where(
                    Customer.client_id == principal.client_id, Customer.external_id == where.holder_source_id
                )
            )
        )
    for column, before, after in (
        (Voucher.created_at, where.created_before, where.created_after),
        (updated, where.updated_before, where.updated_after),
    ):
        if before is not None:
            conditions.append(column < before)
        if after is not None:
            conditions.append(column > after)
    key = where.order.removeprefix("-")
    if key not in ORDERS:
        raise InvalidInput(
            f"order must be one of {', '.join(sorted(ORDERS))}, with '-' for descending.", field="order"
        )
    sort: Any = {"created_at": Voucher.created_at, "updated_at": updated, "code": Voucher.code}[key]
    descending = where.order.startswith("-")
    ordering = (sort.desc(), Voucher.id.desc()) if descending else (sort.asc(), Voucher.id.asc())
    matching = (
        select(Voucher.id)
        .join(Campaign, Campaign.id == Voucher.campaign_id)
        .outerjoin(Job, Job.id == Voucher.job_id)
        .where(*conditions)
    )
    total = await _kept_total(session, principal, where)
    if total is None:
        total = await session.scalar(select(func.count()).select_from(matching.subquery()))
    # The page's ids first, then their rows: a deep page skips ids, not whole rows with their holders.
    page = matching.order_by(*ordering).limit(limit).offset(offset)
    rows = (
        await session.execute(
            select(Voucher, Campaign, holder.label("holder_id"))
            .join(Campaign, Campaign.id == Voucher.campaign_id)
            .where(Voucher.id.in_(page.scalar_subquery()))
            .order_by(*ordering)
        )
    ).all()
    counts: dict[uuid.UUID, int] = {}
    if rows:
        counted = await session.execute(
            select(Publication.voucher_id, func.count())
            .where(Publication.voucher_id.in_([row[0].id for row in rows]))
            .group_by(Publication.voucher_id)
        )
        counts = {voucher_id: count for voucher_id, count in counted.all()}
    gifts = await gift_vouchers.balances(
        session,
        (
            (row[0].id, offer.discount_value)
            for row in rows
            if (offer := discount_of(row[0], row[1])).discount_type == DiscountType.GIFT
        ),
    )
    views = [
        VoucherView(row[0], row[1], counts.get(row[0].id, 0), row[2], gifts.get(row[0].id)) for row in rows
    ]
    return views, total or 0


def unlimited(campaign: Campaign) -> bool:
    return campaign.uses_per_voucher >= campaigns.UNLIMITED_USES


def _uses_of(campaign: Campaign) -> int | None:
    return None if unlimited(campaign) else campaign.uses_per_voucher


async def _new_code(session: AsyncSession, principal: Principal, new: NewVoucher) -> str:
    if new.code is not None:
        code = normalize(new.code)
        if not code or len(code) > MAX_CODE_LENGTH:
            raise InvalidInput(f"code must be 1 to {MAX_CODE_LENGTH} characters.", field="code")
        if await _taken(session, principal, code):
            raise VoucherCodeTaken(f"A voucher with the code {code} already exists.", code=code)
        return code
    pattern = new.pattern or CodePattern.build()
    for _ in range(MAX_RANDOM_ATTEMPTS):
        [code] = pattern.generate(1)
        if not await _taken(session, principal, code):
            return code
    raise InvalidInput(
        f"The code pattern {pattern.pattern} has no free code left; make it longer.", field="code_config"
    )


async def _taken(session: AsyncSession, principal: Principal, code: str) -> bool:
    found = await session.scalar(
        select(Voucher.id).where(Voucher.client_id == principal.client_id, Voucher.code == code)
    )
    return found is not None


def _set_own_discount(voucher: Voucher, campaign: Campaign, discount_type: DiscountType, value: int) -> None:
    campaigns.check_own_offer(discount_type, value)
    voucher.discount_type = discount_type.value
    voucher.discount_value = value
    voucher.discount_description = describe_discount(discount_type, value, campaign.currency)


def _check_own_window(voucher: Voucher) -> None:
    if voucher.valid_from and voucher.valid_until and voucher.valid_until <= voucher.valid_from:
        raise InvalidInput("expiration_date must be after start_date.", field="expiration_date")


def _text(value: str | None, field: str, longest: int) -> str | None:
    value = value.strip() if isinstance(value, str) else value
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string.", field=field)
    if value and len(value) > longest:
        raise InvalidInput(f"{field} may be at most {longest:,} characters.", field=field)
    return value or None


# A campaign's codes in bulk, for the Voucherify dialect: generated by the bulk job, counted as the
# checkout sees them, and deleted with their campaign.

DELETE_CAMPAIGN = "delete_campaign"


async def enqueue_codes(
    session: AsyncSession, principal: Principal, campaign: Campaign, *, count: int
) -> Job:
    """``count`` new codes of the campaign made by the bulk generation job (its codes exist once
    the job succeeded); refused before anything is made when the pattern cannot hold them."""
    if not 1 <= count <= MAX_CODES_PER_REQUEST:
        raise InvalidInput(
            f"vouchers_count must be between 1 and {MAX_CODES_PER_REQUEST:,}.", field="vouchers_count"
        )
    await check_capacity(session, campaign, adding=count)
    return await jobs.enqueue(
        session,
        kind=GENERATE_CODES,
        client_id=principal.client_id,
        payload={"campaign_id": str(campaign.id), "count": count},
        total=count,
    )


async def count_codes(
    session: AsyncSession, principal: Principal, campaign_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many codes each campaign has, as the checkout sees them (a running job's are not yet):
    the campaign's kept count, so a million codes cost no scan; only a campaign with a generation
    job not finished (its codes are counted before they exist for the checkout) is counted row by
    row, while that job runs."""
    if not campaign_ids:
        return {}
    kept = await figures_of_campaigns(session, campaign_ids)
    counts = {campaign_id: figures["issued"] for campaign_id, figures in kept.items()}
    unfinished = await session.scalars(
        select(Job.payload).where(
            Job.client_id == principal.client_id, Job.kind == GENERATE_CODES, Job.status != "succeeded"
        )
    )
    pending = {uuid.UUID(payload["campaign_id"]) for payload in unfinished} & set(campaign_ids)
    if pending:
        rows = await session.execute(
            select(Voucher.campaign_id, func.count())
            .outerjoin(Job, Job.id == Voucher.job_id)
            .where(Voucher.campaign_id.in_(pending), or_(Voucher.job_id.is_(None), Job.status == "succeeded"))
            .group_by(Voucher.campaign_id)
        )
        counts.update(dict.fromkeys(pending, 0))
        counts.update({campaign_id: count for campaign_id, count in rows.all()})
    return counts


async def delete_campaign_with_codes(session: AsyncSession, principal: Principal, campaign: Campaign) -> Job:
    """The campaign goes at once with its codes (they stop validating; redemption history stays,
    as for any deleted campaign), recorded as a finished job so the caller can follow it as work
    done."""
    count = (await count_codes(session, principal, [campaign.id])).get(campaign.id, 0)
    await campaigns.delete_campaign(session, principal, campaign.id)
    job = await jobs.enqueue(
        session,
        kind=DELETE_CAMPAIGN,
        client_id=principal.client_id,
        payload={"campaign_id": str(campaign.id)},
        total=count,
    )
    now = clock.now()
    job.status, job.progress, job.finished_at = "succeeded", count, now
    job.result = {"campaign_id": str(campaign.id), "deleted": count}
    await session.flush()
    return job
