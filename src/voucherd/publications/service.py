"""Publishing codes to customers (seed 002): a specific code, or N codes from a campaign's pool.

A code belongs to at most one customer, ever: ``voucher_owners`` has the voucher as its primary
key, and every publication row points at its owner row. Publishing a code to its owner again (on
another channel) only adds history."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.campaigns.figures import campaign_figures
from voucherd.campaigns.rules import DiscountType
from voucherd.campaigns.service import get_campaign
from voucherd.core import clock
from voucherd.core.codes import normalize
from voucherd.core.emails import email_key
from voucherd.core.errors import InvalidInput
from voucherd.core.ids import new_id
from voucherd.core.metadata import checked as checked_metadata
from voucherd.core.pagination import Page, PageRequest, time_cursor, time_position
from voucherd.customers import service as customers
from voucherd.events import service as events
from voucherd.models import Campaign, CampaignFigures, Customer, Publication, Voucher, VoucherOwner
from voucherd.publications import repository
from voucherd.publications.errors import PoolExhausted, VoucherAlreadyPublished
from voucherd.publications.schemas import (
    CustomerRef,
    PublicationBatch,
    PublicationEntry,
    PublicationFilter,
    PublicationResult,
    PublishedCode,
    PublishInput,
)
from voucherd.vouchers import service as vouchers
from voucherd.vouchers.errors import VoucherNotFound

MAX_PUBLISH_COUNT = 1000
MAX_CHANNEL_LENGTH = 100
MAX_SOURCE_ID_LENGTH = 200
# What a publication list may be sorted by.
LIST_ORDERS = ("created_at", "id", "voucher_code", "tracking_id", "customer_id", "channel")


async def publish(session: AsyncSession, principal: Principal, data: PublishInput) -> PublicationResult:
    """Hand a specific code, or ``count`` codes from a campaign's pool, to one customer. With a
    ``source_id`` (the caller's own id of the publication) one code only, and publishing again
    with the same ``source_id`` answers the first publication, changing nothing."""
    if data.source_id is None:
        return await _publish(session, principal, data)
    source_id = data.source_id.strip()
    if not source_id or len(source_id) > MAX_SOURCE_ID_LENGTH:
        raise InvalidInput(f"source_id must be 1 to {MAX_SOURCE_ID_LENGTH} characters.", field="source_id")
    if data.count != 1:
        raise InvalidInput(
            "A publication with a source_id publishes one code: leave count out.", field="count"
        )
    earlier = await by_source_id(session, principal, source_id)
    if earlier is not None:
        return earlier
    try:
        # A concurrent publish of the same source_id meets the unique key: only this savepoint
        # (its claim and its history) is undone, and the first publication is the answer.
        async with session.begin_nested():
            return await _publish(session, principal, replace(data, source_id=source_id))
    except IntegrityError:
        earlier = await by_source_id(session, principal, source_id)
        if earlier is None:
            raise
        return earlier


async def by_source_id(
    session: AsyncSession, principal: Principal, source_id: str
) -> PublicationResult | None:
    """The caller's publication of this ``source_id``, if there is one."""
    rows = (
        await session.execute(
            select(Publication, Voucher.code)
            .join(Voucher, Voucher.id == Publication.voucher_id)
            .where(Publication.client_id == principal.client_id, Publication.source_id == source_id)
            .order_by(Voucher.created_at, Voucher.id)
        )
    ).all()
    if not rows:
        return None
    first: Publication = rows[0][0]
    customer = await session.get(Customer, first.customer_id)
    assert customer is not None
    return PublicationResult(
        id=first.batch_id,
        created_at=first.created_at,
        customer=customer,
        channel=first.channel,
        metadata=first.metadata_,
        vouchers=[PublishedCode(row[0].voucher_id, row[1], row[0].campaign_id) for row in rows],
        source_id=source_id,
    )


async def _publish(session: AsyncSession, principal: Principal, data: PublishInput) -> PublicationResult:
    channel = _channel(data.channel)
    checked_metadata(data.metadata)
    if (data.code is None) == (data.campaign_id is None):
        raise InvalidInput("Name either a voucher (its code) or a campaign to publish from.", field="voucher")
    customer = await resolve_customer(session, principal, data.customer)
    if data.code is not None:
        campaign, published = await _publish_code(session, principal, data.code, customer)
    else:
        assert data.campaign_id is not None
        campaign, published = await _publish_from_pool(
            session, principal, data.campaign_id, data.count, customer
        )
    result = await record(
        session,
        principal,
        campaign=campaign,
        customer=customer,
        codes=published,
        channel=channel,
        metadata=data.metadata,
        source_id=data.source_id,
    )
    await events.record_many(
        session,
        principal.client_id,
        events.VOUCHER_PUBLISHED,
        [
            {
                "publication_id": str(result.id),
                "voucher_id": str(code.voucher_id),
                "voucher_code": code.code,
                "campaign_id": str(campaign.id),
                "campaign_name": campaign.name,
                "customer_id": str(customer.id),
                "customer_email": customer.email,
                "channel": channel,
                "metadata": data.metadata,
                "published_at": clock.isoformat_z(result.created_at),
            }
            for code in published
        ],
        about_vouchers=True,
    )
    return result


async def resolve_customer(session: AsyncSession, principal: Principal, ref: CustomerRef) -> Customer:
    if ref.id is not None:
        return await customers.get_customer(session, principal, ref.id)
    if ref.data is None:
        raise InvalidInput("customer is required: an id or the customer's details.", field="customer")
    return await customers.find_or_create(session, principal, ref.data)


async def record(
    session: AsyncSession,
    principal: Principal,
    *,
    campaign: Campaign,
    customer: Customer,
    codes: list[PublishedCode],
    channel: str,
    metadata: dict[str, Any] | None,
    source_id: str | None = None,
) -> PublicationResult:
    """History rows for codes the customer owns (one batch id for the call)."""
    batch_id = new_id()
    now = clock.now()
    await repository.insert_publications(
        session,
        [
            {
                "id": new_id(),
                "client_id": principal.client_id,
                "campaign_id": code.campaign_id,
                "voucher_id": code.voucher_id,
                "customer_id": customer.id,
                "batch_id": batch_id,
                "channel": channel,
                "metadata": metadata,
                "source_id": source_id,
                "created_at": now,
            }
            for code in codes
        ],
    )
    return PublicationResult(
        id=batch_id,
        created_at=now,
        customer=customer,
        channel=channel,
        metadata=metadata,
        vouchers=codes,
        source_id=source_id,
    )


async def _publish_code(
    session: AsyncSession, principal: Principal, code: str, customer: Customer
) -> tuple[Campaign, list[PublishedCode]]:
    voucher = await session.scalar(
        select(Voucher).where(Voucher.client_id == principal.client_id, Voucher.code == normalize(code))
    )
    if voucher is None:
        raise VoucherNotFound()
    campaign = await session.get(Campaign, voucher.campaign_id)
    if campaign is None or campaign.deleted_at is not None:
        raise VoucherNotFound()
    claimed = await repository.claim(
        session,
        client_id=principal.client_id,
        campaign_id=campaign.id,
        customer_id=customer.id,
        voucher_ids=[voucher.id],
        now=clock.now(),
    )
    if not claimed and await repository.owner_of(session, voucher.id) != customer.id:
        raise VoucherAlreadyPublished(
            f"Code {voucher.code} was already published to another customer; a code is never "
            "published to two customers. Publish another code, or one from the campaign's pool."
        )
    return campaign, [PublishedCode(voucher.id, voucher.code, campaign.id)]


async def _publish_from_pool(
    session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, count: int, customer: Customer
) -> tuple[Campaign, list[PublishedCode]]:
    if not 1 <= count <= MAX_PUBLISH_COUNT:
        raise InvalidInput(f"count must be between 1 and {MAX_PUBLISH_COUNT}.", field="count")
    campaign = await get_campaign(session, principal, campaign_id)
    now = clock.now()
    claimed: set[uuid.UUID] = set()
    # Candidates a concurrent publish claimed first are skipped by the insert; draw again until
    # enough are ours or the pool is empty.
    while len(claimed) < count:
        candidates = await repository.unpublished(session, campaign.id, limit=count - len(claimed))
        if not candidates:
            break
        claimed |= await repository.claim(
            session,
            client_id=principal.client_id,
            campaign_id=campaign.id,
            customer_id=customer.id,
            voucher_ids=candidates,
            now=now,
        )
    codes: list[PublishedCode] = []
    if claimed:
        rows = await session.execute(
            select(Voucher.id, Voucher.code)
            .where(Voucher.id.in_(claimed))
            .order_by(Voucher.created_at, Voucher.id)
        )
        codes = [PublishedCode(row.id, row.code, campaign.id) for row in rows]
    missing = count - len(codes)
    if missing:
        if not campaign.auto_update:
            raise PoolExhausted(
                f"Campaign {campaign.name!r} has {len(codes)} unpublished code(s) left and {count} "
                "were asked for. Generate more codes (POST /api/campaigns/{id}/vouchers) or turn on "
                "auto_update so that publishing makes new codes.",
                available=len(codes),
                requested=count,
            )
        codes.extend(await _new_codes(session, campaign, customer, missing))
    return campaign, codes


async def _new_codes(
    session: AsyncSession, campaign: Campaign, customer: Customer, count: int
) -> list[PublishedCode]:
    """An auto-update campaign grows by the codes a publish needs (seed 002)."""
    await vouchers.check_capacity(session, campaign, adding=count)
    issued = await vouchers.issue_personal_codes(session, campaign, count=count)
    now = clock.now()
    await repository.give_new_codes(
        session,
        client_id=campaign.client_id,
        campaign_id=campaign.id,
        owners=[(voucher_id, customer.id) for voucher_id, _ in issued],
        now=now,
    )
    await events.record_many(
        session,
        campaign.client_id,
        events.VOUCHER_CREATED,
        [
            vouchers.created_event(campaign, voucher_id, code, source="auto_update")
            for voucher_id, code in issued
        ],
    )
    return [PublishedCode(voucher_id, code, campaign.id) for voucher_id, code in issued]


def _channel(channel: str | None) -> str:
    channel = (channel or "").strip() or "API"
    if len(channel) > MAX_CHANNEL_LENGTH:
        raise InvalidInput(f"channel may be at most {MAX_CHANNEL_LENGTH} characters.", field="channel")
    return channel


async def history_for_campaign(
    session: AsyncSession,
    principal: Principal,
    campaign_id: uuid.UUID,
    page: PageRequest,
    *,
    search: str | None = None,
) -> Page[PublicationEntry]:
    """Who got which code of the campaign, when and through which channel (newest first); with
    ``search``, only the hand-outs of that whole code or to that whole email address (each an
    indexed lookup, so a search costs what a page does on any campaign)."""
    campaign = await get_campaign(session, principal, campaign_id)
    where: list[Any] = [Publication.campaign_id == campaign.id]
    search = (search or "").strip()
    if not search:
        total = (await campaign_figures(session, campaign.id))["publications"]  # kept: no count
        return await _history(session, where, page, total=total)
    if "@" in search:
        people = select(Customer.id).where(
            Customer.client_id == principal.client_id, Customer.email_key == email_key(search)
        )
        # Through the owners' customer index to the codes' publications (publications have no
        # index by customer).
        where += [
            Publication.voucher_id.in_(
                select(VoucherOwner.voucher_id).where(
                    VoucherOwner.customer_id.in_(people), VoucherOwner.campaign_id == campaign.id
                )
            ),
            Publication.customer_id.in_(people),
        ]
    else:
        where.append(
            Publication.voucher_id.in_(
                select(Voucher.id).where(
                    Voucher.client_id == principal.client_id, Voucher.code == normalize(search)
                )
            )
        )
    return await _history(session, where, page)


async def history_for_code(
    session: AsyncSession, principal: Principal, code: str, page: PageRequest
) -> Page[PublicationEntry]:
    voucher_id = await session.scalar(
        select(Voucher.id)
        .join(Campaign, Campaign.id == Voucher.campaign_id)
        .where(
            Voucher.client_id == principal.client_id,
            Voucher.code == normalize(code),
            Campaign.deleted_at.is_(None),
        )
    )
    if voucher_id is None:
        raise VoucherNotFound()
    return await _history(session, [Publication.voucher_id == voucher_id], page)


async def _history(
    session: AsyncSession, where: list[Any], page: PageRequest, *, total: int | None = None
) -> Page[PublicationEntry]:
    """Newest first (ties by id), by ``page`` or after a cursor (``page.after``)."""
    if total is None:
        total = await session.scalar(select(func.count()).select_from(Publication).where(*where)) or 0
    if page.after is not None:
        created_at, publication_id = time_position(page.after)
        # The first condition bounds the index scan; the second breaks ties within a batch.
        where = [
            *where,
            Publication.created_at <= created_at,
            or_(Publication.created_at < created_at, Publication.id > publication_id),
        ]
    query = (
        select(
            Publication.id,
            Publication.batch_id,
            Publication.campaign_id,
            Publication.customer_id,
            Publication.channel,
            Publication.metadata_,
            Publication.created_at,
            Voucher.code,
            Customer.email,
            Customer.name,
        )
        .join(Voucher, Voucher.id == Publication.voucher_id)
        .join(Customer, Customer.id == Publication.customer_id)
        .where(*where)
        .order_by(Publication.created_at.desc(), Publication.id)
        .limit(page.limit + 1)
    )
    rows = list((await session.execute(query if page.after else query.offset(page.offset))).all())
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    items = [
        PublicationEntry(
            id=row.id,
            batch_id=row.batch_id,
            voucher_code=row.code,
            campaign_id=row.campaign_id,
            customer_id=row.customer_id,
            customer_email=row.email,
            customer_name=row.name,
            channel=row.channel,
            metadata=row.metadata_,
            published_at=row.created_at,
        )
        for row in rows
    ]
    cursor = time_cursor(rows[-1].created_at, rows[-1].id) if more else None
    return Page(items=items, total=total, request=page, next_cursor=cursor, keyset=True)


async def held_code(
    session: AsyncSession, principal: Principal, campaign_id: uuid.UUID, customer_id: uuid.UUID
) -> str | None:
    """The first code of the campaign the customer already holds (``join_once``: one customer,
    one code, always the same)."""
    return await session.scalar(
        select(Voucher.code)
        .join(VoucherOwner, VoucherOwner.voucher_id == Voucher.id)
        .where(
            VoucherOwner.client_id == principal.client_id,
            VoucherOwner.campaign_id == campaign_id,
            VoucherOwner.customer_id == customer_id,
        )
        .order_by(VoucherOwner.created_at, Voucher.id)
        .limit(1)
    )


async def list_publications(
    session: AsyncSession, principal: Principal, where: PublicationFilter, page: PageRequest
) -> Page[PublicationBatch]:
    """The caller's publications, an item per group of rows (one batch: a publish call, an upload
    or an export, to one customer on one channel), in ``where.order`` (``created_at``, ``id``,
    ``voucher_code``, ``tracking_id``, ``customer_id``, ``channel``; ``-`` for descending; newest
    first by default).

    In ``created_at`` order a page is read from an index in that order (a batch's rows share their
    ``created_at``), so it costs what the page's groups cost however many the client has. The
    total is the campaigns' kept count of groups (migration 0025), or, filtered by a customer, a
    code or a ``source_id``, the matches counted by index (those are few)."""
    key = where.order.removeprefix("-")
    if key not in LIST_ORDERS:
        raise InvalidInput(
            f"order must be one of {', '.join(LIST_ORDERS)}, with '-' for descending.", field="order"
        )
    conditions: list[Any] = [Publication.client_id == principal.client_id]
    scope: list[Any] = []  # the campaigns listed, when not all of the client's
    if where.campaign_name is not None:
        scope.append(Campaign.name == where.campaign_name.strip())
    if where.gift is not None:
        gift = Campaign.discount_type == DiscountType.GIFT
        scope.append(gift if where.gift else ~gift)
    campaign_ids: list[uuid.UUID] = []
    if scope:
        campaign_ids = list(
            (
                await session.scalars(
                    select(Campaign.id).where(Campaign.client_id == principal.client_id, *scope)
                )
            ).all()
        )
        if not campaign_ids:
            return Page(items=[], total=0, request=page)
        conditions.append(Publication.campaign_id.in_(campaign_ids))
    selective = False  # a condition that leaves few rows, counted by index
    if where.customer_id is not None:
        # Through the owners' customer index: a customer's publications are of codes they own.
        conditions += [
            Publication.voucher_id.in_(
                select(VoucherOwner.voucher_id).where(
                    VoucherOwner.client_id == principal.client_id,
                    VoucherOwner.customer_id == where.customer_id,
                )
            ),
            Publication.customer_id == where.customer_id,
        ]
        selective = True
    if where.source_id is not None:
        conditions.append(Publication.source_id == where.source_id)
        selective = True
    if where.code is not None:
        conditions.append(
            Publication.voucher_id.in_(
                select(Voucher.id).where(
                    Voucher.client_id == principal.client_id, Voucher.code == normalize(where.code)
                )
            )
        )
        selective = True
    group = (Publication.batch_id, Publication.customer_id, Publication.channel)
    if selective:
        matches = select(*group).where(*conditions).distinct().subquery()
        total = int(await session.scalar(select(func.count()).select_from(matches)) or 0)
    else:
        total = await publication_groups(session, principal.client_id, campaign_ids if scope else None)
    descending = where.order.startswith("-")
    keys = await _page_of_groups(session, conditions, key, descending, page)
    if not keys:
        return Page(items=[], total=total, request=page)
    rows = (
        await session.execute(
            select(Publication, Voucher.code)
            .join(Voucher, Voucher.id == Publication.voucher_id)
            .where(
                Publication.batch_id.in_({batch_id for batch_id, _, _ in keys}),
                Publication.customer_id.in_({customer_id for _, customer_id, _ in keys}),
            )
            .order_by(Voucher.created_at, Voucher.id)
        )
    ).all()
    grouped: dict[tuple[uuid.UUID, uuid.UUID, str], list[tuple[Publication, str]]] = {
        group_key: [] for group_key in keys
    }
    for publication, code in rows:
        entries = grouped.get((publication.batch_id, publication.customer_id, publication.channel))
        if entries is not None:  # a row of another group of the same batches and customers
            entries.append((publication, code))
    people = {
        person.id: person
        for person in await session.scalars(
            select(Customer).where(Customer.id.in_({customer_id for _, customer_id, _ in keys}))
        )
    }
    items = []
    for group_key in keys:
        entries = grouped[group_key]
        first = entries[0][0]
        items.append(
            PublicationBatch(
                id=first.batch_id,
                created_at=min(entry.created_at for entry, _ in entries),
                customer=people[first.customer_id],
                channel=first.channel,
                metadata=first.metadata_,
                codes=[PublishedCode(entry.voucher_id, code, entry.campaign_id) for entry, code in entries],
                source_id=first.source_id,
            )
        )
    return Page(items=items, total=total, request=page)


async def _page_of_groups(
    session: AsyncSession, conditions: list[Any], key: str, descending: bool, page: PageRequest
) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """The ``(batch_id, customer_id, channel)`` of the page's groups, in order; ties by batch,
    customer and channel, in the same direction."""
    group = (Publication.batch_id, Publication.customer_id, Publication.channel)

    def ordered(*columns: Any) -> list[Any]:
        return [column.desc() if descending else column.asc() for column in columns]

    if key == "created_at":
        # A batch's rows share one created_at: the distinct groups come straight off the index
        # (ix_publications_client_listed, or the campaign's), and the scan stops at the page.
        query = (
            select(Publication.created_at, *group)
            .where(*conditions)
            .distinct()
            .order_by(*ordered(Publication.created_at, *group))
        )
    else:
        started = func.min(Publication.created_at)
        sorts: dict[str, Any] = {
            "id": Publication.batch_id,
            "voucher_code": func.min(Voucher.code),
            "tracking_id": func.min(Customer.external_id),
            "customer_id": Publication.customer_id,
            "channel": Publication.channel,
        }
        query = select(started, *group).where(*conditions).group_by(*group)
        if key == "voucher_code":
            query = query.join(Voucher, Voucher.id == Publication.voucher_id)
        if key == "tracking_id":
            query = query.join(Customer, Customer.id == Publication.customer_id)
        query = query.order_by(*ordered(sorts[key], started, *group))
    rows = (await session.execute(query.limit(page.limit).offset(page.offset))).all()
    return [(row.batch_id, row.customer_id, row.channel) for row in rows]


async def publication_groups(
    session: AsyncSession, client_id: uuid.UUID, campaign_ids: list[uuid.UUID] | None = None
) -> int:
    """How many publication groups (list items) the client's campaigns have, or these campaigns:
    the sum of their kept counts (it grows with the campaigns, not with their publications)."""
    query = select(func.coalesce(func.sum(CampaignFigures.publication_batches), 0))
    if campaign_ids is None:
        query = query.join(Campaign, Campaign.id == CampaignFigures.campaign_id).where(
            Campaign.client_id == client_id
        )
    else:
        query = query.where(CampaignFigures.campaign_id.in_(campaign_ids))
    return int(await session.scalar(query) or 0)
