"""Core statements compiled once for asyncpg, for the checkout's connections straight from the
driver (``Database.driver``): the statement is written once, in SQLAlchemy Core, and the same
object runs through a session wherever the checkout has one.

Compiling costs about as much as the lookup it compiles (SQLAlchemy's own cache is per engine
and keyed per call), so a :class:`DriverStatement` is made once, when its module is imported.
Values pass to asyncpg as they are: the statements take only types asyncpg binds natively
(UUIDs, text, integers, aware datetimes; JSON as text with a cast in the statement)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_DIALECT = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class DriverStatement:
    sql: str
    names: tuple[str, ...]  # the bound parameter of each ``$n``, in order
    fixed: Mapping[str, Any]  # values the statement itself carries (literals SQLAlchemy binds)

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for ``values`` (by parameter name)."""
        return [values[name] if name in values else self.fixed[name] for name in self.names]


def for_driver(statement: ClauseElement) -> DriverStatement:
    compiled = statement.compile(dialect=_DIALECT)
    assert isinstance(compiled, SQLCompiler)
    assert compiled.positiontup is not None
    return DriverStatement(
        sql=compiled.string,
        names=tuple(compiled.positiontup),
        fixed={k: v for k, v in compiled.params.items() if v is not None},
    )
