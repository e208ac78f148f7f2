"""The dashboard's first page: the business's figures at a glance and where to go next."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from voucherd.campaigns import service as campaigns
from voucherd.core.pagination import PageRequest
from voucherd.http.session import SessionDep
from voucherd.web.dashboard.pages import Manager, area_router, view

router = area_router()


@router.get("/")
async def home(request: Request, session: SessionDep, login: Manager) -> Response:
    recent = await campaigns.list_campaigns(
        session, login.principal, PageRequest(limit=5), with_standalone=False
    )
    return view.render(request, "home.html", recent=recent.items, campaigns=recent.total)
