"""The job runner: claim, run, retry (the worker process around it is ``voucherd.worker``).

Claiming is one statement: ``UPDATE jobs ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED)``, so
several workers on PostgreSQL never take the same job; on SQLite the write lock (BEGIN IMMEDIATE)
makes the claim exclusive. A claim is a lease: a worker that dies stops renewing it, and after
``job_lease_seconds`` another worker takes the job over. ``attempts`` doubles as a fencing token:
progress and completion are written only ``WHERE attempts = <our claim>``, so a worker whose lease
was taken over can no longer write."""

from __future__ import annotations

import asyncio
import contextlib
import random
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import structlog
from sqlalchemy import Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.config import get_settings
from voucherd.core import clock
from voucherd.db import Database, unit_of_work
from voucherd.models import Job

log = structlog.get_logger(__name__)
_jobs = cast(Table, Job.__table__)

Handler = Callable[["JobContext"], Awaitable[None]]
_handlers: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        _handlers[kind] = function
        return function

    return register


class LeaseLost(Exception):
    """Another worker took the job over; this one must stop writing."""


class PermanentFailure(Exception):
    """The job cannot succeed however often it is tried (a mail server refusing the recipient for
    good): it fails at once, with this message, and is not retried."""


class Stopping(Exception):
    """The worker is shutting down: the job goes back to the queue between two chunks."""


@dataclass
class JobContext:
    database: Database
    job_id: uuid.UUID
    kind: str
    client_id: uuid.UUID | None
    payload: dict[str, Any]
    progress: int
    total: int
    attempt: int
    cursor: str | None = None  # where a job that walks rows in key order got to
    stop: asyncio.Event | None = None  # set when the worker shuts down

    async def advance(self, session: AsyncSession, by: int, *, cursor: str | None = None) -> None:
        """Record ``by`` more units done, in the caller's transaction, and renew the lease.
        Run it first in the transaction: on PostgreSQL it locks the job row, so two workers
        holding the same job (a lease outrun) cannot both commit a chunk. When the worker is
        shutting down it raises :class:`Stopping` instead, before the chunk does anything."""
        self.check_stop()
        result = await session.execute(
            update(_jobs)
            .where(
                _jobs.c.id == self.job_id,
                _jobs.c.attempts == self.attempt,
                _jobs.c.progress == self.progress,
            )
            .values(
                progress=_jobs.c.progress + by,
                lease_until=_lease_end(),
                **({"cursor": cursor} if cursor is not None else {}),
            )
            .returning(_jobs.c.progress)
        )
        if result.first() is None:
            raise LeaseLost(str(self.job_id))
        self.progress += by
        if cursor is not None:
            self.cursor = cursor

    def check_stop(self) -> None:
        """Raise :class:`Stopping` when the worker is shutting down."""
        if self.stop is not None and self.stop.is_set():
            raise Stopping(str(self.job_id))

    async def add_progress(self, session: AsyncSession, by: int) -> None:
        """Record ``by`` more units done by one of several transactions that write the job's
        chunks side by side, and renew the lease. Run it last in the transaction: it locks the job
        row until the commit, so the other transactions wait only for that commit, not for a
        whole chunk. ``attempts`` fences off a worker whose job was taken over, and the total caps
        the progress."""
        result = await session.execute(
            update(_jobs)
            .where(
                _jobs.c.id == self.job_id,
                _jobs.c.attempts == self.attempt,
                _jobs.c.progress + by <= _jobs.c.total,
            )
            .values(progress=_jobs.c.progress + by, lease_until=_lease_end())
            .returning(_jobs.c.progress)
        )
        if result.first() is None:
            raise LeaseLost(str(self.job_id))
        self.progress += by

    async def complete(self, session: AsyncSession, result: dict[str, Any] | None = None) -> None:
        """Mark the job done, in the caller's transaction (with its last effects)."""
        outcome = await session.execute(
            update(_jobs)
            .where(_jobs.c.id == self.job_id, _jobs.c.attempts == self.attempt)
            .values(status="succeeded", result=result, finished_at=clock.now(), lease_until=None)
            .returning(_jobs.c.id)
        )
        if outcome.first() is None:
            raise LeaseLost(str(self.job_id))


