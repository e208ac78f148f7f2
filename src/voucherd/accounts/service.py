"""Clients (tenants) and their API keys."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from voucherd.accounts import api_versions, keys
from voucherd.accounts.errors import ApiKeyInUse
from voucherd.accounts.numbers import next_number
from voucherd.core import clock
from voucherd.core.errors import InvalidInput, NotFound, Unauthenticated
from voucherd.core.money import is_currency
from voucherd.core.pagination import Page, PageRequest
from voucherd.models import ApiKey, Client
from voucherd.models.client import CLIENT_NAME_LENGTH


class SubjectKind(StrEnum):
    API_KEY = "api_key"
    STAFF = "staff"


class Role(StrEnum):
    """What a caller may do. An API key acts for its whole client (admin); a staff login carries
    its member's role: the owner, a manager, counter staff."""

    ADMIN = "admin"
    PUBLISHABLE = "publishable"  # a client-side key: client-side endpoints only, from its origins
    OWNER = "owner"
    MANAGER = "manager"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class Subject:
    """The credential behind a call: an API key or a staff member, by id."""

    kind: SubjectKind
    id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant every query is scoped to, the subject (credential) acting for
    it and its role. Services read the client and the role, never how the caller authenticated;
    ``rate_key`` names the caller's own rate-limit counters."""

    client_id: uuid.UUID
    client_name: str
    currency: str
    timezone: str
    subject: Subject
    role: Role = Role.ADMIN
    rate_key: str = field(default="")
    # The Voucherify API version the client pinned for requests that name none (None: ours).
    api_version: str | None = None

    def __post_init__(self) -> None:
        if not self.rate_key:
            object.__setattr__(self, "rate_key", f"{self.subject.kind}:{self.subject.id}")


def api_key_principal(
    *,
    client_id: uuid.UUID,
    client_name: str,
    currency: str,
    timezone: str,
    api_key_id: uuid.UUID,
    publishable: bool = False,
    api_version: str | None = None,
) -> Principal:
    """The principal of an API key: it acts for its whole client (a publishable key only on
    client-side endpoints)."""
    return Principal(
        client_id=client_id,
        client_name=client_name,
        currency=currency,
        timezone=timezone,
        subject=Subject(SubjectKind.API_KEY, api_key_id),
        role=Role.PUBLISHABLE if publishable else Role.ADMIN,
        api_version=api_version,
    )


def principal_of_key(client: Client, api_key: ApiKey) -> Principal:
    """:func:`api_key_principal` for a client and key in hand (the CLI's demo, tests)."""
    return api_key_principal(
        client_id=client.id,
        client_name=client.name,
        currency=client.currency,
        timezone=client.timezone,
        api_key_id=api_key.id,
    )


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str  # shown once


async def create_client(
    session: AsyncSession, *, name: str, currency: str = "GBP", timezone: str = "Europe/London"
) -> Client:
    """A new tenant. Currency is ISO 4217; timezone an IANA name (it decides when a date-only
    expiry ends)."""
    name = client_name(name)
    currency = currency.upper()
    if not is_currency(currency):
        raise InvalidInput("currency must be a three-letter ISO 4217 code.", field="currency")
    check_timezone(timezone)
    client = Client(name=name, currency=currency, timezone=timezone, number=await next_number(session))
    session.add(client)
    await session.flush()
    return client


def client_name(name: str) -> str:
    """The business's name as typed, trimmed: what its vouchers, pages, shop and mails show."""
    name = name.strip()
    if not name:
        raise InvalidInput("The business name must not be empty.", field="name")
    if len(name) > CLIENT_NAME_LENGTH:
        raise InvalidInput(
            f"The business name must be at most {CLIENT_NAME_LENGTH} characters.", field="name"
        )
    return name


def check_timezone(timezone: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"Unknown timezone {timezone!r}; use an IANA name such as Europe/London.",
            field="timezone",
        ) from None


async def get_client(session: AsyncSession, client_id: uuid.UUID) -> Client:
    client = await session.get(Client, client_id)
    if client is None:
        raise NotFound("Client not found.")
    return client


async def list_clients(session: AsyncSession) -> list[Client]:
    return list((await session.scalars(select(Client).order_by(Client.created_at))).all())


async def set_client_side(
    session: AsyncSession, client_id: uuid.UUID, *, redeem: bool, publish: bool
) -> Client:
    """Switch what the client's publishable keys may do from browsers (seed 004's danger zone);
    every client-side call reads the switches, so the change holds at once."""
    client = await get_client(session, client_id)
    client.client_side_redeem = redeem
    client.client_side_publish = publish
    return client


