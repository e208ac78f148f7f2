"""The request's unit of work writes for every method but GET/HEAD/OPTIONS, and for GET routes
marked ``writes`` (an export that records itself, a tracking pixel)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request

from voucherd.http.session import is_write, writes


async def test_a_marked_get_route_writes_and_others_read() -> None:
    app = FastAPI()

    @app.get("/reads")
    async def reads(request: Request) -> bool:
        return is_write(request)

    @app.get("/writes")
    @writes
    async def records(request: Request) -> bool:
        return is_write(request)

    @app.post("/posts")
    async def posts(request: Request) -> bool:
        return is_write(request)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://voucherd.test") as client:
        answers = [(await client.get("/reads")).json(), (await client.get("/writes")).json()]
        answers.append((await client.post("/posts")).json())
    assert answers == [False, True, True]
