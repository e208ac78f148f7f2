"""The business's settings, for its owners only (``Owner``; a manager gets the 403 page): API
keys and publishable keys, webhook endpoints with their delivery log, staff, sales pages, the
timezone and currency, and the branding (accent colour and logo). Each form calls the service
our API calls; a secret (a key, a webhook signing secret, a first password) is shown once, on the
page that answers the form, and never again."""

from __future__ import annotations

import uuid
import zoneinfo
from functools import cache
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from voucherd.accounts import branding, members, sales_pages
from voucherd.accounts import service as accounts
from voucherd.accounts.errors import LastOwner
from voucherd.accounts.service import Role
from voucherd.core.errors import Conflict, InvalidInput, NotFound
from voucherd.core.pagination import PageRequest
from voucherd.events.service import EVENT_TYPES
from voucherd.http.boundary import body_limit
from voucherd.http.session import SessionDep
from voucherd.web.dashboard.pages import PAGE_SIZE, Owner, area_router, page_request, pager, view
from voucherd.webhooks import service as webhooks
from voucherd.webhooks.schemas import EndpointChanges, EndpointInput

router = area_router()
BASE = "/dashboard/settings"
ROLES = [("staff", "Counter staff"), ("manager", "Manager"), ("owner", "Owner")]
ROLE_LABELS = dict(ROLES)
# What a redirect after a change says (by key, so a link cannot make the page say anything else).
DONE = {
    "revoked": "The key is revoked: it no longer works anywhere.",
    "origins": "The key's allowed origins are saved.",
    "saved": "Saved.",
    "deleted": "The webhook is deleted, with its delivery log.",
    "redelivered": "The delivery is queued: it is sent again in a moment, with the same event id.",
    "removed": "The login is deactivated: its sessions have ended.",
    "page_added": "The sales page is added.",
    "logo_removed": "The logo is removed.",
}


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