async def set_api_version(session: AsyncSession, client_id: uuid.UUID, version: str) -> Client:
    """Pin the Voucherify API version the client's requests get when they name none (one we
    serve, else :class:`InvalidInput`); credentials are re-read, so it holds at once here and
    within the cache time everywhere."""
    client = await get_client(session, client_id)
    client.voucherify_api_version = api_versions.checked(version)
    forget_all_at_commit(session)
    return client


async def create_api_key(
    session: AsyncSession,
    client_id: uuid.UUID,
    *,
    name: str = "default",
    test: bool = False,
    publishable: bool = False,
    allowed_origins: list[str] | None = None,
) -> IssuedKey:
    """A new key for the client; the secret is returned once and stored only as a hash. A
    publishable key needs the origins (``https://shop.example``, or ``*``) it may be used from."""
    await get_client(session, client_id)
    origins = keys.checked_origins(allowed_origins or []) if publishable else None
    if allowed_origins and not publishable:
        raise InvalidInput("allowed_origins are for publishable keys only.", field="allowed_origins")
    secret = keys.generate(test=test)
    api_key = ApiKey(
        client_id=client_id,
        name=name,
        prefix=keys.visible_prefix(secret),
        key_hash=keys.digest(secret),
        publishable=publishable,
        allowed_origins=origins,
    )
    session.add(api_key)
    await session.flush()
    return IssuedKey(api_key, secret)


async def list_api_keys(session: AsyncSession, client_id: uuid.UUID) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.client_id == client_id).order_by(ApiKey.created_at)
    return list((await session.scalars(query)).all())


async def revoke_api_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey:
    """Revoke any client's key (the operator's CLI): it stops working at once in this process
    and within the cache time everywhere else."""
    api_key = await session.get(ApiKey, key_id)
    if api_key is None:
        raise NotFound("API key not found.")
    await _revoke(session, api_key)
    return api_key


async def _revoke(session: AsyncSession, api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = clock.now()
        await session.flush()
    forget_all_at_commit(session)


KEY_NAME_LENGTH = 200


async def create_key(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    publishable: bool = False,
    allowed_origins: list[str] | None = None,
) -> IssuedKey:
    """A new key of the caller's client (our API's ``POST /keys``), shown once."""
    name = name.strip()
    if not name or len(name) > KEY_NAME_LENGTH:
        raise InvalidInput(f"name must be 1 to {KEY_NAME_LENGTH} characters.", field="name")
    return await create_api_key(
        session, principal.client_id, name=name, publishable=publishable, allowed_origins=allowed_origins
    )


async def get_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    """One of the client's keys (another client's is not found)."""
    api_key = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.client_id == principal.client_id)
    )
    if api_key is None:
        raise NotFound("API key not found.")
    return api_key


async def set_key_origins(
    session: AsyncSession, principal: Principal, key_id: uuid.UUID, origins: list[str]
) -> ApiKey:
    """New allowed origins for one of the client's live publishable keys (checked as at
    creation); client-side calls read them on every request, so the change holds at once."""
    api_key = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.client_id == principal.client_id)
    )
    if api_key is None or not api_key.publishable or api_key.revoked_at is not None:
        raise NotFound("Publishable key not found (a revoked key keeps its origins).")
    api_key.allowed_origins = keys.checked_origins(origins)
    await session.flush()
    return api_key


async def update_business(
    session: AsyncSession, principal: Principal, *, name: str, timezone: str, currency: str
) -> Client:
    """The client's name, timezone (an IANA name: it decides when a date-only expiry ends and how
    dates are shown) and currency (ISO 4217: the default of new campaigns and gift vouchers; those
    made before keep theirs). Credentials are re-read, so every login sees it at once."""
    name = client_name(name)
    timezone = timezone.strip()
    check_timezone(timezone)
    currency = currency.strip().upper()
    if not is_currency(currency):
        raise InvalidInput(
            "The currency must be a three-letter ISO 4217 code, such as GBP.", field="currency"
        )
    client = await get_client(session, principal.client_id)
    client.name, client.timezone, client.currency = name, timezone, currency
    await session.flush()
    forget_all_at_commit(session)
    return client


