"""The ``voucherd`` command.

The database and the services are imported inside the commands that use them: a process-pool
worker that ``voucherd serve`` spawns (QR codes) imports this module first, and so does every
``voucherd --help``."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from voucherd.config import get_settings
from voucherd.core.errors import DomainError

app = typer.Typer(help="voucherd: a self-hosted voucher platform.", no_args_is_help=True)
clients_app = typer.Typer(help="Clients (tenants).", no_args_is_help=True)
keys_app = typer.Typer(help="A client's API keys.", no_args_is_help=True)
staff_app = typer.Typer(help="A client's staff logins.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
app.add_typer(keys_app, name="keys")
app.add_typer(staff_app, name="staff")
console = Console(stderr=True)


def _fail(error: DomainError) -> None:
    console.print(f"[red]error:[/red] {error.message}")
    raise typer.Exit(2)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes")] = 1,
) -> None:
    """Serve the API (and, on SQLite, run the job worker in the same process)."""
    import os
    import tempfile

    import uvicorn

    settings = get_settings()
    if workers > 1 and settings.rate_limits_enabled and not settings.redis_url:
        # In memory every process would count on its own: N processes would let N times each
        # limit through (login guessing, client-side validations), and a lockout in one process
        # would not hold in the others.
        console.print(
            f"[red]error:[/red] --workers {workers} needs shared rate limits: set VOUCHERD_REDIS_URL "
            "(e.g. redis://127.0.0.1:6379/0), or run one process per port behind the balancer with "
            "VOUCHERD_REDIS_URL set there too. (VOUCHERD_RATE_LIMITS_ENABLED=false turns the limits "
            "off instead, for a balancer or gateway that enforces its own.)"
        )
        raise typer.Exit(2)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics sums every server process's samples: each writes its own files here.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="voucherd-metrics-")

    uvicorn.run(
        "voucherd.api.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        server_header=False,  # no "Server: uvicorn": what we run is nobody's business
        log_level=settings.log_level.lower(),
    )


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest schema."""
    from voucherd.db.migrate import upgrade

    upgrade(get_settings().database_url)
    console.print("database is up to date")


@app.command()
def worker(
    jobs: Annotated[
        bool, typer.Option("--jobs", help="Run bulk jobs (codes, uploads, mail) and the gift card sweep")
    ] = False,
    webhooks: Annotated[bool, typer.Option("--webhooks", help="Deliver webhooks")] = False,
) -> None:
    """Run background jobs and webhook deliveries until stopped (SIGINT/SIGTERM finish the current
    chunk first). With --jobs or --webhooks only that kind runs (both by default), so that each
    scales with its own number of processes."""
    from voucherd.db import get_database
    from voucherd.logging import configure
    from voucherd.worker import run_worker

    configure()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        database = get_database()
        try:
            await run_worker(database, stop, jobs=both or jobs, webhooks=both or webhooks)
        finally:
            await database.dispose()

    both = not (jobs or webhooks)

    asyncio.run(main())


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(help="The file to write (replaced when it exists)")],
) -> None:
    """Copy the SQLite database to PATH while it serves (SQLite's online backup API: one
    consistent snapshot; writers go on meanwhile). PostgreSQL: use pg_dump."""
    from voucherd.ops import backup as backups

    try:
        copied = backups.backup(get_settings().database_url, path)
    except DomainError as error:
        _fail(error)
        return
    console.print(f"backed up to {copied.path} ({copied.size:,} bytes, schema {copied.revision})")


@app.command()
def restore(
    path: Annotated[Path, typer.Argument(help="A file made by voucherd backup")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds data")
    ] = False,
) -> None:
    """Put a backup in place of the SQLite database. A database that holds data is kept unless
    --force; stop the servers and workers first, and run voucherd migrate after."""
    from voucherd.ops import backup as backups

    try:
        restored = backups.restore(get_settings().database_url, path, force=force)
    except DomainError as error:
        _fail(error)
        return
    console.print(f"restored {path} into {restored.path} (schema {restored.revision}); run voucherd migrate")


