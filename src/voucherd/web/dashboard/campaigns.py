"""The dashboard's campaigns: the list (with a search by name and a look-up by code), the form
that creates a campaign and the one that edits it, pausing and resuming, generating codes as a
background job, and the background tasks with their progress.

Every write goes through the service the API calls (:mod:`voucherd.campaigns.service`,
:func:`voucherd.vouchers.service.enqueue_codes`); this module only reads the forms, turns the
times typed in the client's timezone into instants, and renders. A campaign's own page
(``/dashboard/campaigns/{id}``) is :mod:`.campaign_page`'s."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.campaigns import service as campaigns
from voucherd.campaigns.figures import figures_of_campaigns
from voucherd.campaigns.rules import CampaignStatus, CodeRoom, DiscountType, campaign_state
from voucherd.campaigns.schemas import CampaignChanges, CampaignInput, CodeSettings
from voucherd.core import clock
from voucherd.core.codes import DEFAULT_CHARSET, DEFAULT_LENGTH
from voucherd.core.errors import Conflict, DomainError, InvalidInput, NotFound
from voucherd.core.money import Amount, basis_points_to_percent, describe_amount, to_decimal
from voucherd.http.session import SessionDep
from voucherd.jobs import service as jobs
from voucherd.models import Campaign, Job
from voucherd.vouchers import service as vouchers
from voucherd.web.dashboard.pages import Manager, area_router, page_request, pager, view
from voucherd.web.formats import moment_text
from voucherd.web.session import HEADERS

router = area_router()

# The offers a campaign of codes makes (gift vouchers have their own area, /dashboard/gifts).
DISCOUNT_TYPES = [
    (DiscountType.PERCENTAGE.value, "A percentage off the order"),
    (DiscountType.FIXED.value, "An amount off the order"),
    (DiscountType.FREE_ITEM.value, "A free item"),
]
STATES = {"active": "Active", "paused": "Paused", "ended": "Ended", "scheduled": "Not started"}
TASK_KINDS = {
    vouchers.GENERATE_CODES: "Making codes",
    vouchers.DELETE_CAMPAIGN: "Deleting a campaign and its codes",
    "mail.voucher": "Sending a voucher by mail",
    "record_export_publications": "Recording an export",
}
TASK_STATES = {"queued": "Waiting", "running": "Running", "succeeded": "Done", "failed": "Failed"}
# The form's names for the service's fields (its messages name the API's fields).
FIELD_OF = {"code_length": "code_pattern", "vouchers_count": "count", "campaign": "name"}
WORDS = {
    "discount_value": "The discount",
    "discount_description": "The description",
    "minimum_spend": "The minimum spend",
    "valid_until": "'Valid until'",
    "valid_from": "'Valid from'",
    "uses_per_voucher": "Uses per code",
    "uses_per_customer": "Uses per customer",
    "require_customer": "'Only for named customers'",
    "landing_slug": "The landing page address",
    "code_pattern": "The code pattern",
    "code_charset": "The characters",
    "vouchers_count": "The number of codes",
}


def _words(message: str) -> str:
    """A service message in the form's words ("discount_value must be..." -> "The discount...")."""
    for name, words in WORDS.items():
        if message.startswith(name):
            return words + message[len(name) :]
    return message


# ---- reading the forms ------------------------------------------------------------------------


