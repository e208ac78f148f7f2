"""Gift card redemption over VoucherCart's API: ``POST /vouchercart/v1/redeem`` with a
``reductor``, as a form (the seed's curl) with a Bearer API key.

Latency of ``voucherd serve`` at a fixed offered load (open loop), and its throughput at
saturation next to the same guarded UPDATE and ledger INSERT behind a minimal endpoint
(:mod:`bench.minimal_app`, ``POST /giftcards/redeem``) and through raw asyncpg without HTTP
(:mod:`bench.giftcard_sql`). Every request takes 1 minor unit from a stored-value card holding
far more than the run can take, cycling over many cards so that no two clients wait on one
row and no card's ledger grows long."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable

import asyncpg  # type: ignore[import-untyped]

from bench import giftcard_sql
from bench.common import (
    HOST,
    BenchError,
    Section,
    Tenant,
    dsn,
    free_port,
    progress,
    running_server,
    settle,
    voucherd_command,
    voucherd_env,
)
from bench.http_checkout import CONCURRENCY, OFFERED_RATE, Call, Durations, measure, minimal_app_command
from bench.http_client import HttpPool, Reply, post_form
from bench.load import Operation
from bench.minimal_app import MinimalConfig
from voucherd.accounts import staff
from voucherd.config import get_settings
from voucherd.db import Database, unit_of_work
from voucherd.giftcards import catalog, orders
from voucherd.giftcards.ledger import actor

PAGE_NAME = "bench-giftcards"
BALANCE = 1_000_000_000  # minor units on each card: 10 million, far more than any run takes
REDUCTOR = 1  # minor units each redemption takes
CARDS_PER_ORDER = orders.MAX_QUANTITY

Card = tuple[uuid.UUID, str]  # id, code


async def _cards(database: Database, tenant: Tenant, count: int) -> tuple[int, list[Card], list[Card]]:
    """Through the services, as ``POST /vouchercart/v1/order`` makes them: a sales page, a
    monetary product, and orders of 100 cards; two sets of ``count`` cards, one for voucherd and
    one the baselines share. The sales page's number comes first."""
    async with unit_of_work(database) as session:
        page = await staff.create_sales_page(session, tenant.principal.client_id, PAGE_NAME)
        product = await catalog.create_product(
            session,
            tenant.principal,
            catalog.ProductInput(
                sales_page=page.number,
                type=catalog.ProductType.MONETARY,
                title="Bench gift card",
                currency=tenant.principal.currency,
                min_amount=100,
                max_amount=BALANCE,
            ),
        )
    number = page.number
    ids: list[Card] = []
    orders_needed = -(-2 * count // CARDS_PER_ORDER)
    for _ in range(orders_needed):
        async with unit_of_work(database) as session:
            placed = await orders.place_order(
                session,
                tenant.principal,
                orders.OrderInput(
                    product=product.product.number,
                    sales_page=number,
                    monetary_amount=BALANCE,
                    quantity=CARDS_PER_ORDER,
                    payments=[
                        orders.Payment(
                            amount=BALANCE * CARDS_PER_ORDER,
                            currency=tenant.principal.currency,
                            title="Bench",
                        )
                    ],
                ),
            )
            ids += [(card.id, card.code) for card in placed.cards]
    if len(ids) < 2 * count:
        raise BenchError(f"giftcards: {len(ids)} cards made, {2 * count} wanted")
    return number, ids[:count], ids[count : 2 * count]


def _check(reply: Reply) -> str | None:
    if reply.status == 200:
        return None
    return f"HTTP {reply.status}: {reply.body[:300].decode(errors='replace')}"


def _redeem_call(
    tenant: Tenant, page: int, ours: list[Card], theirs: list[Card], voucherd_port: int, minimal_port: int
) -> Call:
    who = actor(tenant.principal)

    def over_http(
        port: int, path: str, bodies: list[bytes], headers: dict[str, str]
    ) -> Callable[[HttpPool], Operation]:
        host = f"{HOST}:{port}"
        requests = itertools.cycle([post_form(host, path, body, headers) for body in bodies])

        def bind(pool: HttpPool) -> Operation:
            async def operation() -> str | None:
                return _check(await pool.send(next(requests)))

            return operation

        return bind

    bearer = {"Authorization": f"Bearer {tenant.api_key}"}
    voucherd = over_http(
        voucherd_port,
        "/vouchercart/v1/redeem",
        [f"code={code}&domain={page}&reductor={REDUCTOR}".encode() for _, code in ours],
        bearer,
    )
    minimal = over_http(
        minimal_port,
        "/giftcards/redeem",
        [f"giftcard_id={card_id}&reductor={REDUCTOR}".encode() for card_id, _ in theirs],
        bearer,
    )
    cycle = itertools.cycle(
        [giftcard_sql.Debit(tenant.principal.client_id, card_id, REDUCTOR, who) for card_id, _ in theirs]
    )

    def raw(pool: asyncpg.Pool) -> Operation:
        async def operation() -> str | None:
            try:
                async with pool.acquire() as connection:
                    redeemed = await giftcard_sql.redeem(connection, next(cycle))
            except asyncpg.PostgresError as error:
                return f"{type(error).__name__}: {error}"
            return None if redeemed else "card refused the debit"

        return operation

    return Call(
        name="giftcard_redeem",
        p95_target_ms=10.0,
        minimal_ratio_target=0.5,
        voucherd=voucherd,
        minimal=minimal,
        raw=raw,
    )


async def run(database: Database, tenant: Tenant, durations: Durations, cards: int) -> Section:
    settings = get_settings()
    pool_size = (settings.pool_size, settings.pool_size + settings.pool_max_overflow)

    progress(f"giftcards: {2 * cards:,} stored-value cards of {BALANCE:,} minor units each")
    page, ours, theirs = await _cards(database, tenant, cards)
    await settle()

    voucherd_port, minimal_port = free_port(), free_port()
    minimal_config = MinimalConfig(
        dsn=dsn(),
        client_id=tenant.principal.client_id,
        campaign_id=uuid.UUID(int=0),  # unused: the gift card route needs no campaign
        currency=tenant.principal.currency,
        uses_per_voucher=1,
        pool_min=pool_size[0],
        pool_max=pool_size[1],
        actor=actor(tenant.principal),
    )
    call = _redeem_call(tenant, page, ours, theirs, voucherd_port, minimal_port)
    progress("giftcards: starting voucherd serve and the minimal app")
    voucherd_serve = voucherd_command("serve", "--host", HOST, "--port", str(voucherd_port))
    minimal_env = {**os.environ, **minimal_config.to_env()}
    async with (
        running_server("voucherd", voucherd_serve, voucherd_env(), voucherd_port),
        running_server("minimal-app", minimal_app_command(minimal_port), minimal_env, minimal_port),
    ):
        section = await measure(call, voucherd_port, minimal_port, pool_size, durations)

    notes = [
        f"giftcards: POST /vouchercart/v1/redeem (form: code, domain, reductor={REDUCTOR}; Bearer API "
        f"key) on voucherd serve (1 worker, SQLAlchemy pool {pool_size[0]}+{pool_size[1] - pool_size[0]}) "
        "vs the minimal app's POST /giftcards/redeem (card by id, no authentication) vs raw asyncpg "
        f"({CONCURRENCY} tasks, no HTTP); minimal and raw run the same guarded UPDATE + ledger INSERT "
        "(bench/giftcard_sql.py); voucherd also looks the code up, checks the sales page, records a "
        "giftcard.redeemed event and answers with the card's status",
        f"giftcards: {cards:,} cards for voucherd, {cards:,} others for the baselines, each redemption "
        f"on the next card in turn; latency at {OFFERED_RATE:g} req/s offered, throughput at "
        f"{CONCURRENCY} clients, as for the checkout",
    ]
    return Section(notes=notes + section.notes, figures=section.figures)
