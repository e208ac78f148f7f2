"""Staff logins: registration of a client with its owner and first sales page, login on a sales
page, refresh-token rotation, and the principal behind an access token."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts import passwords, tokens
from voucherd.accounts.errors import LoginRefused, RefreshRefused, StaffEmailTaken, SubdomainTaken
from voucherd.accounts.numbers import next_number
from voucherd.accounts.service import (
    Principal,
    Role,
    Subject,
    SubjectKind,
    create_client,
    forget_all_at_commit,
)
from voucherd.core import clock
from voucherd.core.emails import ContactError, email_key, normalize_email
from voucherd.core.errors import InvalidInput, Unauthenticated
from voucherd.core.ids import new_id
from voucherd.models import Client, RefreshToken, SalesPage, Staff, StaffSalesPage

SUBDOMAIN_LENGTH = 63
# The same refresh token sent again this soon after its first use (a retry, two tabs) gets the
# same new pair; later it means the token leaked, and its whole family is revoked.
REUSE_GRACE = timedelta(seconds=5)
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

# What a country's business sells in when registration names no currency.
_CURRENCY_OF_COUNTRY = {
    "US": "USD", "GB": "GBP", "UK": "GBP", "CA": "CAD", "AU": "AUD", "NZ": "NZD", "IE": "EUR",
    "DE": "EUR", "FR": "EUR", "ES": "EUR", "IT": "EUR", "NL": "EUR", "BE": "EUR", "AT": "EUR",
    "PT": "EUR", "FI": "EUR", "GR": "EUR", "LU": "EUR", "CH": "CHF", "SE": "SEK", "NO": "NOK",
    "DK": "DKK", "PL": "PLN", "CZ": "CZK", "JP": "JPY", "IN": "INR", "ZA": "ZAR", "SG": "SGD",
}  # fmt: skip


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    full_name: str
    company_name: str
    subdomain: str | None = None
    country: str | None = None
    timezone: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Registered:
    client: Client
    owner: Staff
    sales_page: SalesPage


@dataclass(frozen=True)
class Login:
    """What a login or a refresh answers: the access token, its id, and the next refresh token."""

    access_token: str
    token_id: uuid.UUID
    refresh_token: str
    staff: Staff


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except ContactError as error:
        raise InvalidInput(f"email {error}.", field="email") from None


def _password(value: str) -> str:
    if len(value) < passwords.MIN_LENGTH:
        raise InvalidInput(f"password must be at least {passwords.MIN_LENGTH} characters.", field="password")
    if len(value) > passwords.MAX_LENGTH:
        raise InvalidInput(f"password may be at most {passwords.MAX_LENGTH} characters.", field="password")
    return value


def subdomain_from(name: str) -> str:
    """A sales page name made from a company name: ``Doe Restaurants`` -> ``doe-restaurants``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:SUBDOMAIN_LENGTH].strip("-")


def _subdomain(value: str, field: str = "subdomain") -> str:
    value = value.strip().lower()
    if not _SUBDOMAIN.match(value):
        raise InvalidInput(
            f"{field} may contain a-z, 0-9 and '-' (not at either end), 1 to 63 characters.",
            field=field,
        )
    return value


def _text(field: str, value: str, limit: int = 200) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidInput(f"{field} must be 1 to {limit} characters.", field=field)
    return value


async def register(session: AsyncSession, data: Registration) -> Registered:
    """A new client with its owner (a staff member who may log in on the new sales page) and its
    first sales page, named ``subdomain`` or made from the company name."""
    email = _email(data.email)
    password = _password(data.password)
    full_name = _text("fullName", data.full_name)
    company = _text("companyName", data.company_name)
    subdomain = _subdomain(data.subdomain if data.subdomain else subdomain_from(company) or "shop")
    country = (data.country or "").strip().upper()
    currency = (data.currency or _CURRENCY_OF_COUNTRY.get(country, "USD")).upper()
    client = await create_client(
        session, name=company, currency=currency, timezone=(data.timezone or "UTC").strip()
    )
    page = await create_sales_page(session, client.id, subdomain)
    owner = await create_staff(
        session,
        client.id,
        StaffInput(email=email, password=password, full_name=full_name, role=Role.OWNER, pages=[page.name]),
    )
    return Registered(client, owner, page)


