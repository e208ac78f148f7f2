"""A client's staff, managed by its owners (and API keys): list, add, change, remove. Members are
named by their number (the integer id VoucherCart shows as a profile's ``id``); another client's
member is not found. A change that takes power or access away (a new role, a new password, a
sales page taken away, removal) ends the member's sessions at once; a client never loses its
last owner."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts import passwords, staff
from voucherd.accounts.errors import LastOwner, StaffEmailTaken
from voucherd.accounts.service import Principal, Role
from voucherd.core import clock
from voucherd.core.emails import email_key
from voucherd.core.errors import InvalidInput, NotFound
from voucherd.core.pagination import Page, PageRequest
from voucherd.models import SalesPage, Staff, StaffSalesPage

MAX_PAGES_PER_MEMBER = 1000


@dataclass(frozen=True)
class Member:
    """A member as our API shows them: never their password hash."""

    staff: Staff
    page_numbers: list[int]


@dataclass(frozen=True)
class MemberInput:
    email: str
    password: str
    full_name: str
    role: Role = Role.STAFF
    page_numbers: list[int] | None = None  # the sales pages, by number, they may log in on


@dataclass(frozen=True)
class MemberChanges:
    """What a PATCH may change; ``None`` leaves a field as it is. Nothing else of a member (its
    client, number, hashes, timestamps) is changed by a request."""

    email: str | None = None
    password: str | None = None
    full_name: str | None = None
    role: Role | None = None
    page_numbers: list[int] | None = None


def _live(principal: Principal) -> ColumnElement[bool]:
    return and_(Staff.client_id == principal.client_id, Staff.deleted_at.is_(None))


async def _pages_of_members(
    session: AsyncSession, member_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[int]]:
    ids = list(member_ids)
    found: dict[uuid.UUID, list[int]] = {member_id: [] for member_id in ids}
    if not ids:
        return found
    rows = await session.execute(
        select(StaffSalesPage.staff_id, SalesPage.number)
        .join(SalesPage, SalesPage.id == StaffSalesPage.sales_page_id)
        .where(StaffSalesPage.staff_id.in_(ids))
        .order_by(SalesPage.number)
    )
    for member_id, number in rows.all():
        found[member_id].append(number)
    return found


async def _member(session: AsyncSession, member: Staff) -> Member:
    return Member(member, (await _pages_of_members(session, [member.id]))[member.id])


async def _get(session: AsyncSession, principal: Principal, number: int) -> Staff:
    member = await session.scalar(select(Staff).where(Staff.number == number, _live(principal)))
    if member is None:
        raise NotFound("Staff member not found.")
    return member


async def _pages(session: AsyncSession, principal: Principal, numbers: list[int]) -> list[SalesPage]:
    """The client's sales pages with these numbers; an unknown number (or another client's) is
    bad input that names it."""
    wanted = sorted(set(numbers))
    if len(wanted) > MAX_PAGES_PER_MEMBER:
        raise InvalidInput(
            f"domainIds may name at most {MAX_PAGES_PER_MEMBER} sales pages.", field="domainIds"
        )
    if not wanted:
        return []
    pages = list(
        (
            await session.scalars(
                select(SalesPage).where(
                    SalesPage.client_id == principal.client_id, SalesPage.number.in_(wanted)
                )
            )
        ).all()
    )
    missing = sorted(set(wanted) - {page.number for page in pages})
    if missing:
        raise InvalidInput(
            f"No sales page of yours has the id {missing[0]}; GET /domains lists them.", field="domainIds"
        )
    return pages


async def list_members(session: AsyncSession, principal: Principal, page: PageRequest) -> Page[Member]:
    """The client's live members, in the order they were added."""
    scope = _live(principal)
    total = await session.scalar(select(func.count()).select_from(Staff).where(scope))
    members = list(
        (
            await session.scalars(
                select(Staff).where(scope).order_by(Staff.number).offset(page.offset).limit(page.limit)
            )
        ).all()
    )
    pages = await _pages_of_members(session, (m.id for m in members))
    return Page(items=[Member(m, pages[m.id]) for m in members], total=total or 0, request=page)


async def get_member(session: AsyncSession, principal: Principal, number: int) -> Member:
    return await _member(session, await _get(session, principal, number))


