"""Every dashboard page: one router per area, each in its own module."""

from __future__ import annotations

from voucherd.web import login
from voucherd.web.dashboard import home, pages, settings
from voucherd.web.dashboard.pages import area_router, view

router = area_router()
router.include_router(login.router(view))
router.include_router(pages.router)
router.include_router(home.router)
router.include_router(settings.router)
