"""The minimal endpoints the checkout is measured against: the server stack of ``voucherd serve``
(FastAPI on uvicorn with uvloop, httptools, no access log) doing only the SQL of
:mod:`bench.checkout_sql` through an asyncpg pool (no SQLAlchemy), with no authentication and no
rules. The client, campaign and use limit come from the configuration, so the redeem request
names the voucher by id. ``POST /giftcards/redeem`` does the gift card debit of
:mod:`bench.giftcard_sql` for a form body ``giftcard_id=...&reductor=...`` (the card by id, so no
lookup).

The bench runs it as ``python -m uvicorn bench.minimal_app:create_app --factory ...`` with
:class:`MinimalConfig` in the environment."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import asyncpg  # type: ignore[import-untyped]
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel

from bench import checkout_sql, giftcard_sql

CONFIG_VARIABLE = "BENCH_MINIMAL_CONFIG"


@dataclass(frozen=True)
class MinimalConfig:
    dsn: str
    client_id: uuid.UUID
    campaign_id: uuid.UUID
    currency: str
    uses_per_voucher: int
    pool_min: int
    pool_max: int
    actor: str = "api_key:bench"  # what the gift card ledger rows name as who redeemed

    def to_env(self) -> dict[str, str]:
        return {CONFIG_VARIABLE: orjson.dumps(dataclasses.asdict(self), default=str).decode()}

    @classmethod
    def from_env(cls) -> MinimalConfig:
        values = orjson.loads(os.environ[CONFIG_VARIABLE])
        values["client_id"] = uuid.UUID(values["client_id"])
        values["campaign_id"] = uuid.UUID(values["campaign_id"])
        return cls(**values)


class RedeemBody(BaseModel):
    voucher_id: uuid.UUID
    code: str
    transaction_amount: Decimal
    order_reference: str


def _json(content: dict[str, Any], status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


def create_app() -> FastAPI:
    config = MinimalConfig.from_env()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        pool = asyncpg.create_pool(config.dsn, min_size=config.pool_min, max_size=config.pool_max)
        async with pool:
            yield {"pool": pool}

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def health() -> Response:
        return _json({"status": "ok"})

    @app.get("/validate/{code}")
    async def validate(code: str, request: Request) -> Response:
        code = code.strip().upper()
        async with request.state.pool.acquire() as connection:
            row = await checkout_sql.validate(connection, config.client_id, code)
        if row is None:
            return _json({"valid": False, "code": code, "error": "Voucher not found"}, 404)
        return _json(
            {
                "valid": True,
                "code": row["code"],
                "discount_type": row["discount_type"],
                "discount_value": row["discount_value"],
                "discount_description": row["discount_description"],
                "remaining_uses": row["uses_per_voucher"] - row["redeemed_count"],
                "campaign_name": row["campaign_name"],
            }
        )

    @app.post("/redeem")
    async def redeem(body: RedeemBody, request: Request) -> Response:
        redemption = checkout_sql.Redemption(
            client_id=config.client_id,
            campaign_id=config.campaign_id,
            voucher_id=body.voucher_id,
            code=body.code,
            order_reference=body.order_reference,
            currency=config.currency,
            amount_minor=int(body.transaction_amount * 100),
            uses_per_voucher=config.uses_per_voucher,
        )
        async with request.state.pool.acquire() as connection:
            redeemed = await checkout_sql.redeem(connection, redemption)
        if not redeemed:
            return _json({"success": False, "voucher_code": body.code, "error": "Voucher used up"}, 409)
        discount = redemption.discount_minor
        return _json({"success": True, "voucher_code": body.code, "discount_applied_minor": discount}, 201)

    @app.post("/giftcards/redeem")
    async def redeem_giftcard(request: Request) -> Response:
        form = parse_qs((await request.body()).decode())
        debit = giftcard_sql.Debit(
            client_id=config.client_id,
            giftcard_id=uuid.UUID(form["giftcard_id"][0]),
            amount=int(form["reductor"][0]),
            actor=config.actor,
        )
        async with request.state.pool.acquire() as connection:
            redeemed = await giftcard_sql.redeem(connection, debit)
        if not redeemed:
            refused = {"status": "failed", "error": "Not enough left", "code": "insufficient_balance"}
            return _json(refused, 409)
        return _json({"code": str(debit.giftcard_id), "redeemed": True})

    return app
