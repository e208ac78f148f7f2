"""Every dashboard page: one router per area, each in its own module."""

from __future__ import annotations

from voucherd.web import login
from voucherd.web.dashboard import campaign_page, campaigns, coupons, gifts, home, pages, settings
from voucherd.web.dashboard.pages import area_router, view

router = area_router()
router.include_router(login.router(view))
router.include_router(pages.router)
router.include_router(home.router)
router.include_router(campaigns.router)  # before campaign_page's /campaigns/{id}: /campaigns/new is ours
router.include_router(campaign_page.router)
router.include_router(gifts.router)
router.include_router(coupons.router)
router.include_router(settings.router)