@dataclass(frozen=True)
class StaffInput:
    email: str
    password: str
    full_name: str
    role: Role = Role.STAFF
    pages: list[str] = field(default_factory=list)  # the sales pages, by name, they log in on


STAFF_ROLES = (Role.OWNER, Role.MANAGER, Role.STAFF)


async def create_sales_page(
    session: AsyncSession, client_id: uuid.UUID, name: str, *, field: str = "subdomain"
) -> SalesPage:
    """A new sales page; its name is unique across clients (:class:`SubdomainTaken`)."""
    page = SalesPage(client_id=client_id, name=_subdomain(name, field), number=await next_number(session))
    session.add(page)
    await flush_page_name(session, page, field=field)
    return page


async def flush_page_name(session: AsyncSession, page: SalesPage, *, field: str = "subdomain") -> None:
    """Write a new or renamed page: a name another page has is :class:`SubdomainTaken`."""
    name = page.name  # a renamed page is expired by the savepoint's rollback
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise SubdomainTaken(f"The sales page {name!r} is taken; choose another {field}.") from None


def check_page_name(name: str, *, field: str = "subdomain") -> str:
    """A sales page name as stored (lower case), or :class:`InvalidInput` on ``field``."""
    return _subdomain(name, field)


def check_email(email: str) -> str:
    return _email(email)


def check_password(password: str) -> str:
    return _password(password)


def check_full_name(full_name: str) -> str:
    return _text("fullName", full_name)


async def create_staff(session: AsyncSession, client_id: uuid.UUID, data: StaffInput) -> Staff:
    """A staff login of the client, given the named sales pages (the client's own)."""
    pages = []
    for name in data.pages:
        page = await session.scalar(
            select(SalesPage).where(SalesPage.client_id == client_id, SalesPage.name == name.strip().lower())
        )
        if page is None:
            raise InvalidInput(f"No sales page of yours is named {name!r}.", field="domain")
        pages.append(page)
    return await add_staff(session, client_id, data, pages)


async def add_staff(
    session: AsyncSession, client_id: uuid.UUID, data: StaffInput, pages: list[SalesPage]
) -> Staff:
    """A staff login of the client, given ``pages`` (the client's own, found by the caller)."""
    if data.role not in STAFF_ROLES:
        raise InvalidInput("role must be owner, manager or staff.", field="role")
    email = _email(data.email)
    now = clock.now()
    member = Staff(
        id=new_id(),
        client_id=client_id,
        number=await next_number(session),
        email=email,
        email_key=email_key(email),
        full_name=_text("fullName", data.full_name),
        role=data.role.value,
        locale="en",
        password_hash=await passwords.hash_password(_password(data.password)),
        token_generation=0,
        created_at=now,
        updated_at=now,
    )
    session.add(member)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise StaffEmailTaken("This client already has a login with this email.") from None
    session.add_all(StaffSalesPage(staff_id=member.id, sales_page_id=page.id) for page in pages)
    await session.flush()
    return member


async def pages_of_email(session: AsyncSession, email: str) -> list[SalesPage]:
    """The sales pages a login with this email may be used on, whichever client's (none for an
    unknown email: the answer does not say whether the email exists)."""
    query = (
        select(SalesPage)
        .join(StaffSalesPage, StaffSalesPage.sales_page_id == SalesPage.id)
        .join(Staff, Staff.id == StaffSalesPage.staff_id)
        .where(Staff.email_key == email_key(email.strip()), Staff.deleted_at.is_(None))
        .order_by(SalesPage.number)
    )
    return list((await session.scalars(query)).all())


