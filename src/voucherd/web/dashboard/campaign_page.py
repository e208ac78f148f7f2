"""One campaign's page: its funnel and money (the kept figures), redemptions and revenue per day
(charts, with the same numbers in tables), who got which code, its codes; and its recipients: a
CSV upload checked in full before anything is saved, and the mail-merge export.

The upload has two steps. The first reads the file and shows every problem with its line; the
file then travels with the form, signed by the server (with the campaign and the login) and
compressed, so the confirming step imports exactly what was checked, on any server process, and
nothing is kept on the server in between. Only a file without any problem is imported, through
the API's upload service (:func:`voucherd.recipients.service.upload`)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData, UploadFile

from voucherd.accounts import tokens
from voucherd.campaigns.rules import campaign_state
from voucherd.campaigns.service import get_campaign
from voucherd.core import clock
from voucherd.core.errors import InvalidInput
from voucherd.core.money import display_price, to_decimal
from voucherd.core.pagination import PageRequest
from voucherd.db import get_database
from voucherd.http.session import SessionDep, writes
from voucherd.models import Campaign, Voucher
from voucherd.offers.rules import offer_of, voucher_state
from voucherd.publications import service as publications
from voucherd.recipients import export
from voucherd.recipients import service as recipients
from voucherd.recipients.csv_file import FIELDS, MAX_FILE_BYTES, CsvFile, check_file, guess_mapping, read_csv
from voucherd.recipients.schemas import UploadInput
from voucherd.stats import daily
from voucherd.stats.service import campaign_stats
from voucherd.vouchers import service as vouchers
from voucherd.web.dashboard.campaigns import STATES as CAMPAIGN_STATES
from voucherd.web.dashboard.pages import PAGE_SIZE, Manager, area_router, view

router = area_router()
_STAGED_SECONDS = 3600  # a checked file can be imported within the hour
_NOT_MAPPED = ""


# Plain words for the channels voucherd records by itself and for a code's state.
CHANNELS = {
    "API": "By the API",
    "recipient_upload": "Recipient upload",
    "export": "Mail-merge file",
    "landing_page": "Landing page",
    "referral": "Shared by a friend",
}
STATES = {
    "active": "Can be used",
    "redeemed": "Used up",
    "expired": "Expired",
    "not_yet_active": "Not started",
    "paused": "Paused",
}


@router.get("/campaigns/{campaign_id:uuid}")
async def campaign_page(
    request: Request, campaign_id: uuid.UUID, session: SessionDep, login: Manager
) -> Response:
    principal = login.principal
    query = request.query_params
    errors: dict[str, str] = {}
    first = _day(query.get("from"), "from", errors)
    last = _day(query.get("to"), "to", errors)
    try:
        series = await daily.daily_redemptions(session, principal, campaign_id, first=first, last=last)
    except InvalidInput as invalid:
        errors["from"] = invalid.message
        series = await daily.daily_redemptions(session, principal, campaign_id)
    campaign = await get_campaign(session, principal, campaign_id)
    stats = await campaign_stats(session, principal, campaign_id)
    history = await publications.history_for_campaign(
        session,
        principal,
        campaign_id,
        PageRequest(limit=PAGE_SIZE, after=query.get("history_after") or None),
        search=query.get("history_search"),
    )
    _, codes = await vouchers.list_vouchers(
        session,
        principal,
        campaign_id,
        redeemed=None,
        page=PageRequest(limit=PAGE_SIZE, after=query.get("codes_after") or None),
        code=query.get("code"),
    )
    now = clock.now()
    return view.render(
        request,
        "campaign/page.html",
        422 if errors else 200,
        campaign=campaign,
        stats=stats,
        series=series,
        chart_data=_chart_data(series),
        errors=errors,
        first=query.get("from") if errors.get("from") else series.first.isoformat(),
        last=query.get("to") if errors.get("to") else series.last.isoformat(),
        history=history,
        history_search=query.get("history_search", ""),
        history_next=_link(request, "history_after", history.next_cursor) if history.next_cursor else None,
        history_first=_link(request, "history_after", None) if query.get("history_after") else None,
        codes=[(voucher, _state(voucher, campaign, now)) for voucher in codes.items],
        codes_total=codes.total,
        code_search=query.get("code", ""),
        codes_next=_link(request, "codes_after", codes.next_cursor) if codes.next_cursor else None,
        codes_first=_link(request, "codes_after", None) if query.get("codes_after") else None,
        timezone=principal.timezone,
        money=display_price,
        decimal=lambda minor, currency: str(to_decimal(minor, currency)),
        channels=CHANNELS,
        states=STATES,
        campaign_state=campaign_state(campaign.status, campaign.valid_from, campaign.valid_until, now),
        campaign_states=CAMPAIGN_STATES,
        unlimited=vouchers.unlimited,
    )


def _state(voucher: Voucher, campaign: Campaign, now: datetime) -> str:
    return voucher_state(offer_of(voucher, campaign), voucher.redeemed_count, now).value


def _day(text: str | None, name: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = "Give a date as YYYY-MM-DD."
        return None


def _link(request: Request, name: str, cursor: str | None) -> str:
    """This page with another cursor for one of its lists (``None``: that list's first page),
    keeping the other lists' positions and searches."""
    values = {key: value for key, value in request.query_params.items() if key != name}
    if cursor is not None:
        values[name] = cursor
    return f"{request.url.path}?{urlencode(values)}" if values else request.url.path


def _chart_data(series: daily.DailySeries) -> str:
    """The series for the charts (``campaign.js`` reads it from a JSON block: no inline script)."""
    data = json.dumps(
        {
            "currency": series.currency,
            "days": [day.day.isoformat() for day in series.days],
            "online": [day.online for day in series.days],
            "in_store": [day.in_store for day in series.days],
            "revenue_online": [str(to_decimal(day.revenue_online, series.currency)) for day in series.days],
            "revenue_in_store": [
                str(to_decimal(day.revenue_in_store, series.currency)) for day in series.days
            ],
        }
    )
    return data.replace("<", "\\u003c")  # never a tag inside the <script> data block


# The recipients upload.


@dataclass(frozen=True)
class _Staged:
    name: str
    data: bytes


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(tokens.secret_key(), salt="voucherd-dashboard-recipients-file")


def _stage(login: Manager, campaign_id: uuid.UUID, staged: _Staged) -> str:
    payload = {
        "campaign": str(campaign_id),
        "login": str(login.token_id),
        "name": staged.name,
        "data": staged.data.decode("utf-8-sig"),
    }
    return str(_serializer().dumps(payload))


def _unstage(login: Manager, campaign_id: uuid.UUID, token: str) -> _Staged:
    try:
        payload = _serializer().loads(token, max_age=_STAGED_SECONDS)
    except BadSignature:
        payload = None
    if (
        not isinstance(payload, dict)
        or payload.get("campaign") != str(campaign_id)
        or payload.get("login") != str(login.token_id)
    ):
        raise InvalidInput("This file has expired: choose it again.", field="file")
    return _Staged(name=str(payload["name"]), data=str(payload["data"]).encode())


def _mapping(form: FormData, found: CsvFile) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for index in range(len(found.header)):
        target = form.get(f"column-{index}")
        if isinstance(target, str) and target != _NOT_MAPPED:
            mapping[index] = target
    return mapping


def _upload_page(request: Request, campaign: Campaign, status: int = 200, **context: Any) -> Response:
    return view.render(
        request,
        "campaign/upload.html",
        status,
        campaign=campaign,
        fields=FIELDS,
        field_options=list(FIELDS.items()),
        max_kb=MAX_FILE_BYTES // 1000,
        **{"errors": {}, "found": None, "problems": [], "mapping": {}, "staged": "", **context},
    )


@router.get("/campaigns/{campaign_id:uuid}/recipients/upload")
async def upload_form(
    request: Request, campaign_id: uuid.UUID, session: SessionDep, login: Manager
) -> Response:
    campaign = await get_campaign(session, login.principal, campaign_id)
    return _upload_page(request, campaign)


@router.post("/campaigns/{campaign_id:uuid}/recipients/upload")
async def upload(request: Request, campaign_id: uuid.UUID, session: SessionDep, login: Manager) -> Response:
    """``step=check`` (a new file, or the staged one with another mapping) shows the problems;
    ``step=import`` checks again and, only without any problem, imports."""
    campaign = await get_campaign(session, login.principal, campaign_id)
    form = await request.form()
    step = form.get("step")
    try:
        staged = await _staged_of(form, login, campaign_id)
        found = read_csv(staged.data)
    except InvalidInput as invalid:
        return _upload_page(request, campaign, 422, errors={invalid.field or "file": invalid.message})
    fresh = isinstance(form.get("file"), UploadFile) and not form.get("staged")
    mapping = guess_mapping(found.header) if fresh else _mapping(form, found)
    token = _stage(login, campaign_id, staged)
    context: dict[str, Any] = {"found": found, "mapping": mapping, "staged": token, "file_name": staged.name}
    try:
        checked = check_file(found, mapping, campaign.currency)
    except InvalidInput as invalid:
        return _upload_page(
            request, campaign, 422, errors={invalid.field or "mapping": invalid.message}, **context
        )
    if checked.problems or step != "import":
        return _upload_page(
            request,
            campaign,
            422 if checked.problems else 200,
            problems=checked.problems,
            count=len(found.rows),
            sample=found.rows[:5],
            **context,
        )
    result = await recipients.upload(
        session, login.principal, campaign_id, UploadInput(recipients=checked.recipients)
    )
    return view.render(
        request,
        "campaign/imported.html",
        campaign=campaign,
        created=result.total_created,
        known=len(result.recipients) - result.total_created,
        file_name=staged.name,
    )


async def _staged_of(form: FormData, login: Manager, campaign_id: uuid.UUID) -> _Staged:
    token = form.get("staged")
    if isinstance(token, str) and token:
        return _unstage(login, campaign_id, token)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput("Choose a CSV file.", field="file")
    data = await upload.read(MAX_FILE_BYTES + 1)
    read_csv(data)  # refuses what is no CSV text before it is signed
    return _Staged(name=upload.filename[:200], data=data)


@router.post("/campaigns/{campaign_id:uuid}/recipients/export")
@writes
async def export_recipients(campaign_id: uuid.UUID, session: SessionDep, login: Manager) -> Response:
    """The API's mail-merge export. A form, not a link: it publishes the codes (channel
    ``export``), so it carries the CSRF token as every write does."""
    principal = login.principal
    campaign = await get_campaign(session, principal, campaign_id)
    await export.record_export(session, principal.client_id, campaign.id)
    return StreamingResponse(
        export.stream_csv(get_database(), principal.client_id, campaign.id),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="recipients-{campaign.id}.csv"',
            "Cache-Control": "no-store, private",
        },
    )
