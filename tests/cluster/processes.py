"""Real processes for the cluster tests: voucherd servers and workers, HAProxy in front of them
(and in TCP mode before PostgreSQL and Redis, for hosts in network namespaces), a fresh
PostgreSQL database, each stopped (or killed) by the test that started it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL, _admin
from tests.fixtures.processes import free_port
from voucherd.db.migrate import upgrade

REPOSITORY = Path(__file__).resolve().parents[2]
HAPROXY = os.environ.get("VOUCHERD_TEST_HAPROXY", "/usr/sbin/haproxy")


def needs_haproxy() -> None:
    if not (Path(HAPROXY).exists() or shutil.which("haproxy")):
        pytest.skip(
            f"the scale-out test needs Debian's haproxy at {HAPROXY} (make setup installs it as root)"
        )


def haproxy_binary() -> str:
    return HAPROXY if Path(HAPROXY).exists() else str(shutil.which("haproxy"))


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A new, migrated database on the test PostgreSQL, dropped at the end."""
    if not POSTGRES_URL:
        pytest.skip("needs VOUCHERD_TEST_POSTGRES_URL (CI sets it)")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# Each process is SIGKILLed by the kernel if pytest dies without its teardown (SIGKILLed itself):
# util-linux's setpriv sets the parent-death signal, then execs the command (same pid).
SETPRIV = shutil.which("setpriv")
DIE_WITH_PYTEST = [SETPRIV, "--pdeathsig", "KILL", "--"] if SETPRIV else []


class Processes:
    """Processes started by one test, each with its output in a log file; all stopped at the end
    (SIGTERM, then SIGKILL after 15 s), and the logs' tails printed for a failing test. Start
    them from the test's own thread: the parent-death signal follows the thread that started them."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, command: Sequence[str], env: dict[str, str], *, stdin: bool = False
    ) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [*DIE_WITH_PYTEST, *command],
            env=env,
            cwd=REPOSITORY,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdin else log,
            stderr=log,
        )
        log.close()
        self.started.append((name, process))
        return process

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in reversed(self.started):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)

    def tails(self, lines: int = 15) -> str:
        parts = []
        for name, _ in self.started:
            text = (self.logs / f"{name}.log").read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {name}\n" + "\n".join(text))
        return "\n".join(parts)


@contextmanager
def processes(logs: Path) -> Iterator[Processes]:
    started = Processes(logs)
    try:
        yield started
    except BaseException:
        print(started.tails(), file=sys.stderr)
        raise
    finally:
        started.stop_all()


def haproxy_config(bind: str, port: int, servers: Sequence[tuple[str, str, int]]) -> str:
    """The balancer of docs/operations.md ("Behind a balancer"): round robin, /readyz checks,
    a request whose connection was refused retried on the other server (it was never sent), and
    the answering server named in ``X-Server`` so that tests can see who answered."""
    lines = "\n".join(
        f"    server {name} {address}:{server_port} check inter 300ms fall 2 rise 2"
        for name, address, server_port in servers
    )
    return f"""global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check 2s
    retries 3
    option redispatch 1
    retry-on conn-failure
    option forwardfor

frontend voucherd
    bind {bind}:{port}
    default_backend servers

backend servers
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    http-response set-header X-Server %s
{lines}
"""


def start_haproxy(started: Processes, directory: Path, name: str, config: str) -> subprocess.Popen[bytes]:
    path = directory / f"{name}.cfg"
    path.write_text(config)
    check = subprocess.run([haproxy_binary(), "-c", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    return started.start(name, [haproxy_binary(), "-db", "-f", str(path)], dict(os.environ))


def start_balancer(
    started: Processes, directory: Path, servers: Sequence[tuple[str, str, int]], bind: str = "127.0.0.1"
) -> int:
    """HAProxy listening on ``bind`` in front of ``servers`` (name, address, port); its port, once
    it has sent a request to each of them."""
    port = free_port(bind)
    balancer = start_haproxy(started, directory, "haproxy", haproxy_config(bind, port, servers))
    for name, _, _ in servers:
        wait_for_server_up(f"http://{bind}:{port}", balancer, name)
    return port


def start_tcp_proxy(
    started: Processes, directory: Path, bind: str, targets: dict[str, tuple[str, int]]
) -> dict[str, int]:
    """Debian's HAProxy in TCP mode on ``bind``, one port per target (name: address, port), for
    hosts in network namespaces to reach PostgreSQL and Redis, which listen on the root
    namespace's loopback only. The port of each target; listening once this returns."""
    ports = {name: free_port(bind) for name in targets}
    sections = "".join(
        f"""
listen {name}
    bind {bind}:{ports[name]}
    server {name} {address}:{port}
"""
        for name, (address, port) in targets.items()
    )
    config = f"""global
    maxconn 4096

defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h
{sections}"""
    proxy = start_haproxy(started, directory, "tcp-proxy", config)
    for name in targets:
        wait_for_port(bind, ports[name], proxy)
    return ports


def wait_for_port(host: str, port: int, process: subprocess.Popen[bytes]) -> None:
    """Until something accepts connections on ``host:port`` (a hang guard)."""
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"the process behind {host}:{port} exited {process.returncode}"
        try:
            socket.create_connection((host, port), timeout=2).close()
            return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"nothing listens on {host}:{port}"
        time.sleep(0.05)


def wait_for_server_up(base: str, balancer: subprocess.Popen[bytes], name: str) -> None:
    """Until the balancer has sent a request to ``name`` (its health check passed)."""
    deadline = time.monotonic() + 60
    while True:
        assert balancer.poll() is None, f"haproxy exited {balancer.returncode}"
        try:
            if httpx.get(f"{base}/healthz", timeout=2).headers.get("x-server") == name:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"haproxy never sent a request to {name}"
        time.sleep(0.05)
