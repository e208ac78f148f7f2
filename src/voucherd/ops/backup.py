"""SQLite backups with the online backup API, safe while servers and workers write.

The copy is taken in one step, so inside one read transaction: in WAL mode readers never block
writers, so the servers go on committing while it runs, and the copy is the database as it was
at one commit (a backup made in several steps restarts whenever another connection writes, and
under steady traffic might never finish). The copy is written beside its target and renamed into
place when complete, in rollback-journal mode, so that it is one self-contained file."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from voucherd.core.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class Copied:
    path: Path
    size: int  # bytes
    revision: str | None  # the schema's migration


def sqlite_path(database_url: str) -> Path:
    """The file of a SQLite URL; a PostgreSQL URL is refused (pg_dump and pg_restore back it up)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise InvalidInput(
            "voucherd backup and restore are for SQLite; back PostgreSQL up with pg_dump "
            "(or its base backups and WAL archiving), as docs/operations.md describes.",
            field="database_url",
        )
    if not url.database or url.database == ":memory:":
        raise InvalidInput("The SQLite database must be a file.", field="database_url")
    return Path(url.database)


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return None if row is None else str(row[0])


def _check(connection: sqlite3.Connection, what: str) -> None:
    result = connection.execute("PRAGMA quick_check").fetchone()
    if result is None or result[0] != "ok":
        raise InvalidInput(f"{what} is damaged: {result[0] if result else 'no answer'}.", field="path")


def backup(database_url: str, target: Path) -> Copied:
    """Copy the live database to ``target`` (replaced when it exists) and check the copy."""
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise InvalidInput(f"There is no database at {source_path}.", field="database_url")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, timeout=5)
    try:
        destination = sqlite3.connect(partial)
        try:
            source.backup(destination)  # pages=-1: every page in one step (one read transaction)
            destination.execute("PRAGMA journal_mode=DELETE")
            _check(destination, "The copy")
            revision = _revision(destination)
        finally:
            destination.close()
    finally:
        source.close()
    os.replace(partial, target)
    return Copied(path=target, size=target.stat().st_size, revision=revision)


def _has_rows(connection: sqlite3.Connection) -> bool:
    tables = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name <> 'alembic_version'"
        )
    ]
    return any(connection.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone() for name in tables)  # noqa: S608 - names from sqlite_master


def restore(database_url: str, source: Path, *, force: bool = False) -> Copied:
    """Put the backup ``source`` in place of the database. A database holding any row is kept
    unless ``force``: a restore over live data loses everything written since the backup. Stop
    the servers and workers first; run ``voucherd migrate`` after when the backup is older."""
    target_path = sqlite_path(database_url)
    if not source.is_file():
        raise InvalidInput(f"There is no backup at {source}.", field="path")
    backup_file = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        try:
            _check(backup_file, f"{source}")
        except sqlite3.DatabaseError as error:
            raise InvalidInput(f"{source} is not a SQLite database ({error}).", field="path") from error
        revision = _revision(backup_file)
        if revision is None:
            raise InvalidInput(f"{source} is not a voucherd database (no schema revision).", field="path")
        target = sqlite3.connect(target_path, timeout=5)
        try:
            if _has_rows(target) and not force:
                raise Conflict(
                    f"{target_path} already holds data; restoring would replace all of it. "
                    "Stop the servers and workers, then run again with --force."
                )
            # Through SQLite, not a file copy: the live file's WAL and locks stay coherent.
            backup_file.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
        finally:
            target.close()
    finally:
        backup_file.close()
    return Copied(path=target_path, size=target_path.stat().st_size, revision=revision)