@dataclass
class Form:
    """A form's submitted values as typed, and the message beside each field that is wrong."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        value = self.values.get(name, "").strip()
        return value or None

    def checked(self, name: str) -> bool:
        return name in self.values

    def amount(self, name: str, label: str) -> Amount | None:
        text = self.text(name)
        if text is None:
            return None
        try:
            number = Decimal(text.replace(" ", ""))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.errors[name] = f"{label} must be a number, for example 10 or 12.50."
            return None
        return Amount.major(number)

    def whole(self, name: str, label: str, default: int | None = None) -> int | None:
        text = self.text(name)
        if text is None:
            return default
        if not text.isdigit() or len(text) > 9:
            self.errors[name] = f"{label} must be a whole number, for example 1 or 500."
            return default
        return int(text)

    def moment(self, name: str, timezone: str) -> datetime | date | None:
        """A date and time typed in the client's timezone (``2026-03-01T09:00``, a
        ``datetime-local`` field), as that instant; a date alone is left to the service (the
        start or end of that day there)."""
        text = self.text(name)
        if text is None:
            return None
        try:
            if "T" not in text and " " not in text:
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.errors[name] = "Give a date and time, for example 2026-03-01 09:00."
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))

    def refuse(self, error: DomainError) -> None:
        """Put a service's refusal beside its field (or above the form when it names none)."""
        name = getattr(error, "field", None) or ""
        if isinstance(error, Conflict) and error.code == "landing_slug_taken":
            name = "landing_slug"
        name = FIELD_OF.get(name, name)
        message = _words(error.message)
        if error.code == "code_space_too_small":
            name = "code_pattern" if name == "planned_codes" else name
            capacity, wanted = error.details.get("capacity", 0), error.details.get("wanted", 0)
            message = (
                f"The pattern allows up to {capacity:,} codes; {wanted:,} do not fit. "
                "Make the pattern longer (more #) or allow more characters."
            )
        self.errors[name if name in FORM_FIELDS else "form"] = message


FORM_FIELDS = frozenset(
    {
        "name",
        "discount_type",
        "discount_value",
        "discount_description",
        "minimum_spend",
        "currency",
        "valid_from",
        "valid_until",
        "uses_per_voucher",
        "uses_per_customer",
        "require_customer",
        "code_pattern",
        "code_charset",
        "planned_codes",
        "status",
        "auto_update",
        "landing_slug",
        "terms",
        "count",
    }
)


async def _form(request: Request) -> Form:
    submitted = await request.form()
    return Form({key: value for key, value in submitted.items() if isinstance(value, str)})


def _code_settings(form: Form) -> CodeSettings:
    return CodeSettings(pattern=form.text("code_pattern"), charset=form.text("code_charset"))


def _discount_value(form: Form) -> Amount | None:
    if form.values.get("discount_type") == DiscountType.FREE_ITEM.value:
        return None
    return form.amount("discount_value", "The discount")


def _discount_type(form: Form) -> DiscountType:
    try:
        return DiscountType(form.values.get("discount_type", ""))
    except ValueError:
        form.errors["discount_type"] = "Choose what the campaign offers."
        return DiscountType.PERCENTAGE


def _status(form: Form) -> CampaignStatus:
    return CampaignStatus.PAUSED if form.values.get("status") == "paused" else CampaignStatus.ACTIVE


# ---- showing campaigns ------------------------------------------------------------------------


def _field_time(value: datetime | None, timezone: str) -> str:
    """An instant as a ``datetime-local`` field's value in the client's timezone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def offer_words(campaign: Campaign) -> str:
    """What a code gives, as a person says it: "20% off your order, on orders of £50 or more"."""
    words = campaign.discount_description
    if campaign.minimum_spend:
        words += f", on orders of {describe_amount(campaign.minimum_spend, campaign.currency)} or more"
    return words


def _validity(campaign: Campaign, timezone: str) -> str:
    start, end = moment_text(campaign.valid_from, timezone), moment_text(campaign.valid_until, timezone)
    if start and end:
        return f"{start} to {end}"
    if start:
        return f"From {start}"
    if end:
        return f"Until {end}"
    return "Always"


def _discount_field(campaign: Campaign) -> str:
    if campaign.discount_type == DiscountType.PERCENTAGE:
        return str(basis_points_to_percent(campaign.discount_value))
    if campaign.discount_type == DiscountType.FREE_ITEM:
        return ""
    return str(to_decimal(campaign.discount_value, campaign.currency))


def _values_of(campaign: Campaign, timezone: str) -> dict[str, str]:
    """A campaign as its edit form's values."""
    return {
        "name": campaign.name,
        "discount_type": campaign.discount_type,
        "discount_value": _discount_field(campaign),
        "discount_description": "" if campaign.description_is_generated else campaign.discount_description,
        "minimum_spend": ""
        if campaign.minimum_spend is None
        else str(to_decimal(campaign.minimum_spend, campaign.currency)),
        "valid_from": _field_time(campaign.valid_from, timezone),
        "valid_until": _field_time(campaign.valid_until, timezone),
        "uses_per_voucher": str(campaign.uses_per_voucher),
        "uses_per_customer": "" if campaign.uses_per_customer is None else str(campaign.uses_per_customer),
        "status": campaign.status,
        "landing_slug": campaign.landing_slug or "",
        "terms": campaign.terms or "",
        **({"require_customer": "on"} if campaign.require_customer else {}),
        **({"auto_update": "on"} if campaign.auto_update else {}),
    }


