"""A big client: the dashboard's lists, searches and figures on a campaign of ``codes`` codes,
``codes / 10`` recipients (customers, hand-outs, publications) and ``codes / 10`` redemptions,
against a client ten times smaller built in the same run. The rows are written by SQL
(``generate_series``, not timed), as a bulk upload and real redemptions would leave them, through
the same triggers that keep the campaign's figures. Each endpoint is called over keep-alive HTTP
against ``voucherd serve``, one request at a time; the target is p95 under 25 ms at the full size
and a p50 that does not grow with the client (big / small at most 1.5)."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import asyncpg  # type: ignore[import-untyped]
import httpx

from bench.common import (
    HOST,
    Figure,
    Section,
    Target,
    Tenant,
    create_campaign,
    create_tenant,
    dsn,
    free_port,
    percentile,
    progress,
    ratio,
    running_server,
    settle,
    voucherd_command,
    voucherd_env,
)
from voucherd.accounts import staff
from voucherd.accounts.service import Role
from voucherd.core.pagination import time_cursor
from voucherd.db import Database, unit_of_work

WARMUP = 5
CALLS = 40
TARGET_MS = 25.0
TARGET_RATIO = 1.5
PASSWORD = "bench-owner-password"  # noqa: S105 (a bench login)

# $1 client, $2 campaign, $3 codes, $4 a label that keeps both clients' keys apart. Every tenth
# code is redeemed once; the first tenth went to recipients (a customer, a hand-out, a
# publication each), a third of whom opened the mail.
_SEED = [
    """INSERT INTO customers (id, client_id, email, email_key, forename, surname, external_id,
                              created_at, updated_at)
       SELECT md5($4 || 'c' || g)::uuid, $1, $4 || g || '@example.com', $4 || g || '@example.com',
              'Person' || g, 'Bench', $4 || '-' || g,
              now() + g * interval '1 microsecond', now()
       FROM generate_series(1, $3 / 10) AS g WHERE $2::uuid IS NOT NULL""",
    """INSERT INTO vouchers (id, client_id, campaign_id, code, redeemed_count, created_at)
       SELECT md5($4 || 'v' || g)::uuid, $1, $2, upper($4) || lpad(g::text, 10, '0'),
              (g % 10 = 0)::int, now() + g * interval '1 microsecond'
       FROM generate_series(1, $3) AS g""",
    """INSERT INTO voucher_owners (voucher_id, client_id, campaign_id, customer_id, created_at)
       SELECT md5($4 || 'v' || g)::uuid, $1, $2, md5($4 || 'c' || g)::uuid, now()
       FROM generate_series(1, $3 / 10) AS g""",
    """INSERT INTO publications (id, client_id, campaign_id, voucher_id, customer_id, batch_id, channel,
                                 source_id, created_at)
       SELECT md5($4 || 'p' || g)::uuid, $1, $2, md5($4 || 'v' || g)::uuid, md5($4 || 'c' || g)::uuid,
              md5($4 || 'p' || g)::uuid, 'upload', $4 || '-s' || g, now() + g * interval '1 microsecond'
       FROM generate_series(1, $3 / 10) AS g""",
    """INSERT INTO recipients (id, client_id, campaign_id, customer_id, voucher_id, identity, source, email,
                               opened_at, created_at)
       SELECT md5($4 || 'r' || g)::uuid, $1, $2, md5($4 || 'c' || g)::uuid, md5($4 || 'v' || g)::uuid,
              'ext:' || $4 || '-' || g, 'upload', $4 || g || '@example.com',
              CASE WHEN g % 3 = 0 THEN now() END, now() + g * interval '1 microsecond'
       FROM generate_series(1, $3 / 10) AS g""",
    """INSERT INTO redemptions (id, client_id, campaign_id, voucher_id, code, order_reference, currency,
                                transaction_amount, discount_applied, channel, redeemed_at, created_at)
       SELECT md5($4 || 'x' || g)::uuid, $1, $2, md5($4 || 'v' || g)::uuid,
              upper($4) || lpad(g::text, 10, '0'),
              'order-' || g, 'GBP', 2000, 200, CASE WHEN g % 20 = 0 THEN 'in_store' ELSE 'online' END,
              now(), now() + g * interval '1 microsecond'
       FROM generate_series(10, $3, 10) AS g""",
]


@dataclass(frozen=True)
class Client:
    tenant: Tenant
    campaign_id: uuid.UUID
    codes: int
    label: str
    deep_cursor: str  # the position of the code nine tenths into the campaign
    deep_history_cursor: str  # the publication nine tenths into the history (newest first)
    staff_email: str  # an owner's login, for the dashboard's pages


async def _owner(database: Database, tenant: Tenant, label: str) -> str:
    """An owner's login (of sales page ``bench-{label}``) for the dashboard's pages."""
    email = f"owner-{label}@bench.example"
    async with unit_of_work(database) as session:
        page = await staff.create_sales_page(session, tenant.principal.client_id, f"bench-{label}")
        await staff.create_staff(
            session,
            tenant.principal.client_id,
            staff.StaffInput(
                email=email, password=PASSWORD, full_name="Bench Owner", role=Role.OWNER, pages=[page.name]
            ),
        )
    return email


async def _log_in(base_url: str, email: str) -> dict[str, str]:
    """The dashboard's login form, as a browser sends it; the session cookie as a header."""
    async with httpx.AsyncClient(base_url=base_url) as browser:
        form = await browser.get("/dashboard/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert found is not None, form.text
        data = {"csrf_token": found.group(1), "email": email, "password": PASSWORD}
        done = await browser.post("/dashboard/login", data=data)
        if done.status_code != 303:
            raise RuntimeError(f"the dashboard login answered {done.status_code}: {done.text[:200]}")
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in browser.cookies.items())}


