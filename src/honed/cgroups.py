"""What this process's control groups allow it: a CPU quota and a memory limit.

Containers limit a process by control groups, not by what ``os.cpu_count()`` or
``MemAvailable`` report: Kubernetes' ``resources.limits.cpu`` is a CFS quota (the container
still sees every core of the host, and a process that starts one thread per core is
throttled), and a memory limit kills the container long before the host runs short. Both
cgroup versions are read, v2 (``cpu.max``, ``memory.max``) and v1 (``cpu.cfs_quota_us``,
``memory.limit_in_bytes``), at the process's own group and every group above it (a limit set
on a parent binds its children), as ``/proc/self/cgroup`` names them. Where nothing can be
read (not Linux, no cgroup file system) the answer is "no limit": the callers fall back to
what they measured before.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["cpu_quota", "memory_room", "ROOT"]

#: where the cgroup file systems are mounted
ROOT = Path("/sys/fs/cgroup")
#: v1 writes "no limit" as the largest page-aligned signed 64-bit number
_V1_UNLIMITED = 1 << 60


def cpu_quota(root: Path = ROOT, membership: Path = Path("/proc/self/cgroup")) -> float | None:
    """CPUs' worth of time the process may use (``1.5``: one and a half), or None (no quota).

    Example:
        >>> cpu_quota()  # in a container run with --cpus 2 (a pod with limits.cpu: 2)
        2.0
    """
    limits = []
    for folder in _levels(root, membership, "cpu", ("cpu", "cpu,cpuacct")):
        if (folder / "cpu.max").exists():  # v2: "QUOTA PERIOD", QUOTA "max" for none
            quota, _, period = _read(folder / "cpu.max").partition(" ")
            if quota.isdigit() and period.strip().isdigit() and int(period) > 0:
                limits.append(int(quota) / int(period))
        else:  # v1: a quota of -1 is none
            quota, period = _number(folder / "cpu.cfs_quota_us"), _number(
                folder / "cpu.cfs_period_us")
            if quota is not None and quota > 0 and period:
                limits.append(quota / period)
    return min(limits) if limits else None


def memory_room(root: Path = ROOT, membership: Path = Path("/proc/self/cgroup")) -> int | None:
    """Bytes the process's groups can still take (the least of limit less use), or None."""
    rooms = []
    for folder in _levels(root, membership, "memory", ("memory",)):
        v2 = (folder / "memory.max").exists()
        limit = _number(folder / ("memory.max" if v2 else "memory.limit_in_bytes"))
        used = _number(folder / ("memory.current" if v2 else "memory.usage_in_bytes"))
        if limit is not None and used is not None and limit < _V1_UNLIMITED:
            rooms.append(max(limit - used, 0))
    return min(rooms) if rooms else None


def _levels(root: Path, membership: Path, controller: str, v1_mounts: tuple[str, ...]
            ) -> list[Path]:
    """The folders of the process's group for ``controller`` and of every group above it.

    v1 mounts each controller apart (``ROOT/cpu``, or ``ROOT/cpu,cpuacct``) and names the
    process's group on a line ``N:cpu,cpuacct:/path``; v2 has one tree (``ROOT``, or
    ``ROOT/unified`` beside v1 mounts) and a line ``0::/path``. Inside a container with its
    own cgroup namespace the path is ``/`` and the mount is the container's own group.
    """
    paths: dict[str, str] = {}
    for line in _read(membership).splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    trees = []
    if controller in paths:
        trees += [(root / mount, paths[controller]) for mount in v1_mounts]
    if "" in paths:
        trees += [(root, paths[""]), (root / "unified", paths[""])]
    for mount, path in trees:
        if not (mount / "cgroup.procs").exists():
            continue
        parts = [part for part in path.strip().strip("/").split("/") if part]
        folders = [mount.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]
        found = [folder for folder in folders if folder.is_dir()]
        if any(_holds(folder, controller) for folder in found):
            return found
    return []


def _holds(folder: Path, controller: str) -> bool:
    """Whether ``folder`` carries the controller's files (v2 lists them only where enabled)."""
    return any(folder.glob(f"{controller}.*"))


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:  # gone, unreadable, or not a cgroup file system at all
        return ""


def _number(path: Path) -> int | None:
    text = _read(path)
    return int(text) if text.lstrip("-").isdigit() else None
