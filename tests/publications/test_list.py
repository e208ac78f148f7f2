"""Voucherify's publication list (``list_publications``) pages and totals equal a recount of the
rows, whatever the filter and order: its pages come off an index and its total from the
campaigns' kept count of groups (migration 0025's triggers), which must follow every change:
publishes (one code, a pool's three, an upload's several customers in one batch), an erased
customer, deleted codes, a campaign deleted for good, and publishes from concurrent connections."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import delete, select

from tests.conftest import Tenant
from tests.fixtures.factories import make_campaign, make_codes
from voucherd.campaigns import figures
from voucherd.campaigns.rules import DiscountType
from voucherd.core.pagination import PageRequest
from voucherd.customers import service as customers
from voucherd.customers.schemas import CustomerInput
from voucherd.db import Database, unit_of_work
from voucherd.db.engine import create_database
from voucherd.models import Campaign, Customer, Publication, Voucher
from voucherd.publications import service as publications
from voucherd.publications.schemas import CustomerRef, PublicationFilter, PublishInput
from voucherd.recipients import service as recipients
from voucherd.recipients.schemas import RecipientInput, UploadInput
from voucherd.vouchers import service as vouchers

Group = tuple[uuid.UUID, uuid.UUID, str, tuple[str, ...]]  # batch, customer, channel, codes


async def _listed(database: Database, tenant: Tenant, where: PublicationFilter) -> tuple[list[Group], int]:
    """Every page of two, in order, and the total each page said."""
    groups: list[Group] = []
    totals = set()
    async with unit_of_work(database, write=False) as session:
        for number in range(1, 50):
            page = await publications.list_publications(
                session, tenant.principal, where, PageRequest(page=number, limit=2)
            )
            totals.add(page.total)
            groups += [
                (item.id, item.customer.id, item.channel, tuple(code.code for code in item.codes))
                for item in page.items
            ]
            if not page.items:
                break
    assert len(totals) == 1, totals
    return groups, totals.pop()


async def _recounted(database: Database, tenant: Tenant, where: PublicationFilter) -> list[Group]:
    """The groups the filter names, from every row of the client, grouped and sorted here."""
    async with unit_of_work(database, write=False) as session:
        rows = (
            await session.execute(
                select(Publication, Voucher.code, Voucher.created_at, Campaign, Customer.external_id)
                .join(Voucher, Voucher.id == Publication.voucher_id)
                .join(Campaign, Campaign.id == Publication.campaign_id)
                .join(Customer, Customer.id == Publication.customer_id)
                .where(Publication.client_id == tenant.client_id)
            )
        ).all()
    matching: set[tuple[uuid.UUID, uuid.UUID, str]] = set()
    codes: dict[tuple[uuid.UUID, uuid.UUID, str], list[tuple[Any, uuid.UUID, str]]] = {}
    started: dict[tuple[uuid.UUID, uuid.UUID, str], Any] = {}
    for publication, code, made, campaign, _ in rows:
        key = (publication.batch_id, publication.customer_id, publication.channel)
        codes.setdefault(key, []).append((made, publication.voucher_id, code))
        started[key] = min(started.get(key, publication.created_at), publication.created_at)
        if (
            (where.customer_id is None or publication.customer_id == where.customer_id)
            and (where.campaign_name is None or campaign.name == where.campaign_name)
            and (where.code is None or code == where.code)
            and (where.source_id is None or publication.source_id == where.source_id)
            and (where.gift is None or (campaign.discount_type == DiscountType.GIFT) == where.gift)
        ):
            matching.add(key)
    descending = where.order.startswith("-")
    ordered = sorted(matching, key=lambda key: (started[key], *key), reverse=descending)
    return [(*key, tuple(code for _, _, code in sorted(codes[key]))) for key in ordered]


async def _check(database: Database, tenant: Tenant, filters: list[PublicationFilter]) -> None:
    for where in filters:
        for order in ("-created_at", "created_at"):
            ordered = replace(where, order=order)
            expected = await _recounted(database, tenant, ordered)
            groups, total = await _listed(database, tenant, ordered)
            assert (groups, total) == (expected, len(expected)), ordered


async def _publish(database: Database, tenant: Tenant, email: str, **fields: Any) -> uuid.UUID:
    async with unit_of_work(database) as session:
        result = await publications.publish(
            session,
            tenant.principal,
            PublishInput(customer=CustomerRef(data=CustomerInput(email=email)), **fields),
        )
    return result.customer.id


async def test_pages_and_totals_equal_a_recount_through_every_change(
    database: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    spring = await make_campaign(database, tenant, name="Spring")
    gifts = await make_campaign(database, tenant, name="Gifts", discount_type=DiscountType.GIFT)
    theirs = await make_campaign(database, other_tenant, name="Spring")  # another client's
    spring_codes = await make_codes(database, tenant, spring, 8)
    gift_codes = await make_codes(database, tenant, gifts, 2)
    ann = await _publish(database, tenant, "ann@example.com", code=spring_codes[0], source_id="s-1")
    bob = await _publish(database, tenant, "bob@example.com", campaign_id=spring.id, count=3, channel="Email")
    await _publish(database, tenant, "ann@example.com", code=gift_codes[0], channel="SMS")
    await _publish(database, tenant, "ann@example.com", code=spring_codes[0], channel="Print")  # again
    async with unit_of_work(database) as session:  # one batch of three customers
        await recipients.upload(
            session,
            tenant.principal,
            spring.id,
            UploadInput(recipients=[RecipientInput(email=f"r{i}@example.com") for i in range(3)]),
        )
    other_spring = await make_codes(database, other_tenant, theirs, 1)
    await _publish(database, other_tenant, "ann@example.com", code=other_spring[0])
    filters = [
        PublicationFilter(),
        PublicationFilter(customer_id=ann),
        PublicationFilter(customer_id=bob),
        PublicationFilter(campaign_name="Spring"),
        PublicationFilter(campaign_name="Gifts", customer_id=ann),
        PublicationFilter(campaign_name="Nothing"),
        PublicationFilter(code=spring_codes[0]),
        PublicationFilter(source_id="s-1"),
        PublicationFilter(gift=True),
        PublicationFilter(gift=False),
    ]
    await _check(database, tenant, filters)
    assert (await _listed(database, tenant, PublicationFilter()))[1] == 7
    assert (await _listed(database, tenant, PublicationFilter(campaign_name="Spring")))[1] == 6

    # A publication added; a customer erased (their publications stay theirs).
    await _publish(database, tenant, "cat@example.com", code=gift_codes[1])
    async with unit_of_work(database) as session:
        await customers.delete_customer(session, tenant.principal, ann)
    await _check(database, tenant, filters)
    assert (await _listed(database, tenant, PublicationFilter()))[1] == 8

    # Codes deleted: one of bob's three (his group stays) and ann's first (two groups go).
    bobs = (await _listed(database, tenant, PublicationFilter(customer_id=bob)))[0][0][3]
    async with unit_of_work(database) as session:
        await vouchers.delete_voucher(session, tenant.principal, bobs[1])
        await vouchers.delete_voucher(session, tenant.principal, spring_codes[0])
    await _check(database, tenant, filters)
    assert (await _listed(database, tenant, PublicationFilter()))[1] == 6

    # A campaign deleted for good takes its groups out of the total.
    async with unit_of_work(database) as session:
        await session.execute(delete(Campaign).where(Campaign.id == gifts.id))
    await _check(database, tenant, filters)
    assert (await _listed(database, tenant, PublicationFilter()))[1] == 4


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_concurrent_publishes_are_each_counted_once(database: Database, tenant: Tenant) -> None:
    """Publishes from many connections at once (each adds to its own shard of the figures), then
    the closed connections' shards folded: the total still equals the rows' groups."""
    campaign = await make_campaign(database, tenant, name="Rush")
    pool = await make_campaign(database, tenant, name="Pool")
    codes = await make_codes(database, tenant, campaign, 20)
    await make_codes(database, tenant, pool, 10)
    wide = create_database(database.url)
    try:

        async def one(number: int) -> None:
            async with unit_of_work(wide) as session:
                await publications.publish(
                    session,
                    tenant.principal,
                    PublishInput(
                        customer=CustomerRef(data=CustomerInput(email=f"c{number}@example.com")),
                        **({"code": codes[number]} if number < 20 else {"campaign_id": pool.id}),
                        count=1 if number < 20 else 2,
                    ),
                )

        await asyncio.gather(*(one(number) for number in range(25)))
    finally:
        await wide.dispose()
    where = [PublicationFilter(campaign_name=name) for name in (None, "Rush", "Pool")]
    await _check(database, tenant, where)
    assert (await _listed(database, tenant, PublicationFilter()))[1] == 25
    await figures.fold(database)
    await _check(database, tenant, where)