async def log_in(session: AsyncSession, *, email: str, password: str, subdomain: str) -> Login:
    """A new login (a new token family) on a sales page. A wrong password, an unknown email and a
    page the member is not given answer alike, after the same work."""
    found = (
        await session.execute(
            select(Staff, SalesPage)
            .join(StaffSalesPage, StaffSalesPage.staff_id == Staff.id)
            .join(SalesPage, SalesPage.id == StaffSalesPage.sales_page_id)
            .where(
                SalesPage.name == subdomain.strip().lower(),
                Staff.email_key == email_key(email.strip()),
                Staff.deleted_at.is_(None),
            )
        )
    ).first()
    staff, page = (found[0], found[1]) if found else (None, None)
    if not await passwords.verify(staff.password_hash if staff else None, password) or not staff or not page:
        raise LoginRefused()
    return await _issue(session, staff, page, family_id=new_id())


async def _issue(
    session: AsyncSession,
    staff: Staff,
    page: SalesPage,
    *,
    family_id: uuid.UUID,
    refresh_token: str | None = None,
) -> Login:
    now = clock.now()
    token_id = new_id()
    refresh_token = refresh_token or tokens.new_refresh_token()
    session.add(
        RefreshToken(
            token_hash=tokens.digest(refresh_token),
            family_id=family_id,
            staff_id=staff.id,
            sales_page_id=page.id,
            access_token_id=token_id,
            created_at=now,
        )
    )
    await session.flush()
    return Login(await _access(session, staff, token_id), token_id, refresh_token, staff)


async def _access(session: AsyncSession, staff: Staff, token_id: uuid.UUID) -> str:
    client_number = await session.scalar(select(Client.number).where(Client.id == staff.client_id))
    assert client_number is not None
    return tokens.issue_access(
        token_id=token_id,
        generation=staff.token_generation,
        staff_id=staff.id,
        staff_number=staff.number,
        client_number=client_number,
        now=clock.now(),
    )


async def refresh(session: AsyncSession, *, access_token: str, refresh_token: str) -> Login | RefreshRefused:
    """Use a refresh token up for the next pair (the access token it came with may have expired).
    Sent again within :data:`REUSE_GRACE` it answers the same new refresh token; later, the
    token's whole family is revoked, and that refusal is returned rather than raised: the
    revocation must commit although the call is refused."""
    now = clock.now()
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(refresh_token.strip()))
    )
    claims = tokens.read_access(access_token.strip(), verify_expiry=False)
    if row is None or row.revoked_at is not None or claims is None or claims.token_id != row.access_token_id:
        raise RefreshRefused()
    staff = await session.get(Staff, row.staff_id)
    page = await session.get(SalesPage, row.sales_page_id)
    if staff is None or page is None or staff.deleted_at is not None:
        raise RefreshRefused()
    # Use it up with a guarded UPDATE: of two refreshes at once, one wins; the other replays.
    taken = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .returning(RefreshToken.id)
    )
    successor = tokens.successor(refresh_token.strip())
    if taken.first() is not None:
        return await _issue(session, staff, page, family_id=row.family_id, refresh_token=successor)
    used_at = await session.scalar(select(RefreshToken.used_at).where(RefreshToken.id == row.id))
    if used_at is not None and now - used_at <= REUSE_GRACE:
        following = await session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(successor))
        )
        token_id = following.access_token_id if following is not None else row.access_token_id
        return Login(await _access(session, staff, token_id), token_id, successor, staff)
    await revoke_family(session, row.family_id)
    return RefreshRefused(
        "This refresh token was used before: every session it belongs to is now logged out. Log in again."
    )


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


