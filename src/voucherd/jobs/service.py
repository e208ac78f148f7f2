"""Enqueuing and reading background jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voucherd.accounts.service import Principal
from voucherd.core import clock
from voucherd.core.pagination import Page, PageRequest
from voucherd.jobs.errors import JobNotFound
from voucherd.models import Job


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    client_id: uuid.UUID | None,
    payload: dict[str, Any],
    total: int = 0,
    run_after: datetime | None = None,
) -> Job:
    """A job that runs after this transaction commits (never before, never if it rolls back), and
    not before ``run_after`` when that is given."""
    now = clock.now()
    job = Job(
        kind=kind,
        client_id=client_id,
        payload=payload,
        total=total,
        status="queued",
        progress=0,
        attempts=0,
        run_after=now if run_after is None else clock.to_utc(run_after),
        created_at=now,
    )
    session.add(job)
    await session.flush()
    return job


async def get_job(session: AsyncSession, principal: Principal, job_id: uuid.UUID) -> Job:
    job = await session.get(Job, job_id)
    if job is None or job.client_id != principal.client_id:
        raise JobNotFound()
    return job


async def list_jobs(
    session: AsyncSession, principal: Principal, *, limit: int, before: datetime | None = None
) -> tuple[list[Job], bool]:
    """The client's jobs, newest first (made before ``before`` when given), and whether more follow."""
    query = select(Job).where(Job.client_id == principal.client_id)
    if before is not None:
        query = query.where(Job.created_at < before)
    rows = list(
        (await session.scalars(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1))).all()
    )
    return rows[:limit], len(rows) > limit


async def page_of_jobs(session: AsyncSession, principal: Principal, page: PageRequest) -> Page[Job]:
    """The client's jobs, newest first, one numbered page of them."""
    where = Job.client_id == principal.client_id
    total = await session.scalar(select(func.count()).select_from(Job).where(where))
    rows = await session.scalars(
        select(Job)
        .where(where)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    )
    return Page(items=list(rows.all()), total=total or 0, request=page)
