"""Clients, sales pages and staff logins, exactly as seed 003 documents them."""

from __future__ import annotations

from fastapi import APIRouter, Request

from voucherd.accounts import sales_pages, staff
from voucherd.accounts.errors import RefreshRefused
from voucherd.api.vouchercart import errors, mappers
from voucherd.api.vouchercart.auth import PrincipalDep, basic_credentials
from voucherd.api.vouchercart.body import fields
from voucherd.api.vouchercart.schemas import AuthorizeFields, EmailFields, RefreshFields, RegisterFields, read
from voucherd.core.emails import email_key
from voucherd.http import ratelimit
from voucherd.http.responses import JSON
from voucherd.http.session import SessionDep

router = APIRouter(tags=["Accounts"])


async def _per_ip(request: Request, name: str) -> None:
    await ratelimit.check(request, name, f"ip:{ratelimit.client_ip(request)}")


@router.post(
    "/register",
    status_code=201,
    summary="Register a client",
    responses={
        409: {"description": "The subdomain is taken"},
        422: {"description": "Bad email, short password"},
    },
)
async def register(request: Request, session: SessionDep) -> JSON:
    """A new client, its owner (a staff login) and its first sales page. Card fields are accepted
    and never stored or logged. Needs no authorization."""
    await _per_ip(request, "register_per_ip")
    data = read(RegisterFields, await fields(request))
    result = await staff.register(
        session,
        staff.Registration(
            email=data.email,
            password=data.password,
            full_name=data.full_name,
            company_name=data.company_name,
            subdomain=data.subdomain,
            country=data.country,
            timezone=data.timezone,
            currency=data.currency,
        ),
    )
    return JSON(mappers.registered(result), status_code=201)


@router.get("/user-domains", summary="The sales pages a login may be used on")
async def user_domains(request: Request, session: SessionDep) -> JSON:
    await _per_ip(request, "login_per_ip")
    data = read(EmailFields, {**dict(request.query_params), **await fields(request)})
    return JSON(mappers.domains(await staff.pages_of_email(session, data.email)))


@router.post("/authorize", summary="Log in: an access token and a refresh token")
async def authorize(request: Request, session: SessionDep) -> JSON:
    """Basic authorization with the staff member's email and password, and the sales page's
    ``subdomain``."""
    await _per_ip(request, "login_per_ip")
    email, password = basic_credentials(request)
    await ratelimit.check(request, "login_per_account", f"login:{email_key(email.strip())}")
    data = read(AuthorizeFields, {**dict(request.query_params), **await fields(request)})
    login = await staff.log_in(session, email=email, password=password, subdomain=data.subdomain)
    return JSON(mappers.authenticated(login))


@router.put("/refresh", summary="Exchange a refresh token for a new pair")
async def refresh(request: Request, session: SessionDep) -> JSON:
    await _per_ip(request, "login_per_ip")
    data = read(RefreshFields, await fields(request))
    login = await staff.refresh(session, access_token=data.access_token, refresh_token=data.refresh_token)
    if isinstance(login, RefreshRefused):  # a reused token: its family's revocation commits
        return errors.render(login)
    return JSON(mappers.refreshed(login))


@router.get("/domains", summary="Your sales pages")
async def domains(session: SessionDep, principal: PrincipalDep) -> JSON:
    return JSON(mappers.domains(await sales_pages.pages_of(session, principal)))
