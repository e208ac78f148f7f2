"""The staff screen (``/staff``): log in on a sales page, check a typed or scanned code, redeem
it (a discount with the transaction amount, or part of a gift card's balance), undo one's own
redemption within five minutes, see the counter's day; log out, change one's password. Every
write goes through the services the API uses (the checkout, its rollback)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, Response

from voucherd.accounts.permissions import Permission
from voucherd.accounts.staff import WebSession
from voucherd.core import clock
from voucherd.core.codes import normalize
from voucherd.core.errors import DomainError, InvalidInput
from voucherd.core.money import Amount, display_price
from voucherd.http import ratelimit
from voucherd.http.session import SessionDep
from voucherd.redemptions import counter
from voucherd.redemptions import service as redemptions
from voucherd.redemptions.repository import session_store
from voucherd.redemptions.schemas import Channel, RedeemInput, Validation
from voucherd.web import login
from voucherd.web import session as pages
from voucherd.web.formats import moment_text
from voucherd.web.session import Pages

HERE = Path(__file__).parent
STATIC = {"staff.css": HERE / "static" / "staff.css", "staff.js": HERE / "static" / "staff.js"}
VENDOR = HERE / "static" / "vendor"
view = Pages([HERE / "templates"], mount="/staff", home_label="Back to the counter")
router = APIRouter(include_in_schema=False, dependencies=[Depends(pages.check_csrf)])
router.include_router(login.router(view))
Redeemer = Annotated[WebSession, pages.require(Permission.REDEEM, "redeem codes")]
_ATTEMPT = re.compile(r"^counter-[0-9a-f]{32}$")
_MAX_CODE = 200


@router.get("/static/{name}")
async def static(name: str) -> Response:
    path = STATIC.get(name)
    if path is None:
        return Response(status_code=404)
    return FileResponse(path, headers={"Cache-Control": "max-age=3600"})


@router.get("/static/vendor/jsqr/jsQR.js")
async def jsqr() -> FileResponse:
    return FileResponse(
        VENDOR / "jsqr" / "jsQR.js",
        media_type="text/javascript",
        headers={"Cache-Control": "max-age=86400"},
    )


def code_of(scanned: str) -> str:
    """The code in what was typed or scanned: a code, or a voucher's redemption URL (its last
    path segment, as ``/redeem/{code}`` prints it)."""
    text = scanned.strip()
    if "://" in text:
        segments = [part for part in urlsplit(text).path.split("/") if part]
        text = unquote(segments[-1]) if segments else ""
    return normalize(text)


@dataclass(frozen=True)
class Line:
    """A line of the counter's day as shown."""

    item: counter.CounterRedemption
    when: str
    taken: str


def _clock(value: datetime, timezone: str) -> str:
    return f"{value.astimezone(ZoneInfo(timezone)):%H:%M}"


def _day(value: datetime | None, timezone: str) -> str | None:
    return moment_text(value, timezone) or None


async def _counter_page(
    request: Request, session: SessionDep, login: WebSession, status: int = 200, **context: object
) -> Response:
    principal = login.principal
    today = await counter.todays_redemptions(session, principal, sales_page_id=login.sales_page_id)
    lines = [
        Line(item, _clock(item.recorded_at, principal.timezone), display_price(item.taken, item.currency))
        for item in today
    ]
    return view.render(request, "counter.html", status, lines=lines, **context)


@router.get("/")
async def home(request: Request, session: SessionDep, login: Redeemer) -> Response:
    return await _counter_page(request, session, login)


def _check_context(result: Validation, login: WebSession) -> dict[str, object]:
    offer = result.offer
    timezone = login.principal.timezone
    # A gift card sold through an order (its code's shape), or a gift voucher of a campaign.
    gift_card = offer is not None and (result.gift is not None or redemptions.needs_session(offer.code))
    return {
        "result": result,
        "offer": offer,
        "gift_card": gift_card,
        "monetary": gift_card and offer is not None and offer.discount_type == "fixed",
        "balance": display_price(offer.discount_value, offer.currency) if gift_card and offer else None,
        "valid_from": _day(offer.valid_from, timezone)
        if offer and offer.valid_from and offer.valid_from > clock.now()
        else None,
        "valid_until": _day(offer.valid_until, timezone) if offer else None,
        "minimum_spend": display_price(offer.minimum_spend, offer.currency)
        if offer and offer.minimum_spend
        else None,
        "attempt": f"counter-{uuid.uuid4().hex}",
    }


@router.get("/check")
async def check(request: Request, session: SessionDep, login: Redeemer, code: str = "") -> Response:
    """Whether the code can be used now, and if not why; changes nothing."""
    wanted = code_of(code[:_MAX_CODE])
    if not wanted:
        return await _counter_page(request, session, login, 422, error="Type a code or scan its QR code.")
    await ratelimit.check(request, "validation_per_key", login.principal.rate_key)
    result = await redemptions.validate(await session_store(session), login.principal, wanted)
    return view.render(request, "check.html", 200, **_check_context(result, login))


@router.post("/redeem")
async def redeem(
    request: Request,
    session: SessionDep,
    login: Redeemer,
    code: Annotated[str, Form(max_length=_MAX_CODE)] = "",
    attempt: Annotated[str, Form(max_length=64)] = "",
    amount: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Redeem once per attempt: the attempt (made when the check page was shown) is the order
    reference, so a double tap or a resent form answers with the first redemption."""
    if not _ATTEMPT.match(attempt):
        raise InvalidInput("This form is out of date: check the code again.", field="attempt")
    store = await session_store(session)
    principal = login.principal
    try:
        result = await redemptions.redeem(
            store,
            principal,
            RedeemInput(
                code=code,
                amount=Amount.major(amount.strip().replace(",", ".") or "0"),
                order_reference=attempt,
                channel=Channel.IN_STORE,
                sales_page_id=login.sales_page_id,
            ),
        )
    except DomainError as error:
        checked = await redemptions.validate(store, principal, code)
        context = _check_context(checked, login)
        return view.render(request, "check.html", 409, refused=error.message, amount=amount, **context)
    after = await redemptions.validate(store, principal, result.code)
    context = _check_context(after, login)
    short = result.transaction_amount - result.discount_applied  # a gift card that held less
    return await _counter_page(
        request,
        session,
        login,
        done=result,
        done_gift_card=context["gift_card"],
        done_balance=context["balance"],
        transaction=display_price(result.transaction_amount, result.currency),
        taken=display_price(result.discount_applied, result.currency),
        # a gift card's "still to pay" only when it held less than was asked
        to_pay=display_price(short, result.currency) if short or not context["gift_card"] else None,
    )


@router.post("/undo")
async def undo(
    request: Request,
    session: SessionDep,
    login: Redeemer,
    redemption: Annotated[uuid.UUID, Form()],
) -> Response:
    """Undo one's own redemption of the last five minutes ("undone at counter")."""
    undone = await counter.undo(session, login.principal, redemption)
    return await _counter_page(request, session, login, undone=undone)