def _lease_end() -> Any:
    return clock.now() + timedelta(seconds=get_settings().job_lease_seconds)


def retry_delay(attempt: int) -> float:
    """Exponential backoff with full jitter: up to 2**attempt seconds, capped at an hour."""
    return random.uniform(0, min(3600.0, 2.0**attempt))


async def claim(database: Database, stop: asyncio.Event | None = None) -> JobContext | None:
    """Take the next due job (or one whose lease ran out), or ``None``."""
    now = clock.now()
    async with unit_of_work(database) as session:
        due = (
            select(_jobs.c.id)
            .where(
                or_(
                    (_jobs.c.status == "queued") & (_jobs.c.run_after <= now),
                    (_jobs.c.status == "running") & (_jobs.c.lease_until < now),
                )
            )
            .order_by(_jobs.c.run_after)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        row = (
            await session.execute(
                update(_jobs)
                .where(_jobs.c.id == due)
                .values(status="running", attempts=_jobs.c.attempts + 1, lease_until=_lease_end())
                .returning(
                    _jobs.c.id,
                    _jobs.c.kind,
                    _jobs.c.client_id,
                    _jobs.c.payload,
                    _jobs.c.progress,
                    _jobs.c.total,
                    _jobs.c.attempts,
                    _jobs.c.cursor,
                )
            )
        ).first()
    if row is None:
        return None
    return JobContext(
        database=database,
        job_id=row.id,
        kind=row.kind,
        client_id=row.client_id,
        payload=row.payload,
        progress=row.progress,
        total=row.total,
        attempt=row.attempts,
        cursor=row.cursor,
        stop=stop,
    )


async def run_claimed(context: JobContext) -> None:
    """Run a claimed job; a failure schedules a retry (or fails the job after max attempts)."""
    function = _handlers.get(context.kind)
    try:
        if function is None:
            raise LookupError(f"no handler for job kind {context.kind!r}")
        await function(context)
    except LeaseLost:
        log.warning("job.lease_lost", job_id=str(context.job_id))
    except Stopping:
        log.info("job.released", job_id=str(context.job_id), progress=context.progress)
        await _release(context)
    except PermanentFailure as error:
        log.error("job.failed", job_id=str(context.job_id), kind=context.kind, error=str(error), final=True)
        await _record_failure(context, str(error), final=True)
    except Exception as error:
        log.error("job.failed", job_id=str(context.job_id), kind=context.kind, error=repr(error))
        await _record_failure(context, "".join(traceback.format_exception_only(error)).strip())


async def _record_failure(context: JobContext, message: str, *, final: bool = False) -> None:
    async with unit_of_work(context.database) as session:
        job = await session.get(Job, context.job_id)
        if job is None or job.attempts != context.attempt:
            return
        final = final or job.attempts >= job.max_attempts
        job.status = "failed" if final else "queued"
        job.last_error = message[:2000]
        job.lease_until = None
        job.run_after = clock.now() + timedelta(seconds=retry_delay(job.attempts))
        if final:
            job.finished_at = clock.now()


async def _release(context: JobContext) -> None:
    """Back to the queue, due now, so that another worker resumes it without waiting for the lease
    (``attempts``, the fencing token, keeps its value: it only ever grows)."""
    async with unit_of_work(context.database) as session:
        await session.execute(
            update(_jobs)
            .where(_jobs.c.id == context.job_id, _jobs.c.attempts == context.attempt)
            .values(status="queued", lease_until=None, run_after=clock.now())
        )


async def run_once(database: Database, stop: asyncio.Event | None = None) -> bool:
    """Claim and run one job; ``False`` when none was due."""
    context = await claim(database, stop)
    if context is None:
        return False
    await run_claimed(context)
    return True


async def run_until_idle(database: Database, *, max_jobs: int = 10_000) -> int:
    """Run due jobs until none is left (tests, CLI)."""
    done = 0
    while done < max_jobs and await run_once(database):
        done += 1
    return done


async def run_jobs(database: Database, stop: asyncio.Event, poll: float) -> None:
    while not stop.is_set():
        try:
            ran = await run_once(database, stop)
        except Exception as error:
            log.error("worker.error", error=repr(error))
            ran = False
        if not ran:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll)
