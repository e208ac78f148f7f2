"""What every dashboard page shares: its templates (``templates/``, over the shared layout), the
logins it admits (``Manager``: campaigns, codes, gift vouchers, figures; ``Owner``: settings), its
static files and the pager of its lists. Pages call the services the API calls; no rule lives
here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from voucherd.accounts.permissions import Permission
from voucherd.accounts.staff import WebSession
from voucherd.core.pagination import Page, PageRequest
from voucherd.web import session as pages
from voucherd.web.session import Pages

HERE = Path(__file__).parent
STATIC = HERE / "static"
view = Pages([HERE / "templates"], mount="/dashboard", home_label="Back to the dashboard")
# Each area's router (campaigns, gift vouchers, settings…) is made with ``area_router()``.
Manager = Annotated[WebSession, pages.require(Permission.MANAGE, "use the dashboard")]
Owner = Annotated[WebSession, pages.require(Permission.ADMINISTER, "change the business's settings")]
PAGE_SIZE = 25


def area_router() -> APIRouter:
    """A router whose every form POST is CSRF-checked (include it in :mod:`.routes`)."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(pages.check_csrf)])


router = area_router()


@router.get("/static/{name:path}")
async def static(name: str) -> Response:
    """The dashboard's own CSS and scripts, and vendored assets under ``static/vendor/``."""
    path = (STATIC / name).resolve()
    if STATIC not in path.parents or not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, headers={"Cache-Control": "max-age=3600"})


def page_request(page: int = 1) -> PageRequest:
    return PageRequest(page=page, limit=PAGE_SIZE)


def pager(request: Request, found: Page[object]) -> dict[str, str | int | None]:
    """Links to the previous and next page of a list, keeping the page's other query values."""
    query = {key: value for key, value in request.query_params.items() if key not in {"page", "after"}}

    def link(**values: str | int) -> str:
        return f"{request.url.path}?{urlencode({**query, **values})}"

    number = found.request.page
    last = max(1, -(-found.total // found.request.limit))
    return {
        "page": number,
        "pages": last,
        "total": found.total,
        "previous": link(page=number - 1) if number > 1 else None,
        "next": link(page=number + 1) if found.has_more else None,
    }