def _room_words(room: CodeRoom) -> str:
    allows = f"The pattern {room.pattern} allows up to {room.capacity:,} codes."
    if room.wanted is None:
        return allows
    if room.fits:
        return f"{allows} {room.wanted:,} fit."
    return f"{allows} {room.wanted:,} do not fit: make the pattern longer (more #) or allow more characters."


# ---- the list ---------------------------------------------------------------------------------


@router.get("/campaigns")
async def campaign_list(
    request: Request,
    session: SessionDep,
    login: Manager,
    q: str = "",
    code: str = "",
    page: int = 1,
) -> Response:
    """The campaigns, newest first, searchable by name; ``code`` finds the campaign of a code."""
    principal = login.principal
    found = await campaigns.list_campaigns(
        session, principal, page_request(page), with_standalone=False, gift=False, name_contains=q
    )
    figures = await figures_of_campaigns(session, [c.id for c in found.items])
    now = clock.now()
    rows = [
        {
            "campaign": campaign,
            "offer": offer_words(campaign),
            "validity": _validity(campaign, principal.timezone),
            "issued": figures[campaign.id]["issued"],
            "redeemed": figures[campaign.id]["redeemed_codes"],
            "state": campaign_state(campaign.status, campaign.valid_from, campaign.valid_until, now),
        }
        for campaign in found.items
    ]
    code_match: dict[str, Any] | None = None
    if code.strip():
        try:
            details = await vouchers.get_voucher(session, principal, code)
        except NotFound:
            code_match = {"code": code.strip(), "campaign": None}
        else:
            code_match = {"code": details.voucher.code, "campaign": details.campaign}
    return view.render(
        request,
        "campaigns/list.html",
        rows=rows,
        pages=pager(request, found),  # type: ignore[arg-type]
        q=q,
        code=code,
        code_match=code_match,
        states=STATES,
        timezone=principal.timezone,
    )


# ---- creating ---------------------------------------------------------------------------------


def _new_form_page(request: Request, form: Form, login: Manager, *, room: CodeRoom | None = None) -> Response:
    return view.render(
        request,
        "campaigns/new.html",
        422 if form.errors else 200,
        form=form.values,
        errors=form.errors,
        room=_room_words(room) if room else None,
        room_fits=room.fits if room else None,
        discount_types=DISCOUNT_TYPES,
        timezone=login.principal.timezone,
        currency=login.principal.currency,
        default_length=DEFAULT_LENGTH,
        default_charset=DEFAULT_CHARSET,
    )


@router.get("/campaigns/new")
async def new_campaign(request: Request, login: Manager) -> Response:
    form = Form({"discount_type": DiscountType.PERCENTAGE.value, "uses_per_voucher": "1", "status": "active"})
    return _new_form_page(request, form, login)


def _check_room(form: Form) -> CodeRoom | None:
    """The pattern's room for the planned codes (the service's rule), or ``None`` with the
    message beside the field when the pattern itself is wrong."""
    wanted = form.whole("planned_codes", "The number of codes")
    if "planned_codes" in form.errors:
        return None
    try:
        return campaigns.code_room_of(_code_settings(form), wanted=wanted)
    except InvalidInput as error:
        form.refuse(error)
        return None


