"""A client's accounts on our own API: API keys, staff and sales pages (issue 12). Owners and API
keys manage them; any login may list its sales pages."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import AliasChoices, Field

from voucherd.accounts import members, sales_pages
from voucherd.accounts import service as accounts
from voucherd.accounts.permissions import Permission
from voucherd.accounts.service import Role
from voucherd.api.vouchertrack import mappers
from voucherd.api.vouchertrack.auth import AdministeredRoute, PrincipalDep, authenticated
from voucherd.api.vouchertrack.schemas import Body
from voucherd.core.pagination import MAX_PAGE, PageRequest
from voucherd.http.idempotency import idempotent
from voucherd.http.responses import JSON
from voucherd.http.routes import permission
from voucherd.http.session import SessionDep

_OWNERS_ONLY: dict[int | str, dict[str, Any]] = {
    403: {"description": "Only owners (and API keys) manage staff, keys and sales pages"}
}
keys_router = APIRouter(
    prefix="/keys", tags=["API keys"], route_class=AdministeredRoute, responses=_OWNERS_ONLY
)
staff_router = APIRouter(
    prefix="/staff", tags=["Staff"], route_class=AdministeredRoute, responses=_OWNERS_ONLY
)
# GET /domains is for any login: the others document their 403 one by one.
domains_router = APIRouter(prefix="/domains", tags=["Sales pages"], route_class=AdministeredRoute)
routers = (keys_router, staff_router, domains_router)

PageDep = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1 to 1,000,000,000")]
LimitDep = Annotated[int, Query(ge=1, le=100, description="Items per page, 1 to 100")]
# Staff members and sales pages are named by their number, as VoucherCart names them.
Number = Annotated[int, Field(ge=1, le=2**31 - 1)]
StaffNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="The member's number (`id`)")]
PageNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="The sales page's number (`id`)")]
StaffRole = Literal["owner", "manager", "staff"]
Password = Annotated[str, Field(min_length=10, max_length=1024, description="10 characters or more")]
FullName = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(min_length=1, max_length=320)]
DomainIds = Annotated[list[Number], Field(max_length=1000, description="The sales pages they log in on")]


class KeyCreate(Body):
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["Shop checkout"])]
    # A publishable key, for browsers (Voucherify's client-side API), from these origins only.
    publishable: Annotated[bool, Field(strict=True)] = False
    allowed_origins: Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=50)] = []


class StaffCreate(Body):
    email: Email
    password: Password
    full_name: FullName = Field(validation_alias=AliasChoices("fullName", "full_name"))
    role: StaffRole = "staff"
    domain_ids: DomainIds = Field(
        default_factory=list, validation_alias=AliasChoices("domainIds", "domain_ids")
    )


class StaffUpdate(Body):
    """Only these change; anything else sent (an id, a client, timestamps, hashes) is ignored."""

    email: Email | None = None
    password: Password | None = None
    full_name: FullName | None = Field(default=None, validation_alias=AliasChoices("fullName", "full_name"))
    role: StaffRole | None = None
    domain_ids: DomainIds | None = Field(
        default=None, validation_alias=AliasChoices("domainIds", "domain_ids")
    )


class DomainBody(Body):
    name: Annotated[str, Field(min_length=1, max_length=100, examples=["doe-restaurants"])]


@keys_router.post("", status_code=201, summary="Create an API key")
async def create_key(body: KeyCreate, session: SessionDep, principal: PrincipalDep) -> JSON:
    """The answer carries `api_key`, shown this once: only its hash is kept."""
    issued = await accounts.create_key(
        session, principal, name=body.name, publishable=body.publishable, allowed_origins=body.allowed_origins
    )
    return JSON(mappers.issued_key(issued), status_code=201)


@keys_router.get("", summary="List API keys")
async def list_keys(
    session: SessionDep, principal: PrincipalDep, page: PageDep = 1, limit: LimitDep = 100
) -> JSON:
    """Every key of yours, revoked ones too: its id, name, visible prefix and state, never the key."""
    result = await accounts.list_keys(session, principal, PageRequest(page=page, limit=limit))
    return JSON(mappers.page(result, [mappers.api_key(k) for k in result.items]))


@keys_router.delete(
    "/{api_key_id}",
    status_code=204,
    summary="Revoke an API key",
    responses={409: {"description": "A key may not revoke itself"}},
)
async def revoke_key(api_key_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Response:
    """At once on this server and within a second on every other. Revoking again changes nothing."""
    await accounts.revoke_key(session, principal, api_key_id)
    return Response(status_code=204)


@staff_router.get("", summary="List staff")
async def list_staff(
    session: SessionDep, principal: PrincipalDep, page: PageDep = 1, limit: LimitDep = 100
) -> JSON:
    result = await members.list_members(session, principal, PageRequest(page=page, limit=limit))
    return JSON(mappers.page(result, [mappers.staff_member(m) for m in result.items]))


@staff_router.post(
    "",
    status_code=201,
    summary="Add a staff member",
    # No Idempotency-Key: its record keeps a SHA-256 of the body, a fast hash of the password.
    responses={409: {"description": "You have a login with this email"}},
)
async def create_staff(body: StaffCreate, session: SessionDep, principal: PrincipalDep) -> JSON:
    """`email`, `password` (10 characters or more), `fullName`, `role` (`owner`, `manager` or
    `staff`, the default) and `domainIds`, the sales pages they may log in on."""
    member = await members.add_member(
        session,
        principal,
        members.MemberInput(
            email=body.email,
            password=body.password,
            full_name=body.full_name,
            role=Role(body.role),
            page_numbers=body.domain_ids,
        ),
    )
    return JSON(mappers.staff_member(member), status_code=201)


@staff_router.get("/{staff_id}", summary="Get a staff member")
async def get_staff(staff_id: StaffNumber, session: SessionDep, principal: PrincipalDep) -> JSON:
    return JSON(mappers.staff_member(await members.get_member(session, principal, staff_id)))


@staff_router.patch(
    "/{staff_id}",
    summary="Change a staff member",
    responses={409: {"description": "You have a login with this email, or this is your last owner"}},
)
async def update_staff(
    staff_id: StaffNumber, body: StaffUpdate, session: SessionDep, principal: PrincipalDep
) -> JSON:
    """Send what changes. A new `role` or `password`, or a sales page taken away, ends the
    member's sessions at once. Your last owner stays an owner."""
    member = await members.update_member(
        session,
        principal,
        staff_id,
        members.MemberChanges(
            email=body.email,
            password=body.password,
            full_name=body.full_name,
            role=None if body.role is None else Role(body.role),
            page_numbers=body.domain_ids,
        ),
    )
    return JSON(mappers.staff_member(member))


