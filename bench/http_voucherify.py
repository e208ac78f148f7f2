"""The Voucherify dialect's checkout: ``POST /voucherify/v1/validations`` and ``/redemptions`` with
one voucher each, as the official SDK sends them (JSON, the application pair), beside the
VoucherTrack checkout's validate and redeem on the same ``voucherd serve`` in the same run (target:
at least 0.6 of their throughput), and the same SQL through raw asyncpg."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable

import asyncpg  # type: ignore[import-untyped]
import orjson

from bench import checkout_sql
from bench.common import (
    HOST,
    Section,
    Tenant,
    create_campaign,
    dsn,
    free_port,
    generate_codes,
    progress,
    running_server,
    settle,
    voucherd_command,
    voucherd_env,
)
from bench.http_checkout import (
    AMOUNT_MINOR,
    CONCURRENCY,
    OFFERED_RATE,
    TRANSACTION_AMOUNT,
    VALIDATE_CODES,
    Call,
    Durations,
    Vouchers,
    measure,
    raw_redeem,
)
from bench.http_client import HttpPool, Reply, get, post_json
from bench.load import Operation
from voucherd.config import get_settings
from voucherd.db import Database


def _check(reply: Reply, expected: int) -> str | None:
    if reply.status == expected:
        return None
    return f"HTTP {reply.status}: {reply.body[:300].decode(errors='replace')}"


def _stack(code: str, reference: str | None = None) -> bytes:
    order: dict[str, object] = {"amount": AMOUNT_MINOR}
    if reference is not None:
        order["source_id"] = reference
    return orjson.dumps({"redeemables": [{"object": "voucher", "id": code}], "order": order})


def _validate_call(tenant: Tenant, codes: list[str], port: int) -> Call:
    host = f"{HOST}:{port}"
    pair = {"X-App-Id": str(tenant.principal.subject.id), "X-App-Token": tenant.api_key}
    ours = itertools.cycle(
        [post_json(host, "/voucherify/v1/validations", _stack(code), pair) for code in codes]
    )
    theirs = itertools.cycle(
        [get(host, f"/api/webhook/validate/{code}", {"X-API-Key": tenant.api_key}) for code in codes]
    )

    def over_http(requests: itertools.cycle[bytes]) -> Callable[[HttpPool], Operation]:
        def bind(pool: HttpPool) -> Operation:
            async def operation() -> str | None:
                return _check(await pool.send(next(requests)), 200)

            return operation

        return bind

    cycle = itertools.cycle(codes)

    def raw(pool: asyncpg.Pool) -> Operation:
        async def operation() -> str | None:
            async with pool.acquire() as connection:
                row = await checkout_sql.validate(connection, tenant.principal.client_id, next(cycle))
            return None if row is not None else "voucher not found"

        return operation

    return Call(
        name="voucherify_validate",
        p95_target_ms=10.0,
        minimal_ratio_target=0.6,
        voucherd=over_http(ours),
        minimal=over_http(theirs),
        raw=raw,
        baseline="vouchertrack",
    )


def _redeem_call(tenant: Tenant, campaign_id: uuid.UUID, vouchers: Vouchers, port: int) -> Call:
    host = f"{HOST}:{port}"
    pair = {"X-App-Id": str(tenant.principal.subject.id), "X-App-Token": tenant.api_key}
    references = (f"bench-vfy-order-{number}" for number in itertools.count())

    def ours(pool: HttpPool) -> Operation:
        async def operation() -> str | None:
            _, code = vouchers.take()
            request = post_json(host, "/voucherify/v1/redemptions", _stack(code, next(references)), pair)
            return _check(await pool.send(request), 200)

        return operation

    def theirs(pool: HttpPool) -> Operation:
        async def operation() -> str | None:
            _, code = vouchers.take()
            body = orjson.dumps(
                {"code": code, "transaction_amount": TRANSACTION_AMOUNT, "order_reference": next(references)}
            )
            request = post_json(host, "/api/webhook/redemption", body, {"X-API-Key": tenant.api_key})
            return _check(await pool.send(request), 201)

        return operation

    return Call(
        name="voucherify_redeem",
        p95_target_ms=10.0,
        minimal_ratio_target=0.6,
        voucherd=ours,
        minimal=theirs,
        raw=raw_redeem(tenant, campaign_id, vouchers, references),
        baseline="vouchertrack",
    )


async def run(database: Database, tenant: Tenant, durations: Durations, redeem_codes: int) -> Section:
    settings = get_settings()
    pool_size = (settings.pool_size, settings.pool_size + settings.pool_max_overflow)
    progress(f"voucherify: {VALIDATE_CODES:,} codes to validate, {redeem_codes:,} to redeem")
    validate_campaign = await create_campaign(database, tenant, "Bench Voucherify validate")
    await generate_codes(database, tenant, validate_campaign, VALIDATE_CODES)
    redeem_campaign = await create_campaign(database, tenant, "Bench Voucherify redeem")
    await generate_codes(database, tenant, redeem_campaign, redeem_codes)
    connection = await asyncpg.connect(dsn())
    try:
        query = "SELECT id, code FROM vouchers WHERE campaign_id = $1"
        validate_codes = [row["code"] for row in await connection.fetch(query, validate_campaign)]
        redeem_vouchers = [(row["id"], row["code"]) for row in await connection.fetch(query, redeem_campaign)]
    finally:
        await connection.close()
    await settle()

    port = free_port()
    vouchers = Vouchers(redeem_vouchers)
    calls = [
        _validate_call(tenant, validate_codes, port),
        _redeem_call(tenant, redeem_campaign, vouchers, port),
    ]
    sections = []
    progress("voucherify: starting voucherd serve")
    async with running_server(
        "voucherd", voucherd_command("serve", "--host", HOST, "--port", str(port)), voucherd_env(), port
    ):
        for call in calls:
            sections.append(await measure(call, port, port, pool_size, durations))
    notes = [
        "voucherify: POST /voucherify/v1/validations and /redemptions (JSON, one voucher, order amount "
        f"{AMOUNT_MINOR}; the application pair) vs the VoucherTrack checkout's GET /api/webhook/validate "
        "and POST /api/webhook/redemption on the same voucherd serve (the 'vouchertrack' figures) vs raw "
        f"asyncpg (bench/checkout_sql.py); {CONCURRENCY} clients, {OFFERED_RATE:g} req/s offered",
    ]
    if vouchers.exhausted:
        notes.append(
            f"voucherify redeem: all {redeem_codes:,} codes were used; the last closed loop ended early"
        )
    for section in sections:
        notes += section.notes
    return Section(notes=notes, figures=[figure for section in sections for figure in section.figures])