@router.post("/campaigns/new")
async def create_campaign(request: Request, session: SessionDep, login: Manager) -> Response:
    """Create the campaign (or, with the "Check pattern" button, only say how many codes its
    pattern allows): a wrong field shows its message and nothing is saved."""
    form = await _form(request)
    principal = login.principal
    if form.values.get("check"):
        room = _check_room(form)
        return _new_form_page(request, form, login, room=room)
    data = CampaignInput(
        name=form.values.get("name", ""),
        discount_type=_discount_type(form),
        discount_value=_discount_value(form),
        discount_description=form.text("discount_description"),
        minimum_spend=form.amount("minimum_spend", "The minimum spend"),
        currency=form.text("currency"),
        valid_from=form.moment("valid_from", principal.timezone),
        valid_until=form.moment("valid_until", principal.timezone),
        uses_per_voucher=form.whole("uses_per_voucher", "Uses per code", 1) or 0,
        uses_per_customer=form.whole("uses_per_customer", "Uses per customer"),
        require_customer=form.checked("require_customer"),
        codes=_code_settings(form),
        status=_status(form),
        auto_update=form.checked("auto_update"),
        landing_slug=form.text("landing_slug"),
        terms=form.text("terms"),
        planned_codes=form.whole("planned_codes", "The number of codes"),
    )
    if form.errors:
        return _new_form_page(request, form, login)
    try:
        async with session.begin_nested():  # a refusal leaves nothing behind
            campaign = await campaigns.create_campaign(session, principal, data)
    except (InvalidInput, Conflict) as error:
        form.refuse(error)
        return _new_form_page(request, form, login)
    return RedirectResponse(f"/dashboard/campaigns/{campaign.id}", status_code=303, headers=HEADERS)


@router.get("/campaigns/new/pattern")
async def check_pattern(
    login: Manager, code_pattern: str = "", code_charset: str = "", planned_codes: str = ""
) -> Response:
    """The "Check pattern" answer as JSON, for the form's live check."""
    form = Form({"code_pattern": code_pattern, "code_charset": code_charset, "planned_codes": planned_codes})
    room = _check_room(form)
    if room is None:
        message = next(iter(form.errors.values()))
        return JSONResponse({"ok": False, "message": message}, headers=HEADERS)
    return JSONResponse(
        {"ok": room.fits, "capacity": room.capacity, "wanted": room.wanted, "message": _room_words(room)},
        headers=HEADERS,
    )


# ---- editing, pausing -------------------------------------------------------------------------


def _edit_page(request: Request, campaign_id: uuid.UUID, name: str, form: Form, login: Manager) -> Response:
    return view.render(
        request,
        "campaigns/edit.html",
        422 if form.errors else 200,
        campaign_id=campaign_id,
        campaign_name=name,
        form=form.values,
        errors=form.errors,
        discount_types=DISCOUNT_TYPES,
        timezone=login.principal.timezone,
        currency=login.principal.currency,
    )


@router.get("/campaigns/{campaign_id}/edit")
async def edit_campaign(
    request: Request, campaign_id: uuid.UUID, session: SessionDep, login: Manager
) -> Response:
    campaign = await campaigns.get_campaign(session, login.principal, campaign_id)
    form = Form(_values_of(campaign, login.principal.timezone))
    return _edit_page(request, campaign.id, campaign.name, form, login)