@staff_router.delete(
    "/{staff_id}",
    status_code=204,
    summary="Remove a staff member",
    responses={409: {"description": "This is your last owner"}},
)
async def delete_staff(staff_id: StaffNumber, session: SessionDep, principal: PrincipalDep) -> Response:
    """Their sessions end at once; their email may be given to a new login."""
    await members.remove_member(session, principal, staff_id)
    return Response(status_code=204)


@domains_router.get("", summary="List sales pages")
@permission(Permission.REDEEM)  # any login: a member sees the pages they log in on
async def list_domains(
    session: SessionDep, principal: PrincipalDep, page: PageDep = 1, limit: LimitDep = 100
) -> JSON:
    """Owners and API keys see every sales page; other members the ones they may log in on."""
    result = await sales_pages.list_pages(session, principal, PageRequest(page=page, limit=limit))
    return JSON(mappers.page(result, [mappers.domain(p) for p in result.items]))


@domains_router.post(
    "",
    status_code=201,
    summary="Add a sales page",
    dependencies=[idempotent(authenticated)],
    responses={**_OWNERS_ONLY, 409: {"description": "Another sales page has this name"}},
)
async def create_domain(body: DomainBody, session: SessionDep, principal: PrincipalDep) -> JSON:
    """`name`: its subdomain (a-z, 0-9 and inner hyphens, at most 63), unique across voucherd."""
    return JSON(
        mappers.domain(await sales_pages.add_page(session, principal, name=body.name)), status_code=201
    )


@domains_router.get("/{domain_id}", summary="Get a sales page", responses=_OWNERS_ONLY)
async def get_domain(domain_id: PageNumber, session: SessionDep, principal: PrincipalDep) -> JSON:
    return JSON(mappers.domain(await sales_pages.get_page(session, principal, domain_id)))


@domains_router.patch(
    "/{domain_id}",
    summary="Rename a sales page",
    responses={**_OWNERS_ONLY, 409: {"description": "Another sales page has this name"}},
)
async def rename_domain(
    domain_id: PageNumber, body: DomainBody, session: SessionDep, principal: PrincipalDep
) -> JSON:
    """Its address changes with it, and its staff log in with the new name."""
    page = await sales_pages.rename_page(session, principal, domain_id, name=body.name)
    return JSON(mappers.domain(page))