async def _build(database: Database, codes: int, label: str) -> Client:
    tenant = await create_tenant()
    campaign_id = await create_campaign(database, tenant, f"Bench big client {label}")
    progress(f"bigclient: seeding a campaign of {codes:,} codes ({label})")
    connection = await asyncpg.connect(dsn())
    try:
        for statement in _SEED:
            await connection.execute(statement, tenant.principal.client_id, campaign_id, codes, label)
        code = await connection.fetchrow(
            "SELECT created_at, id FROM vouchers WHERE id = md5($1 || 'v' || $2)::uuid",
            label,
            str(codes * 9 // 10),
        )
        publication = await connection.fetchrow(
            "SELECT created_at, id FROM publications WHERE id = md5($1 || 'p' || $2)::uuid",
            label,
            str(codes // 100),
        )
    finally:
        await connection.close()
    owner = await _owner(database, tenant, label)
    return Client(tenant, campaign_id, codes, label, time_cursor(*code), time_cursor(*publication), owner)


def _endpoints(client: Client) -> dict[str, str]:
    campaign = f"/api/campaigns/{client.campaign_id}"
    voucherify_campaign = f"camp_{client.campaign_id.hex}"
    # A recipient halfway through the hand-outs: their customer (by source_id) and code.
    middle = f"{client.label}-{client.codes // 20}"
    middle_code = f"{client.label.upper()}{client.codes // 20:010d}"
    middle_email = f"{client.label}{client.codes // 20}@example.com"
    campaign_name = quote(f"Bench big client {client.label}")
    return {
        "stats": f"{campaign}/stats",
        "vouchers.first_page": f"{campaign}/vouchers",
        "vouchers.page_5000": f"{campaign}/vouchers?page=5000",
        "vouchers.cursor_deep": f"{campaign}/vouchers?after={client.deep_cursor}",
        "vouchers.redeemed": f"{campaign}/vouchers?redeemed=true",
        "vouchers.redeemed_cursor_deep": f"{campaign}/vouchers?redeemed=true&after={client.deep_cursor}",
        "vouchers.unredeemed": f"{campaign}/vouchers?redeemed=false",
        "publications": f"{campaign}/publications",
        "publications.cursor_deep": f"{campaign}/publications?after={client.deep_history_cursor}",
        "campaigns": "/api/campaigns",
        "customers": "/api/customers",
        "customers.by_email": f"/api/customers?email={middle_email}",
        # Voucherify's lists (the application pair)
        "voucherify.vouchers": f"/voucherify/v1/vouchers?campaign_id={voucherify_campaign}",
        "voucherify.vouchers.page_500": f"/voucherify/v1/vouchers?campaign_id={voucherify_campaign}&page=500",
        "voucherify.redemptions": "/voucherify/v1/redemptions",
        "voucherify.customers": "/voucherify/v1/customers",
        "voucherify.publications": "/voucherify/v1/publications",
        "voucherify.publications.page_100": "/voucherify/v1/publications?page=100",
        "voucherify.publications.oldest_first": "/voucherify/v1/publications?order=created_at",
        "voucherify.publications.by_customer": f"/voucherify/v1/publications?customer={middle}",
        "voucherify.publications.by_campaign": f"/voucherify/v1/publications?campaign={campaign_name}",
        "voucherify.publications.by_voucher": f"/voucherify/v1/publications?voucher={middle_code}",
        "voucherify.publications.by_source_id": (
            f"/voucherify/v1/publications?source_id={client.label}-s{client.codes // 20}"
        ),
        "voucherify.campaign": f"/voucherify/v1/campaigns/{voucherify_campaign}",
        # the dashboard's pages (an owner's login)
        "dashboard.home": "/dashboard/",
        "dashboard.campaigns": "/dashboard/campaigns",
        "dashboard.campaign_page": f"/dashboard/campaigns/{client.campaign_id}",
        "dashboard.campaign_page.find_code": (
            f"/dashboard/campaigns/{client.campaign_id}?code={client.label.upper()}{client.codes // 2:010d}"
        ),
        "dashboard.campaign_page.find_handout": (
            f"/dashboard/campaigns/{client.campaign_id}?history_search={quote(middle_email)}"
        ),
    }


async def _measure(http: httpx.AsyncClient, clients: dict[str, Client]) -> dict[str, dict[str, list[float]]]:
    """Each endpoint's latencies (ms) per client; the clients' calls alternate, so a burst of other
    work on the machine falls on both sizes alike."""
    timings: dict[str, dict[str, list[float]]] = {size: {} for size in clients}
    credentials: dict[str, dict[str, dict[str, Any]]] = {}  # per size, per dialect
    for size, client in clients.items():
        key = client.tenant.api_key
        credentials[size] = {
            "api": {"headers": {"X-API-Key": key}},
            "voucherify": {
                "headers": {"X-App-Id": str(client.tenant.principal.subject.id), "X-App-Token": key}
            },
            "dashboard": {"headers": await _log_in(str(http.base_url), client.staff_email)},
        }
    paths = {size: _endpoints(client) for size, client in clients.items()}
    for name in paths[next(iter(clients))]:
        for call in range(WARMUP + CALLS):
            for size in clients:
                start = time.perf_counter()
                path = paths[size][name]
                response = await http.get(path, **credentials[size][path.split("/")[1]])
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:200]}")
                if call >= WARMUP:
                    timings[size].setdefault(name, []).append(elapsed)
    return timings