async def principal_for_access_token(session: AsyncSession, token: str) -> Principal:
    """The staff member an access token names, with their client and role, or
    :class:`Unauthenticated` (a token we did not sign, expired, for another client, of a
    removed member, or issued before their password last changed)."""
    claims = tokens.read_access(token)
    if claims is None:
        raise Unauthenticated("The access token is not valid or has expired; log in again or refresh it.")
    row = (
        await session.execute(
            select(
                Staff.id.label("staff_id"),
                Staff.role,
                Staff.token_generation,
                Client.id.label("client_id"),
                Client.number,
                Client.name,
                Client.currency,
                Client.timezone,
                Client.voucherify_api_version,
            )
            .join(Client, Client.id == Staff.client_id)
            .where(Staff.id == claims.staff_id, Staff.deleted_at.is_(None))
        )
    ).first()
    if (
        row is None
        or row.number is None
        or claims.audience != tokens.audience(row.number)
        or claims.generation != row.token_generation
    ):
        raise Unauthenticated("The access token is not valid or has expired; log in again or refresh it.")
    return Principal(
        client_id=row.client_id,
        client_name=row.name,
        currency=row.currency,
        timezone=row.timezone,
        subject=Subject(SubjectKind.STAFF, row.staff_id),
        role=Role(row.role),
        api_version=row.voucherify_api_version,
    )


async def change_password(session: AsyncSession, principal: Principal, *, current: str, new: str) -> None:
    """The caller's own password; every session of theirs ends (refresh tokens revoked, access
    tokens issued before now refused), this one included: they log in again."""
    if principal.subject.kind is not SubjectKind.STAFF:
        raise InvalidInput(
            "Only a staff login has a password; an API key has none.", field="current_password"
        )
    member = await session.get(Staff, principal.subject.id)
    if member is None or not await passwords.verify(member.password_hash, current):
        raise InvalidInput("The current password is not right.", field="current_password")
    member.password_hash = await passwords.hash_password(_password(new))
    await end_sessions(session, member)


async def end_sessions(session: AsyncSession, member: Staff) -> None:
    """Every session of the member ends at once: their refresh tokens are revoked and every
    access token issued before now is refused (its token generation is behind)."""
    now = clock.now()
    member.token_generation += 1
    member.updated_at = now
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.staff_id == member.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.flush()
    forget_all_at_commit(session)


@dataclass(frozen=True)
class WebSession:
    """A staff login in a browser: the access token kept in the session cookie, live while its
    refresh row (the login's family) is not revoked, so logging out ends it on the server."""

    principal: Principal
    staff_id: uuid.UUID
    staff_name: str
    sales_page_id: uuid.UUID
    sales_page_name: str
    token_id: uuid.UUID


async def web_session(session: AsyncSession, token: str) -> WebSession | None:
    """The login an access token in a cookie stands for, or ``None`` (not ours, expired, logged
    out, the member removed or their password changed since, the sales page taken away)."""
    claims = tokens.read_access(token)
    if claims is None:
        return None
    found = (
        await session.execute(
            select(Staff.full_name, SalesPage.id, SalesPage.name)
            .join(RefreshToken, RefreshToken.staff_id == Staff.id)
            .join(SalesPage, SalesPage.id == RefreshToken.sales_page_id)
            .join(
                StaffSalesPage,
                (StaffSalesPage.staff_id == Staff.id) & (StaffSalesPage.sales_page_id == SalesPage.id),
            )
            .where(
                RefreshToken.staff_id == claims.staff_id,  # indexed: a member has few logins
                RefreshToken.access_token_id == claims.token_id,
                RefreshToken.revoked_at.is_(None),
            )
        )
    ).first()
    if found is None:
        return None
    try:
        principal = await principal_for_access_token(session, token)
    except Unauthenticated:
        return None
    name, page_id, page_name = found
    return WebSession(principal, claims.staff_id, name, page_id, page_name, claims.token_id)


async def log_out(session: AsyncSession, login: WebSession) -> None:
    """End one browser login (its token family); the member's other logins go on."""
    family = await session.scalar(
        select(RefreshToken.family_id).where(
            RefreshToken.staff_id == login.staff_id, RefreshToken.access_token_id == login.token_id
        )
    )
    if family is not None:
        await revoke_family(session, family)