def _changes(form: Form, campaign: Campaign, timezone: str) -> dict[str, Any]:
    """What the edit form changes: every field it shows, the validity only when it was changed
    (a minute-rounded field must not move an end of day to 23:59:00)."""
    changes: dict[str, Any] = {
        "name": form.values.get("name", ""),
        "discount_type": _discount_type(form),
        "discount_description": form.text("discount_description"),
        "minimum_spend": form.amount("minimum_spend", "The minimum spend"),
        "uses_per_voucher": form.whole("uses_per_voucher", "Uses per code", 1),
        "uses_per_customer": form.whole("uses_per_customer", "Uses per customer"),
        "require_customer": form.checked("require_customer"),
        "status": _status(form),
        "auto_update": form.checked("auto_update"),
        "landing_slug": form.text("landing_slug"),
        "terms": form.text("terms"),
    }
    value = _discount_value(form)
    if changes["discount_type"] is DiscountType.FREE_ITEM:
        changes["discount_value"] = Amount.minor(0)
    elif value is not None:
        changes["discount_value"] = value
    for name in ("valid_from", "valid_until"):
        if form.values.get(name, "").strip() != _field_time(getattr(campaign, name), timezone):
            changes[name] = form.moment(name, timezone)
    return changes


@router.post("/campaigns/{campaign_id}/edit")
async def save_campaign(
    request: Request, campaign_id: uuid.UUID, session: SessionDep, login: Manager
) -> Response:
    form = await _form(request)
    principal = login.principal
    campaign = await campaigns.get_campaign(session, principal, campaign_id)
    name = campaign.name
    changes = _changes(form, campaign, principal.timezone)
    if form.errors:
        return _edit_page(request, campaign_id, name, form, login)
    try:
        async with session.begin_nested():  # a refusal leaves the campaign as it was
            await campaigns.update_campaign(session, principal, campaign_id, CampaignChanges(changes))
    except (InvalidInput, Conflict) as error:
        form.refuse(error)
        return _edit_page(request, campaign_id, name, form, login)
    return RedirectResponse(f"/dashboard/campaigns/{campaign_id}", status_code=303, headers=HEADERS)


async def _set_status(
    session: AsyncSession, login: Manager, campaign_id: uuid.UUID, status: CampaignStatus
) -> Response:
    await campaigns.update_campaign(
        session, login.principal, campaign_id, CampaignChanges({"status": status.value})
    )
    return RedirectResponse(f"/dashboard/campaigns/{campaign_id}", status_code=303, headers=HEADERS)


@router.post("/campaigns/{campaign_id}/pause")
async def pause_campaign(campaign_id: uuid.UUID, session: SessionDep, login: Manager) -> Response:
    """Its codes stop validating until it is resumed (the API's ``status: paused``)."""
    return await _set_status(session, login, campaign_id, CampaignStatus.PAUSED)


@router.post("/campaigns/{campaign_id}/resume")
async def resume_campaign(campaign_id: uuid.UUID, session: SessionDep, login: Manager) -> Response:
    return await _set_status(session, login, campaign_id, CampaignStatus.ACTIVE)


# ---- generating codes, background tasks -------------------------------------------------------


def _generate_page(request: Request, campaign: Campaign, issued: int, form: Form, login: Manager) -> Response:
    room = campaigns.code_room_of(CodeSettings(pattern=campaign.code_pattern, charset=campaign.code_charset))
    return view.render(
        request,
        "campaigns/generate.html",
        422 if form.errors else 200,
        campaign=campaign,
        issued=issued,
        capacity=room.capacity,
        form=form.values,
        errors=form.errors,
    )


@router.get("/campaigns/{campaign_id}/generate")
async def generate_form(
    request: Request, campaign_id: uuid.UUID, session: SessionDep, login: Manager
) -> Response:
    campaign = await campaigns.get_campaign(session, login.principal, campaign_id)
    issued = (await figures_of_campaigns(session, [campaign.id]))[campaign.id]["issued"]
    return _generate_page(request, campaign, issued, Form({"count": "100"}), login)


@router.post("/campaigns/{campaign_id}/generate")
async def generate_codes(
    request: Request, campaign_id: uuid.UUID, session: SessionDep, login: Manager
) -> Response:
    """``count`` new codes made by the API's bulk generation job; its progress page follows."""
    form = await _form(request)
    campaign = await campaigns.get_campaign(session, login.principal, campaign_id)
    count = form.whole("count", "The number of codes")
    if count is None and not form.errors:
        form.errors["count"] = "Say how many codes to make."
    if not form.errors:
        try:
            async with session.begin_nested():
                job = await vouchers.enqueue_codes(session, login.principal, campaign, count=count or 0)
        except InvalidInput as error:
            form.refuse(error)
        else:
            return RedirectResponse(f"/dashboard/tasks/{job.id}", status_code=303, headers=HEADERS)
    issued = (await figures_of_campaigns(session, [campaign.id]))[campaign.id]["issued"]
    return _generate_page(request, campaign, issued, form, login)