@app.command()
def copy(
    to: Annotated[
        str, typer.Option("--to", help="The PostgreSQL database: postgresql+asyncpg://user@host/db")
    ],
    batch: Annotated[int, typer.Option(help="Rows per transaction", min=100)] = 10_000,
) -> None:
    """Copy this SQLite install (VOUCHERD_DATABASE_URL) into an empty, migrated PostgreSQL
    database, then verify every table by count and checksum. Stop the servers and workers first.
    Resumable: run it again after an interruption and it goes on where it stopped."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from voucherd.db.engine import create_database
    from voucherd.ops import copy as copying

    source = create_database(get_settings().database_url, pool=False)
    target = create_database(to, pool=False)
    tasks: dict[str, TaskID] = {}

    with Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:

        def advance(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.update(tasks[table], completed=done, total=total)

        async def main() -> tuple[int, list[copying.TableCheck], float, float]:
            try:
                started = time.perf_counter()
                copied = await copying.copy_install(source, target, batch=batch, on_progress=advance)
                copy_seconds = time.perf_counter() - started
                checks = await copying.verify(source, target, on_progress=advance)
                return copied, checks, copy_seconds, time.perf_counter() - started - copy_seconds
            finally:
                await source.dispose()
                await target.dispose()

        try:
            copied, checks, copy_seconds, verify_seconds = asyncio.run(main())
        except DomainError as error:
            bar.stop()
            _fail(error)
            return
    wrong = [check for check in checks if not check.matches]
    for check in wrong:
        console.print(
            f"[red]mismatch:[/red] {check.table}: {check.source_rows} rows ({check.source_sum}) in SQLite, "
            f"{check.target_rows} ({check.target_sum}) in PostgreSQL"
        )
    if wrong:
        raise typer.Exit(1)
    rows = sum(check.source_rows for check in checks)
    console.print(
        f"copied {copied:,} rows in {copy_seconds:.1f} s; verified {len(checks)} tables, {rows:,} rows, "
        f"by count and checksum in {verify_seconds:.1f} s"
    )


@clients_app.command("create")
def clients_create(
    name: str,
    currency: Annotated[str, typer.Option(help="ISO 4217 currency")] = "GBP",
    timezone: Annotated[str, typer.Option(help="IANA timezone")] = "Europe/London",
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Create a client and its first API key (shown once)."""
    from voucherd.accounts import service as accounts
    from voucherd.db import get_database, unit_of_work

    async def main() -> dict[str, str]:
        try:
            async with unit_of_work() as session:
                client = await accounts.create_client(
                    session, name=name, currency=currency, timezone=timezone
                )
                issued = await accounts.create_api_key(session, client.id)
            return {
                "client_id": str(client.id),
                "name": client.name,
                "currency": client.currency,
                "timezone": client.timezone,
                "api_key": issued.secret,
                "api_key_id": str(issued.api_key.id),
            }
        finally:
            await get_database().dispose()

    try:
        result = asyncio.run(main())
    except DomainError as error:
        _fail(error)
        return
    if json:
        typer.echo(orjson.dumps(result).decode())
    else:
        typer.echo(f"client {result['name']}: {result['client_id']}")
        typer.echo(f"API key (shown once): {result['api_key']}")


@clients_app.command("client-side")
def clients_client_side(
    client_id: uuid.UUID,
    redeem: Annotated[
        bool, typer.Option("--redeem/--no-redeem", help="Let publishable keys redeem from browsers")
    ] = False,
    publish: Annotated[
        bool, typer.Option("--publish/--no-publish", help="Let publishable keys publish codes from browsers")
    ] = False,
) -> None:
    """Seed 004's "danger zone": what a client's publishable keys may do besides validating."""
    from voucherd.accounts import service as accounts
    from voucherd.db import get_database, unit_of_work

    async def main() -> None:
        try:
            async with unit_of_work() as session:
                await accounts.set_client_side(session, client_id, redeem=redeem, publish=publish)
        finally:
            await get_database().dispose()

    try:
        asyncio.run(main())
    except DomainError as error:
        _fail(error)
        return
    typer.echo(f"client-side redeem {'on' if redeem else 'off'}, publish {'on' if publish else 'off'}")


@clients_app.command("set-api-version")
def clients_set_api_version(client_id: uuid.UUID, version: str) -> None:
    """Pin the Voucherify API version (e.g. v2018-08-01) for the client's requests that send no
    X-Voucherify-API-Version header."""
    from voucherd.accounts import service as accounts
    from voucherd.db import get_database, unit_of_work

    async def main() -> str:
        try:
            async with unit_of_work() as session:
                client = await accounts.set_api_version(session, client_id, version)
                return client.voucherify_api_version or ""
        finally:
            await get_database().dispose()

    try:
        pinned = asyncio.run(main())
    except DomainError as error:
        _fail(error)
        return
    typer.echo(f"Voucherify API version {pinned}")


@clients_app.command("list")
def clients_list() -> None:
    """List clients."""
    from voucherd.accounts import service as accounts
    from voucherd.db import get_database, unit_of_work

    async def main() -> list[tuple[str, str, str, str]]:
        try:
            async with unit_of_work(write=False) as session:
                return [
                    (str(c.id), c.name, c.currency, c.timezone) for c in await accounts.list_clients(session)
                ]
        finally:
            await get_database().dispose()

    table = Table("client_id", "name", "currency", "timezone")
    for row in asyncio.run(main()):
        table.add_row(*row)
    Console().print(table)


