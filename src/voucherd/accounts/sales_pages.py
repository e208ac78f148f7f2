"""A client's sales pages (VoucherCart's domains), managed by its owners (and API keys), named by
their number; another client's page is not found. A name is a subdomain, unique across clients."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts import staff
from voucherd.accounts.errors import SalesPageNotFound
from voucherd.accounts.permissions import ROLE_PERMISSIONS, Permission
from voucherd.accounts.service import Principal, SubjectKind
from voucherd.core.pagination import Page, PageRequest
from voucherd.models import SalesPage, StaffSalesPage


def _visible(principal: Principal) -> Select[SalesPage]:
    """Every page of the client for those who administer it (owners, API keys); for other
    members, the pages they may log in on."""
    query = select(SalesPage).where(SalesPage.client_id == principal.client_id)
    administers = Permission.ADMINISTER in ROLE_PERMISSIONS[principal.role]
    if principal.subject.kind is SubjectKind.STAFF and not administers:
        query = query.join(StaffSalesPage, StaffSalesPage.sales_page_id == SalesPage.id).where(
            StaffSalesPage.staff_id == principal.subject.id
        )
    return query


async def list_pages(session: AsyncSession, principal: Principal, page: PageRequest) -> Page[SalesPage]:
    query = _visible(principal)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    items = (
        await session.scalars(query.order_by(SalesPage.number).offset(page.offset).limit(page.limit))
    ).all()
    return Page(items=items, total=total or 0, request=page)


async def pages_of(session: AsyncSession, principal: Principal) -> list[SalesPage]:
    """The pages the caller sees (:func:`_visible`), all of them (VoucherCart's ``/domains``)."""
    return list((await session.scalars(_visible(principal).order_by(SalesPage.number))).all())


async def find_page(session: AsyncSession, client_id: uuid.UUID, page: int | str | None) -> SalesPage:
    """The client's sales page by its number (``domainId``) or its name; its first page when
    ``page`` is ``None``. Another client's page is not found."""
    query = select(SalesPage).where(SalesPage.client_id == client_id)
    if page is None:
        query = query.order_by(SalesPage.number).limit(1)
    elif isinstance(page, int) or page.isdigit():
        query = query.where(SalesPage.number == int(page))
    else:
        query = query.where(SalesPage.name == page.strip().lower())
    found = (await session.scalars(query)).first()
    if found is None:
        named = (
            f"domainId {page}" if isinstance(page, int) or (page or "").isdigit() else f"the name {page!r}"
        )
        raise SalesPageNotFound(f"No sales page of yours has {named}." if page is not None else None)
    return found


async def get_page(session: AsyncSession, principal: Principal, number: int) -> SalesPage:
    return await find_page(session, principal.client_id, number)


async def add_page(session: AsyncSession, principal: Principal, *, name: str) -> SalesPage:
    """A new sales page of the client (:class:`SubdomainTaken` when any client has the name)."""
    return await staff.create_sales_page(session, principal.client_id, name, field="name")


async def rename_page(session: AsyncSession, principal: Principal, number: int, *, name: str) -> SalesPage:
    """A new name: the page's address and the subdomain its staff log in with change with it."""
    page = await get_page(session, principal, number)
    new_name = staff.check_page_name(name, field="name")
    if new_name != page.name:
        page.name = new_name
        await staff.flush_page_name(session, page, field="name")
    return page