async def add_member(session: AsyncSession, principal: Principal, data: MemberInput) -> Member:
    """A new login of the client: email unique among its live members
    (:class:`StaffEmailTaken`), a password of 10 characters or more, a role, sales pages."""
    pages = await _pages(session, principal, data.page_numbers or [])
    member = await staff.add_staff(
        session,
        principal.client_id,
        staff.StaffInput(email=data.email, password=data.password, full_name=data.full_name, role=data.role),
        pages,
    )
    return await _member(session, member)


# A first password people can read out and type: no look-alikes (0/O, 1/I/l), in groups.
_PASSWORD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # noqa: S105 - an alphabet, not a password


def first_password() -> str:
    """``xxxx-xxxx-xxxx-xxxx``: 16 random symbols of 31 (about 79 bits), shown once to the owner
    who gives it to the new member; they change it on the password page."""
    symbols = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(16))
    return "-".join(symbols[i : i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class Invited:
    member: Member
    password: str  # the generated first password, shown once


async def invite_member(
    session: AsyncSession,
    principal: Principal,
    *,
    email: str,
    full_name: str,
    role: Role,
    page_numbers: list[int],
) -> Invited:
    """A new login with a generated first password (:func:`first_password`), as
    :func:`add_member` makes it: the owner hands the password over; the member changes it."""
    password = first_password()
    member = await add_member(
        session,
        principal,
        MemberInput(
            email=email, password=password, full_name=full_name, role=role, page_numbers=page_numbers
        ),
    )
    return Invited(member, password)


async def _keep_an_owner(session: AsyncSession, principal: Principal, member: Staff) -> None:
    """Refuse to leave the client without a live owner. The client's owner rows are locked (in id
    order, so two such changes never deadlock): of two owners demoting each other at once, the
    second sees the first's change and is refused. (SQLite runs one write at a time.)"""
    owners = (
        await session.scalars(
            select(Staff.id)
            .where(_live(principal), Staff.role == Role.OWNER.value)
            .order_by(Staff.id)
            .with_for_update()
        )
    ).all()
    if not [owner for owner in owners if owner != member.id]:
        raise LastOwner(
            "This is the client's last owner: make another member an owner first, "
            "so that someone can still manage staff and keys."
        )


async def update_member(
    session: AsyncSession, principal: Principal, number: int, changes: MemberChanges
) -> Member:
    """Change what is given. A new role, a new password or a sales page taken away ends the
    member's sessions at once; the last owner keeps the owner role (:class:`LastOwner`)."""
    member = await _get(session, principal, number)
    # Every read first: a query would flush the changes below outside their savepoint.
    pages = None if changes.page_numbers is None else await _pages(session, principal, changes.page_numbers)
    given = set((await _pages_of_members(session, [member.id]))[member.id])
    end_sessions = False
    if changes.role is not None and changes.role.value != member.role:
        if changes.role not in staff.STAFF_ROLES:
            raise InvalidInput("role must be owner, manager or staff.", field="role")
        if member.role == Role.OWNER.value:
            await _keep_an_owner(session, principal, member)
        member.role = changes.role.value
        end_sessions = True
    if changes.full_name is not None:
        member.full_name = staff.check_full_name(changes.full_name)
    if changes.email is not None:
        email = staff.check_email(changes.email)
        member.email, member.email_key = email, email_key(email)
    if changes.password is not None:
        member.password_hash = await passwords.hash_password(staff.check_password(changes.password))
        end_sessions = True
    member.updated_at = clock.now()
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise StaffEmailTaken("This client already has a login with this email.") from None
    if pages is not None:
        await session.execute(delete(StaffSalesPage).where(StaffSalesPage.staff_id == member.id))
        session.add_all(StaffSalesPage(staff_id=member.id, sales_page_id=page.id) for page in pages)
        await session.flush()
        end_sessions = end_sessions or bool(given - {page.number for page in pages})
    if end_sessions:
        await staff.end_sessions(session, member)
    return await _member(session, member)


async def remove_member(session: AsyncSession, principal: Principal, number: int) -> None:
    """Remove a member (kept as removed, ``deleted_at``): their sessions end at once, their email
    may be given to a new login. The last owner cannot be removed (:class:`LastOwner`)."""
    member = await _get(session, principal, number)
    if member.role == Role.OWNER.value:
        await _keep_an_owner(session, principal, member)
    member.deleted_at = clock.now()
    await staff.end_sessions(session, member)