@keys_app.command("create")
def keys_create(
    client_id: uuid.UUID,
    name: Annotated[str, typer.Option(help="A label for the key")] = "default",
    test: Annotated[bool, typer.Option("--test", help="Make a vd_test_ key")] = False,
    publishable: Annotated[
        bool, typer.Option("--publishable", help="A client-side key for browsers (needs --allowed-origin)")
    ] = False,
    allowed_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-origin", help="An origin the publishable key may be used from (repeatable; * for any)"
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Create an API key (the secret is shown once)."""
    from voucherd.accounts import service as accounts
    from voucherd.db import get_database, unit_of_work

    async def main() -> dict[str, str]:
        try:
            async with unit_of_work() as session:
                issued = await accounts.create_api_key(
                    session,
                    client_id,
                    name=name,
                    test=test,
                    publishable=publishable,
                    allowed_origins=allowed_origin,
                )
            return {
                "api_key_id": str(issued.api_key.id),
                "client_id": str(client_id),
                "api_key": issued.secret,
            }
        finally:
            await get_database().dispose()

    try:
        result = asyncio.run(main())
    except DomainError as error:
        _fail(error)
        return
    typer.echo(orjson.dumps(result).decode() if json else f"API key (shown once): {result['api_key']}")


@keys_app.command("list")
def keys_list(client_id: uuid.UUID) -> None:
    """List a client's keys (prefixes only; secrets are never stored)."""
    from voucherd.accounts import service as accounts
    from voucherd.db import get_database, unit_of_work

    async def main() -> list[tuple[str, str, str, str, str]]:
        try:
            async with unit_of_work(write=False) as session:
                return [
                    (
                        str(k.id),
                        k.name,
                        k.prefix + "…",
                        k.created_at.isoformat(),
                        k.revoked_at.isoformat() if k.revoked_at else "",
                    )
                    for k in await accounts.list_api_keys(session, client_id)
                ]
        finally:
            await get_database().dispose()

    table = Table("api_key_id", "name", "prefix", "created_at", "revoked_at")
    for row in asyncio.run(main()):
        table.add_row(*row)
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(api_key_id: uuid.UUID) -> None:
    """Revoke a key; every server stops accepting it within a second."""
    from voucherd.accounts import service as accounts
    from voucherd.db import get_database, unit_of_work

    async def main() -> None:
        try:
            async with unit_of_work() as session:
                await accounts.revoke_api_key(session, api_key_id)
        finally:
            await get_database().dispose()

    try:
        asyncio.run(main())
    except DomainError as error:
        _fail(error)
    console.print("revoked")


@staff_app.command("create")
def staff_create(
    client_id: uuid.UUID,
    email: str,
    role: Annotated[str, typer.Option(help="owner, manager or staff")] = "staff",
    domain: Annotated[list[str] | None, typer.Option(help="A sales page they log in on (repeat)")] = None,
    full_name: Annotated[str | None, typer.Option(help="Their name (default: the email's name)")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Create a staff login. Without --password-stdin a password is generated and shown once."""
    import secrets
    import sys

    from voucherd.accounts import staff
    from voucherd.accounts.service import Role
    from voucherd.db import get_database, unit_of_work

    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(12)
    if role not in {r.value for r in staff.STAFF_ROLES}:
        console.print("[red]error:[/red] role must be owner, manager or staff.")
        raise typer.Exit(2)

    async def main() -> dict[str, object]:
        try:
            async with unit_of_work() as session:
                member = await staff.create_staff(
                    session,
                    client_id,
                    staff.StaffInput(
                        email=email,
                        password=password,
                        full_name=full_name or email.partition("@")[0],
                        role=Role(role),
                        pages=domain or [],
                    ),
                )
            return {
                "staff_id": str(member.id),
                "id": member.number,
                "email": member.email,
                "role": member.role,
            }
        finally:
            await get_database().dispose()

    try:
        result = asyncio.run(main())
    except DomainError as error:
        _fail(error)
        return
    if not password_stdin:
        result["password"] = password
    if json:
        typer.echo(orjson.dumps(result).decode())
    else:
        typer.echo(f"staff {result['email']} ({result['role']}): {result['staff_id']}")
        if not password_stdin:
            typer.echo(f"password (shown once): {password}")


@app.command()
def demo(
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Create the demo client ("Demo Restaurant") with a campaign and codes, if the database has
    no client yet; print its API key and a curl to try."""
    from voucherd.demo import seed_demo

    result = asyncio.run(seed_demo())
    if json:
        typer.echo(orjson.dumps(result).decode())
        return
    if result is None:
        console.print("The database already has clients; no demo data was added.")
        return
    base = get_settings().public_url.rstrip("/")
    typer.echo(f"Demo client: {result['client_name']}  API key (shown once): {result['api_key']}")
    typer.echo(f"Demo codes: {', '.join(result['codes'])}")
    typer.echo(
        f"Demo login: {result['staff_email']}  password (shown once): {result['staff_password']}"
        f"  sales page: {result['sales_page']}"
    )
    typer.echo(f"Demo gift card (£25.00, sales page domain {result['domain']}): {result['gift_card_code']}")
    typer.echo(f"Staff screen: {base}/staff/ (log in with the demo login; the sales page may stay empty)")
    typer.echo(f"Gift voucher shop: {result['shop_url']}")
    typer.echo("Try:")
    typer.echo(
        f"  curl -s -H 'X-API-Key: {result['api_key']}' {base}/api/webhook/validate/{result['codes'][0]}"
    )
    typer.echo(
        f"  curl -s -H 'Authorization: Bearer {result['api_key']}' "
        f"'{base}/vouchercart/v1/status?code={result['gift_card_code']}&domain={result['domain']}'"
    )


if __name__ == "__main__":  # pragma: no cover
    app()
