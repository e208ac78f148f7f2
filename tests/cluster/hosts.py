"""Hosts for the scale-out test: each a network namespace of its own, joined to the root namespace
by a veth pair on a bridge, when this machine allows it (root and ``ip netns add`` working);
otherwise every host is this machine's loopback.

In the namespace layout each host has an address on a private /24 (10.213.N.0/24, N taken from
the test's pid and moved on past any network this machine already routes) and the bridge has
``.1``: the root namespace's services (the balancer, the webhook receiver, the TCP proxy to
PostgreSQL and Redis) listen there. Names carry the pid (``vdt<pid>-<host>``, ``vdt<pid>-br``) so
that two runs never share one, and a run first removes what a killed earlier run left (the
namespaces and links of a pid that no longer runs, and any process still inside them).

``VOUCHERD_TEST_NO_NETNS=1`` forces the loopback layout (read at import: the autouse settings
fixture clears ``VOUCHERD_*`` during each test)."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from types import FrameType

FORCED_LOOPBACK = os.environ.get("VOUCHERD_TEST_NO_NETNS", "") not in ("", "0")
PREFIX = "vdt"
LEFTOVER = re.compile(rf"^{PREFIX}(\d+)-")
LINK_NAME_MAX = 15  # IFNAMSIZ - 1


@dataclass
class Layout:
    """Where each host is and how to run a command on it."""

    name: str  # "network namespaces" or "loopback"
    gateway: str  # the root namespace's address that every host reaches
    subnet: str  # what the hosts' addresses are in (for VOUCHERD_WEBHOOK_ALLOWED_CIDRS)
    addresses: dict[str, str] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)

    @property
    def isolated(self) -> bool:
        return bool(self.namespaces)

    def address(self, host: str) -> str:
        return self.addresses.get(host, self.gateway)

    def command(self, host: str, command: Sequence[str]) -> list[str]:
        """``command`` run on ``host``: inside its namespace, or as it is on loopback."""
        if host in self.namespaces:
            return ["ip", "netns", "exec", self.namespaces[host], *command]
        return list(command)


def ip(*arguments: str, check: bool = True) -> str:
    done = subprocess.run(["ip", *arguments], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, ["ip", *arguments], done.stdout, done.stderr)
    return done.stdout


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a name of ours left by an earlier run that had our pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_inside(namespace: str) -> None:
    for pid in ip("netns", "pids", namespace, check=False).split():
        with suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


def remove_leftovers() -> None:
    """The namespaces and links of earlier runs whose pytest no longer runs (it was killed)."""
    for line in ip("netns", "list", check=False).splitlines():
        namespace = line.split(" ")[0]
        found = LEFTOVER.match(namespace)
        if found and not _running(int(found.group(1))):
            _kill_inside(namespace)
            ip("netns", "delete", namespace, check=False)
    for line in ip("-o", "link", "show", check=False).splitlines():
        link = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        found = LEFTOVER.match(link)
        if found and not _running(int(found.group(1))):
            ip("link", "delete", link, check=False)


@cache
def namespaces_unavailable() -> str | None:
    """Why this machine cannot give each host a namespace (None when it can). Asked once."""
    if FORCED_LOOPBACK:
        return "VOUCHERD_TEST_NO_NETNS is set"
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "network namespaces need root on Linux"
    if shutil.which("ip") is None:
        return "no ip command (iproute2)"
    remove_leftovers()
    probe = f"{PREFIX}{os.getpid()}-probe"
    try:
        ip("netns", "add", probe)
    except subprocess.CalledProcessError as error:
        return f"ip netns add failed: {error.stderr.strip()}"
    ip("netns", "delete", probe, check=False)
    return None


def _free_subnet() -> ipaddress.IPv4Network:
    taken = []
    for line in ip("-o", "-4", "route", "show", "table", "all", check=False).splitlines():
        destination = line.split(" ")[0]
        if destination != "default" and re.match(r"^\d+\.\d+\.\d+\.\d+(/\d+)?$", destination):
            taken.append(ipaddress.ip_network(destination, strict=False))
    for step in range(256):
        subnet = ipaddress.IPv4Network(f"10.213.{(os.getpid() + step) % 256}.0/24")
        if not any(subnet.overlaps(other) for other in taken):
            return subnet
    raise RuntimeError("every 10.213.N.0/24 is routed already")


def _stop_on_sigterm() -> object:
    """A SIGTERM (a CI job cancelled) ends the test with an exception, so teardown still runs."""

    def stop(_number: int, _frame: FrameType | None) -> None:
        raise SystemExit("SIGTERM")

    try:
        return signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread
        return None


@contextmanager
def hosts(names: Sequence[str]) -> Iterator[Layout]:
    """A host for each of ``names`` (short: they are in link names), torn down at the end."""
    why_not = namespaces_unavailable()
    if why_not is not None:
        print(f"scale-out layout: loopback ports ({why_not})")
        yield Layout("loopback", "127.0.0.1", "127.0.0.0/8")
        return
    run = f"{PREFIX}{os.getpid()}"
    bridge = f"{run}-br"
    subnet = _free_subnet()
    gateway, *addresses = (str(address) for address in subnet.hosts())
    layout = Layout("network namespaces", gateway, str(subnet))
    previous = _stop_on_sigterm()
    try:
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{gateway}/{subnet.prefixlen}", "dev", bridge)
        ip("link", "set", bridge, "up")
        for host, address in zip(names, addresses[9:], strict=False):
            namespace = f"{run}-{host}"
            assert len(namespace) <= LINK_NAME_MAX, f"host name {host!r} is too long for a link name"
            ip("netns", "add", namespace)
            layout.namespaces[host] = namespace
            ip("link", "add", namespace, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            ip("link", "set", namespace, "master", bridge, "up")
            ip("-n", namespace, "addr", "add", f"{address}/{subnet.prefixlen}", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")
            ip("-n", namespace, "route", "add", "default", "via", gateway)
            layout.addresses[host] = address
        print(f"scale-out layout: network namespaces on {subnet} ({', '.join(layout.namespaces.values())})")
        yield layout
    finally:
        for namespace in layout.namespaces.values():
            _kill_inside(namespace)
            ip("link", "delete", namespace, check=False)
            ip("netns", "delete", namespace, check=False)
        ip("link", "delete", bridge, check=False)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]