async def list_keys(session: AsyncSession, principal: Principal, page: PageRequest) -> Page[ApiKey]:
    """The client's keys, revoked ones too, oldest first."""
    scope = ApiKey.client_id == principal.client_id
    total = await session.scalar(select(func.count()).select_from(ApiKey).where(scope))
    items = (
        await session.scalars(
            select(ApiKey)
            .where(scope)
            .order_by(ApiKey.created_at, ApiKey.id)
            .offset(page.offset)
            .limit(page.limit)
        )
    ).all()
    return Page(items=items, total=total or 0, request=page)


async def revoke_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    """Revoke one of the client's keys (again: no change). A key may not revoke itself
    (:class:`ApiKeyInUse`): a client whose last key did so would be locked out of its API;
    revoke it with another key or an owner's login."""
    api_key = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.client_id == principal.client_id)
    )
    if api_key is None:
        raise NotFound("API key not found.")
    if principal.subject == Subject(SubjectKind.API_KEY, api_key.id):
        raise ApiKeyInUse(
            "An API key may not revoke itself; revoke it with another key (POST /keys makes one) "
            "or an owner's login."
        )
    await _revoke(session, api_key)
    return api_key


class _PrincipalCache:
    """Resolved keys are trusted for ``ttl`` seconds, so a revocation takes effect everywhere
    within that time while the hot path skips a query per request. Each :meth:`clear` starts a new
    epoch: a lookup that began in an earlier one (it may have read a row as it was before a
    revocation committed) is not remembered."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal]] = {}
        self.epoch = 0

    def get(self, key_hash: str) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key_hash: str, principal: Principal, ttl: float, *, since: int) -> None:
        if ttl > 0 and since == self.epoch:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key_hash] = (time.monotonic() + ttl, principal)

    def clear(self) -> None:
        self.epoch += 1
        self._entries.clear()


_cache = _PrincipalCache()


def _presented(raw_key: str | None) -> str:
    """The key as sent, trimmed; a missing key is :class:`Unauthenticated` at once."""
    key = (raw_key or "").strip()
    if not key:
        raise Unauthenticated()
    return key


def cache_epoch() -> int:
    """Read before looking a credential up; pass to :func:`remember`."""
    return _cache.epoch


def remember(credential: str, principal: Principal, ttl: float, *, since: int) -> None:
    """Trust ``credential`` (a key or a staff token) as ``principal`` for ``ttl`` seconds, unless
    the cache was cleared since the lookup began (``since``, :func:`cache_epoch`)."""
    _cache.put(keys.digest(credential), principal, ttl, since=since)


def forget_all_at_commit(session: AsyncSession) -> None:
    """After a change that must stop credentials at once (a revoked key, a member's ended
    sessions): forget every trusted credential now, and again when ``session`` commits. A
    request that resolves the credential in between still reads the row as it was, and would
    otherwise be trusted for another cache time."""
    _cache.clear()
    event.listen(session.sync_session, "after_commit", _forget_after_commit, once=True)


def _forget_after_commit(_session: Session) -> None:
    _cache.clear()


def cached_principal(raw_key: str | None) -> Principal | None:
    """The principal of a key seen within the cache time, without a query; ``None`` when the key
    must be looked up. A missing key is :class:`Unauthenticated` at once."""
    return _cache.get(keys.digest(_presented(raw_key)))


async def authenticate(session: AsyncSession, raw_key: str | None, *, cache_ttl: float) -> Principal:
    """The principal for an API key, or :class:`Unauthenticated`. A malformed key is refused
    without a query."""
    key = _presented(raw_key)
    key_hash = keys.digest(key)
    principal = _cache.get(key_hash)
    if principal is not None:
        return principal
    if not keys.is_well_formed(key):
        raise Unauthenticated("The API key is not valid.")
    since = _cache.epoch
    query = (
        select(
            ApiKey.id,
            ApiKey.client_id,
            ApiKey.publishable,
            Client.name,
            Client.currency,
            Client.timezone,
            Client.voucherify_api_version,
        )
        .join(Client, Client.id == ApiKey.client_id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )
    row = (await session.execute(query)).first()
    if row is None:
        raise Unauthenticated("The API key is not valid.")
    principal = api_key_principal(
        client_id=row.client_id,
        client_name=row.name,
        currency=row.currency,
        timezone=row.timezone,
        api_key_id=row.id,
        publishable=row.publishable,
        api_version=row.voucherify_api_version,
    )
    _cache.put(key_hash, principal, cache_ttl, since=since)
    return principal
