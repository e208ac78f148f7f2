"""A PostgreSQL 15 primary with a streaming hot standby and synchronous commit, in a temporary
directory on free loopback ports, made with the server's own ``initdb`` and ``pg_basebackup``
(the setup of docs/operations.md, "A standby that takes over"). PostgreSQL refuses to run as
root: as root every command runs as the ``postgres`` user through ``runuser``.

Both clusters are stopped and their directory removed at the end, whatever happened."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from tests.fixtures.processes import free_port

BIN = Path(os.environ.get("VOUCHERD_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
STANDBY_NAME = "standby"


def needs_postgres_server() -> None:
    missing = [name for name in PROGRAMS if not (BIN / name).exists()]
    if missing:
        pytest.skip(f"the failover test needs PostgreSQL 15's server programs in {BIN} (missing: {missing})")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("as root, the failover test runs PostgreSQL as the postgres user, which is missing")
        if not shutil.which("runuser"):
            pytest.skip("as root, the failover test needs runuser to run PostgreSQL as postgres")


def _as_owner(command: Sequence[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return list(command)


def _run(*command: str | Path) -> None:
    result = subprocess.run(
        _as_owner([str(part) for part in command]), capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"


@dataclass
class Node:
    name: str
    directory: Path
    port: int

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        _run(
            BIN / "pg_ctl",
            "-D",
            self.directory,
            "-l",
            self.directory.parent / f"{self.name}.log",
            "-w",
            "-t",
            "60",
            "start",
        )

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.directory / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def kill(self) -> None:
        """As if its machine died: the postmaster stopped where it stands (so that it forks
        nothing more), then it and every process it started SIGKILLed. No shutdown checkpoint,
        no goodbye to the standby or the clients."""
        pid = self.postmaster_pid()
        assert pid is not None, f"{self.name} is not running"
        os.kill(pid, signal.SIGSTOP)
        children = [child for child in _all_pids() if _parent(child) == pid]
        for target in (pid, *children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, signal.SIGKILL)

    def promote(self) -> None:
        _run(BIN / "pg_ctl", "-D", self.directory, "-w", "-t", "60", "promote")

    def stop(self) -> None:
        if (self.directory / "postmaster.pid").exists():
            subprocess.run(
                _as_owner([str(BIN / "pg_ctl"), "-D", str(self.directory), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                timeout=60,
                check=False,
            )
        pid = self.postmaster_pid()
        if pid is not None and _parent(pid) is not None:  # pg_ctl could not stop it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


@dataclass
class Pair:
    primary: Node
    standby: Node

    def url(self, database: str) -> str:
        """voucherd's multi-host URL: both hosts, whichever accepts writes."""
        return (
            f"postgresql+asyncpg://postgres@/{database}?host=127.0.0.1:{self.primary.port}"
            f"&host=127.0.0.1:{self.standby.port}&target_session_attrs=read-write"
        )


PRIMARY_SETTINGS = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
max_connections = 60
shared_buffers = 32MB
wal_level = replica
max_wal_senders = 4
# A commit returns only once the standby has its WAL on disk: what was acknowledged survives
# the primary's machine.
synchronous_standby_names = '{standby}'
synchronous_commit = on
"""

STANDBY_SETTINGS = """
port = {port}
primary_conninfo = 'host=127.0.0.1 port={primary_port} user=postgres application_name={standby}'
hot_standby = on
# Once promoted it has no standby of its own until the old primary is rebuilt as one: it must
# not wait for one.
synchronous_standby_names = ''
"""


async def _wait_for_sync_standby(node: Node, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    connection = await asyncpg.connect(node.dsn())
    try:
        while True:
            state = await connection.fetchval(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = $1", STANDBY_NAME
            )
            if state == "sync":
                return
            assert time.monotonic() < deadline, f"the standby is not synchronous: {state}"
            await asyncio.sleep(0.1)
    finally:
        await connection.close()


@contextmanager
def postgres_pair() -> Iterator[Pair]:
    base = Path(tempfile.mkdtemp(prefix="voucherd-failover-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
    primary = Node("primary", base / "primary", free_port())
    standby = Node("standby", base / "standby", free_port())
    try:
        _run(
            BIN / "initdb",
            "-D",
            primary.directory,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        with (primary.directory / "postgresql.conf").open("a") as conf:
            conf.write(PRIMARY_SETTINGS.format(port=primary.port, sockets=base, standby=STANDBY_NAME))
        primary.start()
        _run(
            BIN / "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            standby.directory,
            "-X",
            "stream",
            "-R",
            "--no-sync",
        )
        with (standby.directory / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                STANDBY_SETTINGS.format(port=standby.port, primary_port=primary.port, standby=STANDBY_NAME)
            )
        standby.start()
        asyncio.run(_wait_for_sync_standby(primary))
        yield Pair(primary, standby)
    finally:
        for node in (standby, primary):
            node.stop()
        shutil.rmtree(base, ignore_errors=True)
