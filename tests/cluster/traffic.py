"""The mixed traffic of the scale-out test, from a process of its own (a shop's checkout):
``python -m tests.cluster.traffic PLAN_FILE RESULT_FILE``. Everything goes through the balancer.

The plan (JSON) names the balancer's URL, the API keys and the codes of each phase:

1. ``race``: each single-use code redeemed by ``racers`` concurrent requests (C1 across servers);
2. ``limited``: a key with a small limit on webhook management, asked ``limited_requests`` times;
3. ``upload``: one recipients upload;
4. ``stream``: every code validated, then redeemed with its own order reference, ``concurrency``
   at a time. After ``kill_after`` acknowledged redemptions it prints ``kill`` on stdout and
   carries on; the test kills a server and answers on stdin, and the traffic goes on until every
   code was tried;
5. ``retry``: each stream redemption that got no answer from voucherd (a 5xx, a dropped
   connection) is sent again, unchanged, until it gets one, as a checkout retries.

The result (JSON) lists every answer with the server that gave it (HAProxy's ``X-Server``)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx

RETRIES = 50


async def redeem(client: httpx.AsyncClient, key: str, code: str, reference: str) -> dict[str, Any]:
    body = {"code": code, "transaction_amount": 45.99, "order_reference": reference}
    try:
        response = await client.post("/api/webhook/redemption", json=body, headers={"X-API-Key": key})
    except httpx.TransportError as error:
        return {"code": code, "reference": reference, "status": 0, "error": repr(error)}
    return {
        "code": code,
        "reference": reference,
        "status": response.status_code,
        "server": response.headers.get("x-server"),
    }


async def race(client: httpx.AsyncClient, plan: dict[str, Any]) -> list[dict[str, Any]]:
    calls = [
        redeem(client, plan["key"], code, f"race-{code}-{n}")
        for code in plan["race_codes"]
        for n in range(plan["racers"])
    ]
    return list(await asyncio.gather(*calls))


async def limited(client: httpx.AsyncClient, plan: dict[str, Any]) -> list[dict[str, Any]]:
    answers = []
    for _ in range(plan["limited_requests"]):
        response = await client.get("/api/integrations/webhooks", headers={"X-API-Key": plan["limited_key"]})
        answers.append({"status": response.status_code, "server": response.headers.get("x-server")})
    return answers


async def upload(client: httpx.AsyncClient, plan: dict[str, Any]) -> dict[str, Any]:
    recipients = [
        {"email": f"guest{n}@example.com", "forename": f"Guest {n}"} for n in range(plan["recipients"])
    ]
    response = await client.post(
        f"/api/integrations/campaigns/{plan['upload_campaign']}/recipients",
        json={"recipients": recipients},
        headers={"X-API-Key": plan["key"]},
    )
    body = response.json() if response.status_code < 500 else {}
    return {"status": response.status_code, "created": body.get("total_created")}


async def stream(client: httpx.AsyncClient, plan: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    codes = iter(plan["stream_codes"])
    validations: list[dict[str, Any]] = []
    redemptions: list[dict[str, Any]] = []
    acknowledged = 0
    killed = asyncio.Event()
    kill_requested = False

    async def wait_for_kill() -> None:
        print("kill", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        killed.set()

    async def shopper() -> None:
        nonlocal acknowledged, kill_requested
        for code in codes:
            try:
                response = await client.get(
                    f"/api/webhook/validate/{code}", headers={"X-API-Key": plan["key"]}
                )
                validations.append(
                    {"status": response.status_code, "server": response.headers.get("x-server")}
                )
            except httpx.TransportError as error:
                validations.append({"status": 0, "error": repr(error)})
            answer = await redeem(client, plan["key"], code, f"order-{code}")
            answer["after_kill"] = killed.is_set()
            redemptions.append(answer)
            if 200 <= answer["status"] < 300:
                acknowledged += 1
            if acknowledged >= plan["kill_after"] and not kill_requested:
                kill_requested = True
                asyncio.get_running_loop().create_task(wait_for_kill())

    await asyncio.gather(*(shopper() for _ in range(plan["concurrency"])))
    if kill_requested and not killed.is_set():
        await killed.wait()
    return {"validations": validations, "redemptions": redemptions}


async def retry(
    client: httpx.AsyncClient, plan: dict[str, Any], answers: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    retried = []
    for answer in answers:
        if answer["status"] and answer["status"] < 500:
            continue
        for _ in range(RETRIES):
            again = await redeem(client, plan["key"], answer["code"], answer["reference"])
            if again["status"] and again["status"] < 500:
                break
            await asyncio.sleep(0.1)
        retried.append(again)
    return retried


async def main(plan: dict[str, Any]) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=plan["concurrency"] * 4)
    async with httpx.AsyncClient(base_url=plan["url"], timeout=30, limits=limits) as client:
        raced = await race(client, plan)
        limit = await limited(client, plan)
        uploaded = await upload(client, plan)
        streamed = await stream(client, plan)
        retried = await retry(client, plan, streamed["redemptions"])
    return {"race": raced, "limited": limit, "upload": uploaded, **streamed, "retried": retried}


if __name__ == "__main__":
    plan = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps(asyncio.run(main(plan))))
