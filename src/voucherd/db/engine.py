"""Engines and the few differences between SQLite and PostgreSQL.

SQLite: WAL with ``synchronous=FULL`` (every acknowledged commit survives a kill), a busy timeout,
foreign keys on, and write transactions that start with ``BEGIN IMMEDIATE``. A DEFERRED transaction
that upgrades to a write gets SQLITE_BUSY at once, ignoring the busy timeout (cpython#124510), so
every write unit of work takes the write lock up front. Reads stay DEFERRED and run beside writers.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from voucherd.config import Settings, get_settings

_WRITE_OPTION = "voucherd_write"


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    write_sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    checkout_pool_size: int = 1
    pgbouncer: bool = False
    timeouts: dict[str, float] = field(default_factory=dict)  # asyncpg's, as the engine has them
    _driver_pool: asyncpg.Pool | None = field(default=None, repr=False)
    _driver_pool_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def driver_pool(self) -> asyncpg.Pool | None:
        """The checkout's pool if it was opened (for the pool figures of ``/metrics``)."""
        return self._driver_pool

    async def driver(self) -> asyncpg.Pool:
        """The pool of PostgreSQL connections straight from asyncpg, for the checkout's few
        statements: a lookup through one costs about a third of one through an ``AsyncSession``
        (README, Performance). ``async with (await database.driver()).acquire() as connection``;
        the caller owns the transaction; PostgreSQL only. (A pool rather than a context manager
        around ``acquire``: every layer of the await chain is walked again each time a waiting
        request resumes, and under load the checkout waits for a connection often.)"""
        return self._driver_pool or await self._open_driver_pool()

    async def _open_driver_pool(self) -> asyncpg.Pool:
        async with self._driver_pool_lock:
            if self._driver_pool is None:
                self._driver_pool = await asyncpg.create_pool(
                    min_size=1,
                    max_size=self.checkout_pool_size,
                    reset=_nothing_to_reset,
                    **{
                        **driver_connect_args(self.engine, self.url),
                        **({"statement_cache_size": 0} if self.pgbouncer else {}),
                        **self.timeouts,
                    },
                )
            return self._driver_pool

    async def dispose(self) -> None:
        if self._driver_pool is not None:
            await self._driver_pool.close()
            self._driver_pool = None
        await self.engine.dispose()


# Options of SQLAlchemy's asyncpg adapter that asyncpg itself does not take.
_ADAPTER_OPTIONS = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn")


def driver_connect_args(engine: AsyncEngine, url: str) -> dict[str, Any]:
    """What SQLAlchemy's dialect hands asyncpg for ``url``, for the pools we open on asyncpg
    directly: the same hosts, ports and options as the engine's. A multi-host URL
    (``?host=a:5432&host=b:5432&target_session_attrs=read-write``) becomes lists of hosts and
    ports; rendered back into a DSN, asyncpg would keep only the last ``host``."""
    _, arguments = engine.dialect.create_connect_args(make_url(url))
    return {name: value for name, value in arguments.items() if name not in _ADAPTER_OPTIONS}


async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    """The checkout leaves no session state (no SET, LISTEN, advisory lock or cursor), so asyncpg's
    default reset query, one more round trip per request, would undo nothing. asyncpg still rolls
    back a transaction left open before calling this."""


def pgbouncer_connect_args() -> dict[str, Any]:
    """SQLAlchemy's asyncpg arguments for PgBouncer in transaction mode (its documented recipe):
    no statement cache in asyncpg or in SQLAlchemy, and a name of its own for every statement
    SQLAlchemy prepares. Without them a second transaction that lands on another server connection
    meets ``prepared statement "__asyncpg_stmt_1__" does not exist``, or one that lands where
    another client prepared the same name meets ``DuplicatePreparedStatementError``."""
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unique_statement_name,
    }


def _unique_statement_name() -> str:
    return f"__voucherd_{uuid.uuid4().hex}__"


def engine_connect_args(url: str, settings: Settings) -> dict[str, Any]:
    """What the driver is given on connect, for the server's engines and for migrations alike
    (a connection attempt that gets no answer gives up; a statement has no limit here: a migration
    may build an index for minutes)."""
    if url.startswith("sqlite"):
        return {"timeout": settings.sqlite_busy_timeout_ms / 1000}
    connect = settings.database_connect_timeout_seconds
    return {
        **(pgbouncer_connect_args() if settings.database_pgbouncer else {}),
        **({"timeout": connect} if connect else {}),
    }


def postgres_timeouts(settings: Settings) -> dict[str, float]:
    """asyncpg's limits for the server's and the worker's connections: the connect timeout, and
    a default ``command_timeout`` for every statement. A statement cut by it raises
    ``TimeoutError``, which :func:`voucherd.db.errors.is_unavailable` counts as the database being
    out of reach (a black-holed connection answers nothing, ever)."""
    connect = settings.database_connect_timeout_seconds
    statement = settings.database_statement_timeout_seconds
    return {
        **({"timeout": connect} if connect else {}),
        **({"command_timeout": statement} if statement else {}),
    }


def create_database(url: str, settings: Settings | None = None, *, pool: bool = True) -> Database:
    settings = settings or get_settings()
    kwargs: dict[str, Any] = {}
    postgres = not url.startswith("sqlite")
    # The serving pools (server, worker) only: one-off commands (copy) may run long statements.
    timeouts = postgres_timeouts(settings) if postgres and pool else {}
    connect_args = {**engine_connect_args(url, settings), **timeouts}
    if connect_args:
        kwargs["connect_args"] = connect_args
    if pool and not url.startswith("sqlite"):
        kwargs.update(
            pool_size=settings.pool_size,
            max_overflow=settings.pool_max_overflow,
            pool_pre_ping=False,
        )
    if not pool:
        kwargs["poolclass"] = NullPool
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, settings)
    write_engine = engine.execution_options(**{_WRITE_OPTION: True})
    return Database(
        url=url,
        engine=engine,
        write_sessions=async_sessionmaker(write_engine, expire_on_commit=False),
        read_sessions=async_sessionmaker(engine, expire_on_commit=False),
        checkout_pool_size=settings.checkout_pool_size if pool else 1,
        pgbouncer=settings.database_pgbouncer and postgres,
        timeouts=timeouts,
    )


def _configure_sqlite(engine: AsyncEngine, settings: Settings) -> None:
    # SQLAlchemy's documented recipe: take over BEGIN from the driver so that we choose its kind.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


_database: Database | None = None


def get_database() -> Database:
    global _database
    if _database is None:
        _database = create_database(get_settings().database_url)
    return _database


def set_database(database: Database | None) -> None:
    global _database
    _database = database
