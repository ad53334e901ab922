"""Simulated hosts for the many-host tests and ``bench/hosts_throughput.py``.

Each host is a Linux network namespace with a veth pair to this machine (a /30 of its own in
198.18.0.0/15, the range set aside for benchmarks) and a host name of its own (a UTS
namespace per process), so a process in it reaches this machine only over the veth pair, as
a worker on another machine reaches the database over the network. Nothing else is shared
out: the file system and the process ids stay common, which is what lets a test kill a
host's worker by the pid the study recorded.

Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN), ``ip`` (iproute2) and ``unshare``
(util-linux); :func:`unavailable` says why not when they are missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Sequence

__all__ = ["SimulatedHosts", "unavailable"]


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check,
                          timeout=30, stdin=subprocess.DEVNULL)


def unavailable() -> str | None:
    """Why network namespaces cannot be made here, or None when they can."""
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = f"honed-probe-{uuid.uuid4().hex[:8]}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace ({made.stderr.strip() or 'not root?'})"
    try:
        named = subprocess.run(["ip", "netns", "exec", probe, "unshare", "--uts", "hostname",
                                "probe"], capture_output=True, text=True, timeout=30)
        if named.returncode != 0:
            return f"cannot give a namespace its own host name ({named.stderr.strip()})"
    finally:
        _ip("netns", "del", probe, check=False)
    return None


class SimulatedHosts:
    """``count`` hosts ``node0 .. node{count-1}``; a context manager that removes them all.

    ``gateway(k)`` is this machine's address as host k reaches it (a server for the hosts
    listens on every gateway); ``subnet`` covers all of them (for a server's access rules).
    """

    def __init__(self, count: int):
        self.count = count
        self.tag = f"{os.getpid() % 250}{uuid.uuid4().hex[:3]}"  # apart from other runs
        self.octet = os.getpid() % 250
        self.subnet = f"198.18.{self.octet}.0/24"
        self.made: list[int] = []

    def namespace(self, k: int) -> str:
        return f"honed-{self.tag}-{k}"

    def _link(self, k: int) -> str:
        return f"hv{self.tag}{k}"[:15]  # interface names have at most 15 characters

    def gateway(self, k: int) -> str:
        return f"198.18.{self.octet}.{4 * k + 1}"

    def address(self, k: int) -> str:
        return f"198.18.{self.octet}.{4 * k + 2}"

    @property
    def gateways(self) -> list[str]:
        return [self.gateway(k) for k in range(self.count)]

    def create(self) -> SimulatedHosts:
        if self.count > 60:
            raise ValueError("at most 60 simulated hosts fit in one /24")
        try:
            for k in range(self.count):
                self._make(k)
        except BaseException:
            self.remove()
            raise
        return self

    def _make(self, k: int) -> None:
        ns, host_end, peer = self.namespace(k), self._link(k), f"{self._link(k)}p"[:15]
        _ip("netns", "add", ns)
        self.made.append(k)
        _ip("link", "add", host_end, "type", "veth", "peer", "name", peer)
        _ip("link", "set", peer, "netns", ns)
        _ip("addr", "add", f"{self.gateway(k)}/30", "dev", host_end)
        _ip("link", "set", host_end, "up")
        inside = ("netns", "exec", ns, "ip")
        _ip(*inside, "link", "set", "lo", "up")
        _ip(*inside, "addr", "add", f"{self.address(k)}/30", "dev", peer)
        _ip(*inside, "link", "set", peer, "up")

    def command(self, k: int, argv: Sequence[str]) -> list[str]:
        """``argv`` run on host k: in its namespace, under its own host name ``node{k}``.

        Every step replaces the process (``exec``), so the pid of the process started with
        this command is the pid of ``argv`` itself.
        """
        return ["ip", "netns", "exec", self.namespace(k), "unshare", "--uts", "sh", "-c",
                'hostname "$0" && exec "$@"', f"node{k}", *argv]

    def remove(self) -> None:
        """Delete the namespaces (their veth pairs go with them)."""
        for k in self.made:
            _ip("netns", "del", self.namespace(k), check=False)
            _ip("link", "del", self._link(k), check=False)  # gone already, unless half made
        self.made = []

    def __enter__(self) -> SimulatedHosts:
        return self.create()

    def __exit__(self, *exc) -> None:
        self.remove()
