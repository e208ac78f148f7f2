"""Async actions (``AsyncActionsApi``): our background jobs, as Voucherify shows them."""

from __future__ import annotations

from fastapi import APIRouter, Request

from voucherd.api.voucherify import mappers
from voucherd.api.voucherify.auth import ApplicationRoute, PrincipalDep
from voucherd.api.voucherify.errors import InvalidQuery
from voucherd.api.voucherify.requests import segment
from voucherd.api.voucherify.times import parse
from voucherd.core.errors import NotFound
from voucherd.http.responses import JSON
from voucherd.http.session import SessionDep
from voucherd.jobs import service as jobs
from voucherd.jobs.errors import JobNotFound

router = APIRouter(prefix="/v1/async-actions", tags=["Async actions"], route_class=ApplicationRoute)


@router.get("", summary="List async actions")
async def list_async_actions(request: Request, session: SessionDep, principal: PrincipalDep) -> JSON:
    try:
        limit = int(request.query_params.get("limit", 10))
    except ValueError:
        raise InvalidQuery("limit must be a whole number between 1 and 100.") from None
    if not 1 <= limit <= 100:
        raise InvalidQuery("limit must be between 1 and 100.")
    end = request.query_params.get("end_date")
    before = parse(end, field="end_date") if end else None
    found, more = await jobs.list_jobs(session, principal, limit=limit, before=before)
    return JSON(
        {
            "object": "list",
            "data_ref": "async_actions",
            "async_actions": [mappers.async_action(job, with_result=False) for job in found],
            "has_more": more,
        }
    )


@router.get("/{action_id}", summary="Get an async action")
async def get_async_action(action_id: str, session: SessionDep, principal: PrincipalDep) -> JSON:
    action_id = segment(action_id)
    job_id = mappers.unprefixed(mappers.ASYNC_ACTION, action_id, "async_action")
    try:
        job = await jobs.get_job(session, principal, job_id)
    except JobNotFound:
        raise NotFound(
            f"Cannot find async_action with id {action_id}",
            resource_id=action_id,
            resource_type="async_action",
        ) from None
    return JSON(mappers.async_action(job, with_result=True))
