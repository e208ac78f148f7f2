"""A client's sales pages (VoucherCart's domains), managed by its owners (and API keys), named by
their number; another client's page is not found. A name is a subdomain, unique across clients."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts import staff
from voucherd.accounts.permissions import ROLE_PERMISSIONS, Permission
from voucherd.accounts.service import Principal, SubjectKind
from voucherd.core.errors import NotFound
from voucherd.core.pagination import Page, PageRequest
from voucherd.models import SalesPage, StaffSalesPage


async def list_pages(session: AsyncSession, principal: Principal, page: PageRequest) -> Page[SalesPage]:
    """Every page of the client for those who administer it (owners, API keys); for other
    members, the pages they may log in on."""
    query = select(SalesPage).where(SalesPage.client_id == principal.client_id)
    administers = Permission.ADMINISTER in ROLE_PERMISSIONS[principal.role]
    if principal.subject.kind is SubjectKind.STAFF and not administers:
        query = query.join(StaffSalesPage, StaffSalesPage.sales_page_id == SalesPage.id).where(
            StaffSalesPage.staff_id == principal.subject.id
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    items = (
        await session.scalars(query.order_by(SalesPage.number).offset(page.offset).limit(page.limit))
    ).all()
    return Page(items=items, total=total or 0, request=page)


async def get_page(session: AsyncSession, principal: Principal, number: int) -> SalesPage:
    page = await session.scalar(
        select(SalesPage).where(SalesPage.number == number, SalesPage.client_id == principal.client_id)
    )
    if page is None:
        raise NotFound("Sales page not found.")
    return page


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