def task_view(job: Job, timezone: str, names: Mapping[str, str]) -> dict[str, Any]:
    """What the task pages say of a job: what it does, its state and progress in words."""
    done = job.status in {"succeeded", "failed"}
    campaign_id = job.payload.get("campaign_id") if isinstance(job.payload, dict) else None
    what = TASK_KINDS.get(job.kind, job.kind.replace("_", " ").replace(".", " ").capitalize())
    if job.kind == vouchers.GENERATE_CODES:
        what = f"Making {job.total:,} codes"
    percent = 100 if job.status == "succeeded" else (job.progress * 100 // job.total if job.total else 0)
    if job.status == "succeeded":
        created = (job.result or {}).get("created")
        message = f"Done: {created:,} codes made." if isinstance(created, int) else "Done."
    elif job.status == "failed":
        message = f"Failed after {job.attempts} attempts: {job.last_error or 'no reason given'}"
    elif job.status == "running":
        message = f"{job.progress:,} of {job.total:,} done ({percent}%)." if job.total else "Running."
    else:
        message = "Waiting to start." if not job.attempts else f"Waiting to try again ({job.last_error})."
    return {
        "id": str(job.id),
        "what": what,
        "status": job.status,
        "state": TASK_STATES.get(job.status, job.status),
        "done": done,
        "progress": job.total if job.status == "succeeded" else job.progress,
        "total": job.total,
        "percent": percent,
        "message": message,
        "campaign_id": campaign_id,
        "campaign_name": names.get(campaign_id or ""),
        "created": moment_text(job.created_at, timezone),
        "finished": moment_text(job.finished_at, timezone),
    }


async def _campaign_names(session: AsyncSession, login: Manager, found: list[Job]) -> dict[str, str]:
    names: dict[str, str] = {}
    for job in found:
        campaign_id = job.payload.get("campaign_id") if isinstance(job.payload, dict) else None
        if not isinstance(campaign_id, str) or campaign_id in names:
            continue
        try:
            names[campaign_id] = (
                await campaigns.get_campaign(session, login.principal, uuid.UUID(campaign_id))
            ).name
        except (NotFound, ValueError):
            continue
    return names


@router.get("/tasks")
async def task_list(request: Request, session: SessionDep, login: Manager, page: int = 1) -> Response:
    """The background tasks (code generation, mails, exports), newest first."""
    found = await jobs.page_of_jobs(session, login.principal, page_request(page))
    names = await _campaign_names(session, login, list(found.items))
    tasks = [task_view(job, login.principal.timezone, names) for job in found.items]
    return view.render(request, "campaigns/tasks.html", tasks=tasks, pages=pager(request, found))  # type: ignore[arg-type]


@router.get("/tasks/{job_id}.json")
async def task_progress(job_id: uuid.UUID, session: SessionDep, login: Manager) -> Response:
    """A task's progress for the progress page's live bar."""
    job = await jobs.get_job(session, login.principal, job_id)
    task = task_view(job, login.principal.timezone, {})
    keys = ("id", "status", "state", "done", "progress", "total", "percent", "message")
    return JSONResponse({key: task[key] for key in keys}, headers=HEADERS)


@router.get("/tasks/{job_id}")
async def task_page(request: Request, job_id: uuid.UUID, session: SessionDep, login: Manager) -> Response:
    job = await jobs.get_job(session, login.principal, job_id)
    names = await _campaign_names(session, login, [job])
    return view.render(request, "campaigns/task.html", task=task_view(job, login.principal.timezone, names))