def _back(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{BASE}{path}?done={done}", status_code=303)


def _errors(error: InvalidInput, fields: dict[str, str], default: str) -> dict[str, str]:
    """The message beside the form field the service named (its field names mapped to ours)."""
    field = error.field or ""
    return {fields.get(field, field if field in fields.values() else default): error.message}


@cache
def timezones() -> list[tuple[str, str]]:
    """Every IANA zone this system knows, as the select's (value, label) pairs."""
    return [(zone, zone.replace("_", " ")) for zone in sorted(zoneinfo.available_timezones())]


# --- the index -------------------------------------------------------------------------------


@router.get("/settings")
async def index(request: Request, login: Owner) -> Response:
    return view.render(request, "settings/index.html")


# --- API keys and publishable keys -------------------------------------------------------------


async def _keys_page(
    request: Request,
    session: SessionDep,
    login: Owner,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    page: int = 1,
) -> Response:
    # A hundred keys a page (the most a list takes): a client rarely has more than a few.
    found = await accounts.list_keys(session, login.principal, PageRequest(page=max(1, page), limit=100))
    return view.render(
        request,
        "settings/keys.html",
        status,
        pages=pager(request, found),  # type: ignore[arg-type]
        secret_keys=[key for key in found.items if not key.publishable],
        publishable_keys=[key for key in found.items if key.publishable],
        errors=errors or {},
        form=form or {},
        flash=_done(request),
    )


@router.get("/settings/keys")
async def keys_page(request: Request, session: SessionDep, login: Owner, page: int = 1) -> Response:
    return await _keys_page(request, session, login, page=page)


def _origins(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


@router.post("/settings/keys")
async def create_key(
    request: Request,
    session: SessionDep,
    login: Owner,
    name: Annotated[str, Form(max_length=500)] = "",
    kind: Annotated[str, Form(max_length=20)] = "secret",
    origins: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """A secret key, or a publishable one with its origins: the key is on this answer only."""
    publishable = kind == "publishable"
    prefix = "pk_" if publishable else ""
    try:
        issued = await accounts.create_key(
            session,
            login.principal,
            name=name,
            publishable=publishable,
            allowed_origins=_origins(origins) if publishable else None,
        )
    except InvalidInput as error:
        errors = _errors(error, {"name": f"{prefix}name", "allowed_origins": "pk_origins"}, f"{prefix}name")
        form = {f"{prefix}name": name, "pk_origins": origins}
        return await _keys_page(request, session, login, status=422, errors=errors, form=form)
    return view.render(
        request,
        "settings/secret.html",
        201,
        heading=f"Your new {'publishable' if publishable else 'API'} key",
        label=f"Key “{issued.api_key.name}”",
        secret=issued.secret,
        explain=(
            "Copy it now: this is the only time it is shown. voucherd keeps only a fingerprint of it, "
            "so it cannot show it again. If you lose it, revoke it and make another."
        ),
        back=(f"{BASE}/keys", "Back to the keys"),
    )


@router.post("/settings/keys/{key_id}/revoke")
async def revoke_key(key_id: uuid.UUID, session: SessionDep, login: Owner) -> Response:
    await accounts.revoke_key(session, login.principal, key_id)
    return _back("/keys", "revoked")


async def _publishable(session: SessionDep, login: Owner, key_id: uuid.UUID) -> Any:
    """A live publishable key of the client, or ``None``."""
    try:
        key = await accounts.get_key(session, login.principal, key_id)
    except NotFound:
        return None
    return key if key.publishable and key.revoked_at is None else None


@router.get("/settings/keys/{key_id}/origins")
async def origins_form(request: Request, key_id: uuid.UUID, session: SessionDep, login: Owner) -> Response:
    key = await _publishable(session, login, key_id)
    if key is None:
        return view.render(
            request, "message.html", 404, heading="Not found", message="No live publishable key has this id."
        )
    form = {"origins": "\n".join(key.allowed_origins or [])}
    return view.render(request, "settings/key_origins.html", key=key, form=form, errors={})


@router.post("/settings/keys/{key_id}/origins")
async def save_origins(
    request: Request,
    key_id: uuid.UUID,
    session: SessionDep,
    login: Owner,
    origins: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    try:
        async with session.begin_nested():
            await accounts.set_key_origins(session, login.principal, key_id, _origins(origins))
    except InvalidInput as error:
        key = await _publishable(session, login, key_id)
        errors = {"origins": error.message}
        return view.render(
            request, "settings/key_origins.html", 422, key=key, form={"origins": origins}, errors=errors
        )
    return _back("/keys", "origins")


# --- webhooks ----------------------------------------------------------------------------------

WEBHOOK_FIELDS = {"name": "name", "url": "url", "events": "events"}


def _webhook_form(form: Any) -> dict[str, Any]:
    events = [value for value in form.getlist("events") if isinstance(value, str)]
    return {
        "name": str(form.get("name") or "")[:500],
        "url": str(form.get("url") or "")[:2100],
        "events": events[: len(EVENT_TYPES) + 1],
        "enabled": form.get("enabled") == "yes",
    }


@router.get("/settings/webhooks")
async def webhooks_page(request: Request, session: SessionDep, login: Owner, page: int = 1) -> Response:
    found = await webhooks.list_endpoints(session, login.principal, page_request(page))
    return view.render(
        request,
        "settings/webhooks.html",
        endpoints=found.items,
        pages=pager(request, found),  # type: ignore[arg-type]
        flash=_done(request),
    )


@router.get("/settings/webhooks/new")
async def new_webhook(request: Request, login: Owner) -> Response:
    form = {"name": "", "url": "https://", "events": ["*"], "enabled": True}
    return view.render(request, "settings/webhook_new.html", form=form, errors={}, event_types=EVENT_TYPES)


@router.post("/settings/webhooks")
async def create_webhook(request: Request, session: SessionDep, login: Owner) -> Response:
    """A new endpoint; its signing secret is on this answer only."""
    form = _webhook_form(await request.form())
    try:
        created = await webhooks.create_endpoint(
            session,
            login.principal,
            EndpointInput(name=form["name"], url=form["url"], events=form["events"], enabled=True),
        )
    except InvalidInput as error:
        errors = _errors(error, WEBHOOK_FIELDS, "name")
        return view.render(
            request, "settings/webhook_new.html", 422, form=form, errors=errors, event_types=EVENT_TYPES
        )
    return view.render(
        request,
        "settings/secret.html",
        201,
        heading="Your new webhook",
        label=f"Signing secret of “{created.endpoint.name}”",
        secret=created.secret,
        explain=(
            "Your receiver checks each delivery's signature with this secret. Copy it now: it is not "
            "shown again (rotate it to get a new one)."
        ),
        back=(f"{BASE}/webhooks/{created.endpoint.id}", "Go to the webhook"),
    )


def _endpoint_form(endpoint: Any) -> dict[str, Any]:
    return {
        "name": endpoint.name,
        "url": endpoint.url,
        "events": endpoint.events,
        "enabled": endpoint.enabled,
    }


async def _webhook_page(
    request: Request,
    session: SessionDep,
    login: Owner,
    endpoint_id: uuid.UUID,
    *,
    page: int = 1,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    endpoint = await webhooks.get_endpoint(session, login.principal, endpoint_id)
    log = await webhooks.list_attempts(session, login.principal, endpoint_id, page_request(page))
    return view.render(
        request,
        "settings/webhook.html",
        status,
        endpoint=endpoint,
        attempts=log.items,
        pages=pager(request, log),  # type: ignore[arg-type]
        form=form or _endpoint_form(endpoint),
        errors=errors or {},
        event_types=EVENT_TYPES,
        flash=_done(request),
    )


@router.get("/settings/webhooks/{endpoint_id}")
async def webhook_page(
    request: Request, endpoint_id: uuid.UUID, session: SessionDep, login: Owner, page: int = 1
) -> Response:
    return await _webhook_page(request, session, login, endpoint_id, page=max(1, page))


@router.post("/settings/webhooks/{endpoint_id}")
async def update_webhook(
    request: Request, endpoint_id: uuid.UUID, session: SessionDep, login: Owner
) -> Response:
    form = _webhook_form(await request.form())
    try:
        async with session.begin_nested():  # a refused form changes nothing
            await webhooks.update_endpoint(session, login.principal, endpoint_id, EndpointChanges(dict(form)))
    except InvalidInput as error:
        errors = _errors(error, WEBHOOK_FIELDS, "name")
        return await _webhook_page(request, session, login, endpoint_id, form=form, errors=errors, status=422)
    return RedirectResponse(f"{BASE}/webhooks/{endpoint_id}?done=saved", status_code=303)


@router.post("/settings/webhooks/{endpoint_id}/delete")
async def delete_webhook(endpoint_id: uuid.UUID, session: SessionDep, login: Owner) -> Response:
    await webhooks.delete_endpoint(session, login.principal, endpoint_id)
    return _back("/webhooks", "deleted")


@router.post("/settings/webhooks/{endpoint_id}/rotate")
async def rotate_webhook(
    request: Request, endpoint_id: uuid.UUID, session: SessionDep, login: Owner
) -> Response:
    """A new signing secret, on this answer only; the old one signs beside it for a while."""
    rotated = await webhooks.rotate_secret(session, login.principal, endpoint_id)
    expires = rotated.endpoint.previous_secret_expires_at
    overlap = (
        f" The old secret keeps signing beside it until {expires:%d %B %Y, %H:%M} UTC, so your receiver "
        "can switch without missing a delivery."
        if expires
        else ""
    )
    return view.render(
        request,
        "settings/secret.html",
        heading="A new signing secret",
        label=f"Signing secret of “{rotated.endpoint.name}”",
        secret=rotated.secret,
        explain="Copy it now: it is not shown again." + overlap,
        back=(f"{BASE}/webhooks/{endpoint_id}", "Back to the webhook"),
    )


@router.post("/settings/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, login: Owner
) -> Response:
    await webhooks.redeliver(session, login.principal, endpoint_id, delivery_id)
    return RedirectResponse(f"{BASE}/webhooks/{endpoint_id}?done=redelivered", status_code=303)


# --- staff -------------------------------------------------------------------------------------

STAFF_FIELDS = {"email": "email", "fullName": "full_name", "role": "role", "domainIds": "pages"}


def _role(value: str) -> Role:
    if value not in ROLE_LABELS:
        raise InvalidInput("Choose owner, manager or counter staff.", field="role")
    return Role(value)


def _page_numbers(form: Any) -> list[int]:
    numbers = [value for value in form.getlist("pages") if isinstance(value, str)]
    if not all(value.isdigit() and len(value) < 10 for value in numbers):
        raise InvalidInput("Choose sales pages from the list.", field="domainIds")
    return [int(value) for value in numbers]


async def _staff_page(
    request: Request,
    session: SessionDep,
    login: Owner,
    *,
    page: int = 1,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    found = await members.list_members(session, login.principal, page_request(page))
    all_pages = await sales_pages.pages_of(session, login.principal)
    return view.render(
        request,
        "settings/staff.html",
        status,
        members=found.items,
        pages=pager(request, found),  # type: ignore[arg-type]
        sales_pages=all_pages,
        roles=ROLES,
        role_labels=ROLE_LABELS,
        form=form or {"email": "", "full_name": "", "role": "staff", "pages": [login.sales_page_name]},
        errors=errors or {},
        flash=_done(request),
    )


@router.get("/settings/staff")
async def staff_page(request: Request, session: SessionDep, login: Owner, page: int = 1) -> Response:
    return await _staff_page(request, session, login, page=max(1, page))


@router.post("/settings/staff")
async def invite(request: Request, session: SessionDep, login: Owner) -> Response:
    """A new login with a generated first password, shown on this answer only."""
    form = await request.form()
    email, full_name = str(form.get("email") or "")[:320], str(form.get("full_name") or "")[:200]
    role = str(form.get("role") or "")
    given: dict[str, Any] = {
        "email": email,
        "full_name": full_name,
        "role": role,
        "pages": [v for v in form.getlist("pages") if isinstance(v, str)],
    }
    try:
        async with session.begin_nested():  # a refused login leaves nothing pending
            invited = await members.invite_member(
                session,
                login.principal,
                email=email,
                full_name=full_name,
                role=_role(role),
                page_numbers=_page_numbers(form),
            )
    except InvalidInput as error:
        errors = _errors(error, STAFF_FIELDS, "email")
        return await _staff_page(request, session, login, form=given, errors=errors, status=422)
    except Conflict as error:
        errors = {"email": error.message}
        return await _staff_page(request, session, login, form=given, errors=errors, status=409)
    member = invited.member.staff
    return view.render(
        request,
        "settings/secret.html",
        201,
        heading=f"{member.full_name} can log in",
        label=f"First password of {member.email}",
        secret=invited.password,
        explain=(
            "Give this password to them in person or by phone: it is shown only now. They log in with "
            "their email address and this password, then choose their own on the Password page."
        ),
        back=(f"{BASE}/staff", "Back to the staff"),
    )


async def _member_page(
    request: Request,
    session: SessionDep,
    login: Owner,
    number: int,
    *,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    found = await members.get_member(session, login.principal, number)
    return view.render(
        request,
        "settings/member.html",
        status,
        member=found,
        sales_pages=await sales_pages.pages_of(session, login.principal),
        roles=ROLES,
        role_labels=ROLE_LABELS,
        error=error,
        errors=errors or {},
        flash=_done(request),
    )


@router.get("/settings/staff/{number}")
async def member_page(request: Request, number: int, session: SessionDep, login: Owner) -> Response:
    return await _member_page(request, session, login, number)


@router.post("/settings/staff/{number}")
async def change_member(request: Request, number: int, session: SessionDep, login: Owner) -> Response:
    """A new role, name or sales pages (a role changed or a page taken away ends their sessions)."""
    form = await request.form()
    try:
        changes = members.MemberChanges(
            full_name=str(form.get("full_name") or "")[:200],
            role=_role(str(form.get("role") or "")),
            page_numbers=_page_numbers(form),
        )
        async with session.begin_nested():  # a refused form changes nothing
            await members.update_member(session, login.principal, number, changes)
    except LastOwner as error:
        return await _member_page(request, session, login, number, error=error.message, status=409)
    except InvalidInput as error:
        errors = _errors(error, STAFF_FIELDS, "full_name")
        return await _member_page(request, session, login, number, errors=errors, status=422)
    return RedirectResponse(f"{BASE}/staff/{number}?done=saved", status_code=303)


@router.post("/settings/staff/{number}/remove")
async def remove_member(request: Request, number: int, session: SessionDep, login: Owner) -> Response:
    try:
        async with session.begin_nested():
            await members.remove_member(session, login.principal, number)
    except LastOwner as error:
        return await _member_page(request, session, login, number, error=error.message, status=409)
    return _back("/staff", "removed")


# --- sales pages -------------------------------------------------------------------------------


async def _pages_page(
    request: Request,
    session: SessionDep,
    login: Owner,
    *,
    page: int = 1,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    found = await sales_pages.list_pages(session, login.principal, page_request(page))
    return view.render(
        request,
        "settings/pages.html",
        status,
        sales_pages=found.items,
        pages=pager(request, found),  # type: ignore[arg-type]
        form=form or {"name": ""},
        errors=errors or {},
        flash=_done(request),
    )


@router.get("/settings/pages")
async def pages_page(request: Request, session: SessionDep, login: Owner, page: int = 1) -> Response:
    return await _pages_page(request, session, login, page=max(1, page))


@router.post("/settings/pages")
async def add_page(
    request: Request, session: SessionDep, login: Owner, name: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    try:
        async with session.begin_nested():  # a refused page leaves nothing pending
            await sales_pages.add_page(session, login.principal, name=name)
    except (InvalidInput, Conflict) as error:
        status = 409 if isinstance(error, Conflict) else 422
        return await _pages_page(
            request, session, login, form={"name": name}, errors={"name": error.message}, status=status
        )
    return _back("/pages", "page_added")


@router.get("/settings/pages/{number}")
async def page_form(request: Request, number: int, session: SessionDep, login: Owner) -> Response:
    found = await sales_pages.get_page(session, login.principal, number)
    return view.render(request, "settings/page.html", page=found, form={"name": found.name}, errors={})


@router.post("/settings/pages/{number}")
async def rename_page(
    request: Request,
    number: int,
    session: SessionDep,
    login: Owner,
    name: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        async with session.begin_nested():
            await sales_pages.rename_page(session, login.principal, number, name=name)
    except (InvalidInput, Conflict) as error:
        found = await sales_pages.get_page(session, login.principal, number)
        status = 409 if isinstance(error, Conflict) else 422
        errors = {"name": error.message}
        form = {"name": name}
        return view.render(request, "settings/page.html", status, page=found, form=form, errors=errors)
    return _back("/pages", "saved")


# --- the business: name, timezone and currency -------------------------------------------------


@router.get("/settings/business")
async def business_page(request: Request, session: SessionDep, login: Owner) -> Response:
    client = await accounts.get_client(session, login.principal.client_id)
    form = {"name": client.name, "timezone": client.timezone, "currency": client.currency}
    return view.render(
        request, "settings/business.html", form=form, errors={}, timezones=timezones(), flash=_done(request)
    )


@router.post("/settings/business")
async def save_business(
    request: Request,
    session: SessionDep,
    login: Owner,
    name: Annotated[str, Form(max_length=1000)] = "",
    timezone: Annotated[str, Form(max_length=100)] = "",
    currency: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        async with session.begin_nested():
            await accounts.update_business(
                session, login.principal, name=name, timezone=timezone, currency=currency
            )
    except InvalidInput as error:
        errors = _errors(error, {"name": "name", "timezone": "timezone", "currency": "currency"}, "name")
        form = {"name": name, "timezone": timezone, "currency": currency}
        return view.render(
            request, "settings/business.html", 422, form=form, errors=errors, timezones=timezones()
        )
    return _back("/business", "saved")


# --- branding ----------------------------------------------------------------------------------


async def _branding_page(
    request: Request,
    session: SessionDep,
    login: Owner,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    brand = await branding.brand_of(session, login.principal.client_id)
    return view.render(
        request,
        "settings/branding.html",
        status,
        brand=brand,
        form=form or {"accent": brand.accent or ""},
        errors=errors or {},
        max_kb=branding.MAX_LOGO_BYTES // 1024,
        flash=_done(request),
    )


@router.get("/settings/branding")
async def branding_page(request: Request, session: SessionDep, login: Owner) -> Response:
    return await _branding_page(request, session, login)


@router.post("/settings/branding/accent")
async def save_accent(
    request: Request, session: SessionDep, login: Owner, accent: Annotated[str, Form(max_length=50)] = ""
) -> Response:
    try:
        async with session.begin_nested():
            await branding.set_accent(session, login.principal, accent)
    except InvalidInput as error:
        return await _branding_page(
            request, session, login, form={"accent": accent}, errors={"accent": error.message}, status=422
        )
    return _back("/branding", "saved")


@router.post("/settings/branding/logo")
@body_limit(branding.MAX_LOGO_BYTES + 64 * 1024)  # the image and the form around it
async def save_logo(request: Request, session: SessionDep, login: Owner) -> Response:
    form = await request.form()
    upload = form.get("logo")
    data = await upload.read(branding.MAX_LOGO_BYTES + 1) if isinstance(upload, UploadFile) else b""
    try:
        async with session.begin_nested():
            await branding.set_logo(session, login.principal, data)
    except InvalidInput as error:
        return await _branding_page(request, session, login, errors={"logo": error.message}, status=422)
    return _back("/branding", "saved")


@router.post("/settings/branding/logo/remove")
async def remove_logo(session: SessionDep, login: Owner) -> Response:
    await branding.remove_logo(session, login.principal)
    return _back("/branding", "logo_removed")


__all__ = ["PAGE_SIZE", "router"]