async def run(database: Database, codes: int) -> Section:
    small_codes = codes // 10
    big = await _build(database, codes, "big")
    small = await _build(database, small_codes, "small")
    await settle()
    port = free_port()
    progress("bigclient: calling the endpoints")
    async with (
        running_server(
            "voucherd-bigclient",
            voucherd_command("serve", "--host", HOST, "--port", str(port)),
            voucherd_env(),
            port,
        ),
        httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=60) as http,
    ):
        timings = await _measure(http, {"big": big, "small": small})
    figures: list[Figure] = []
    for name in timings["big"]:
        big_p50, big_p95 = percentile(timings["big"][name], 0.5), percentile(timings["big"][name], 0.95)
        small_p50 = percentile(timings["small"][name], 0.5)
        small_p95 = percentile(timings["small"][name], 0.95)
        figures += [
            Figure(f"bigclient.{name}.small.p50", small_p50, "ms"),
            Figure(f"bigclient.{name}.small.p95", small_p95, "ms"),
            Figure(f"bigclient.{name}.big.p50", big_p50, "ms"),
            Figure(f"bigclient.{name}.big.p95", big_p95, "ms", Target("<", TARGET_MS)),
            ratio(f"bigclient.{name}.big/small.p50", big_p50, small_p50, Target("<=", TARGET_RATIO)),
            ratio(f"bigclient.{name}.big/small.p95", big_p95, small_p95),
        ]
    notes = [
        f"bigclient: a campaign of {codes:,} codes, {codes // 10:,} recipients (customers, hand-outs, "
        f"publications), {codes // 10:,} redemptions, against one of {small_codes:,} (another client), "
        "seeded by SQL; voucherd serve, one request at a time over keep-alive HTTP, "
        f"{CALLS} calls per endpoint and size (alternating) after {WARMUP} warm-ups; "
        "latency timed at the client",
        "bigclient: page_5000 is an OFFSET of 49,990 codes at both sizes (it grows with the page, not "
        "the campaign); cursor_deep starts nine tenths into the list",
    ]
    return Section(notes, figures)
