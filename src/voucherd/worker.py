"""The background worker: every job kind's handler and the webhook loop, put together here so
that the job runner knows no domain and the domains' task modules know only the runner.

Importing this module registers the handlers (``vouchers.tasks``, ``recipients.tasks``, ``mail.tasks``)."""

from __future__ import annotations

import asyncio

import structlog

import voucherd.mail.tasks
import voucherd.recipients.tasks
import voucherd.vouchers.tasks  # noqa: F401 - registers the handlers
from voucherd.campaigns import figures
from voucherd.config import get_settings
from voucherd.db import Database
from voucherd.giftcards import lifecycle as giftcards
from voucherd.jobs.runner import run_jobs
from voucherd.webhooks import delivery

log = structlog.get_logger(__name__)


async def run_worker(database: Database, stop: asyncio.Event) -> None:
    """The worker loop: run jobs while there are any, poll when idle, stop when told."""
    poll = get_settings().worker_poll_seconds
    log.info("worker.started")
    # Webhooks have their own loop beside the jobs: a long bulk job never holds deliveries back.
    webhooks = asyncio.create_task(delivery.run(database, stop))
    # So does the gift card sweep (expired holds and cards give their amounts back, every 30 s).
    sweeps = asyncio.create_task(giftcards.run(database, stop))
    # And the fold of closed connections' figure rows (PostgreSQL), every 10 minutes.
    folds = asyncio.create_task(figures.run(database, stop))
    try:
        await run_jobs(database, stop, poll)
    finally:
        stop.set()
        await webhooks
        await sweeps
        await folds
    log.info("worker.stopped")
