"""``/healthz``: the process answers. ``/readyz``: it can serve: the database answers and its
schema has every migration this code knows (a newer release's schema is fine: see
:func:`voucherd.db.migrate.behind`), and Redis answers when one is configured;
otherwise 503 with the reason, so that a balancer sends traffic elsewhere."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from voucherd.config import get_settings
from voucherd.db import get_database, unit_of_work
from voucherd.db.migrate import behind, head_revision

TIMEOUT_SECONDS = 2.0


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    problems = []
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            async with unit_of_work(get_database(), write=False) as session:
                current = await session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as error:
        problems.append(f"database unreachable: {type(error).__name__}: {error}".strip()[:300])
    else:
        if behind(current):
            problems.append(
                f"database schema is at {current}, this code needs {head_revision()}: run voucherd migrate"
            )
    redis_url = get_settings().redis_url
    if redis_url:
        problems += await _redis(redis_url)
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


async def _redis(url: str) -> list[str]:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
    try:
        await client.ping()
    except Exception as error:
        return [f"redis unreachable: {type(error).__name__}: {error}"[:300]]
    finally:
        await client.aclose()
    return []
