"""Running Alembic from code (``voucherd migrate``, tests, ``make run``)."""

from __future__ import annotations

import asyncio
import functools
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError


def migrations_dir() -> Path:
    configured = os.environ.get("VOUCHERD_MIGRATIONS_DIR")
    if configured:
        return Path(configured)
    # src/voucherd/db/migrate.py -> repository root / migrations
    return Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, database_url, revision)


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(""))


def head_revision() -> str | None:
    """The newest migration this code knows."""
    return _scripts().get_current_head()


def behind(current: str | None) -> bool:
    """Whether a database at ``current`` lacks migrations this code needs. A revision this code
    does not know is a newer release's (migrations only add what older code ignores), so a server
    of the previous release stays ready while the next one rolls out."""
    if current == head_revision():
        return False
    if current is None:
        return True
    try:
        return _scripts().get_revision(current) is not None
    except CommandError:
        return False
