"""Telling a database that cannot be reached from a fault of ours: the first is answered 503
with ``Retry-After`` (a balancer or a checkout tries again), the second 500."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import DBAPIError

# The server went away or refuses connections for now: a crash, a shutdown, a restart or a
# failover in progress (a standby that does not take writes yet), a broken connection, or one
# that stays silent.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, broken pipe
    # No answer within the connect or statement timeout (asyncpg's ``timeout`` and
    # ``command_timeout``, Settings.database_*_timeout_seconds): a silent or black-holed line.
    # A statement the server itself cancelled (statement_timeout, 57014) is not this: a 500.
    TimeoutError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.CannotConnectNowError,  # 57P03: starting up, shutting down, in recovery
    asyncpg.AdminShutdownError,  # 57P01
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TargetServerAttributeNotMatched,  # no host of the URL takes writes (yet)
)


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error``, or an exception it was raised from, says the database cannot be
    reached (rather than that a statement failed)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False
