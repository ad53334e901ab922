"""Control-group limits: a CPU quota and a memory limit read in both cgroup versions, and a real
process moved into a limited group sees them through honed's core and memory counts."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from honed.cgroups import cpu_quota, memory_room

ROOT = Path("/sys/fs/cgroup")


def tree(tmp_path: Path, files: dict[str, str], membership: str) -> tuple[Path, Path]:
    """A fake cgroup mount under tmp_path: ``files`` by relative path, and /proc/self/cgroup."""
    for name, text in files.items():
        path = tmp_path / "fs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "cgroup").write_text(membership)
    return tmp_path / "fs", tmp_path / "cgroup"


@pytest.mark.parametrize("cpu_max, expected", [
    ("150000 100000", 1.5), ("200000 100000", 2.0), ("max 100000", None), ("junk", None)])
def test_a_v2_quota_in_a_container_of_its_own(tmp_path, cpu_max, expected):
    root, membership = tree(tmp_path, {"cgroup.procs": "", "cpu.max": cpu_max,
                                       "memory.max": "max", "memory.current": "5"}, "0::/\n")
    assert cpu_quota(root, membership) == expected
    assert memory_room(root, membership) is None  # "max": no memory limit


def test_a_v2_limit_on_a_parent_binds_its_children(tmp_path):
    root, membership = tree(tmp_path, {
        "cgroup.procs": "", "cpu.stat": "",
        "kube/cgroup.procs": "", "kube/cpu.max": "300000 100000",
        "kube/memory.max": str(8 << 30), "kube/memory.current": str(1 << 30),
        "kube/pod/cgroup.procs": "", "kube/pod/cpu.max": "max 100000",
        "kube/pod/memory.max": str(4 << 30), "kube/pod/memory.current": str(3 << 30),
    }, "0::/kube/pod\n")
    assert cpu_quota(root, membership) == 3.0
    assert memory_room(root, membership) == 1 << 30  # the pod's 4 GiB less its 3 in use


def test_v1_controllers_mounted_apart(tmp_path):
    root, membership = tree(tmp_path, {
        "cpu,cpuacct/cgroup.procs": "", "cpu,cpuacct/cpu.cfs_quota_us": "-1",
        "cpu,cpuacct/cpu.cfs_period_us": "100000",
        "cpu,cpuacct/docker/abc/cgroup.procs": "",
        "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000",
        "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000",
        "memory/cgroup.procs": "", "memory/memory.limit_in_bytes": "9223372036854771712",
        "memory/memory.usage_in_bytes": "1",
        "memory/docker/abc/cgroup.procs": "",
        "memory/docker/abc/memory.limit_in_bytes": str(512 << 20),
        "memory/docker/abc/memory.usage_in_bytes": str(100 << 20),
    }, "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/\n0::/\n")
    assert cpu_quota(root, membership) == 0.5
    assert memory_room(root, membership) == 412 << 20


def test_nothing_to_read_is_no_limit(tmp_path):
    root, membership = tree(tmp_path, {"unrelated": ""}, "")
    assert cpu_quota(root, membership) is None and memory_room(root, membership) is None
    assert cpu_quota(tmp_path / "absent", tmp_path / "absent") is None


REPORT = ("from honed.cpu import usable_cores; from honed.data.streaming import memory_budget; "
          "import sys; sys.stdin.readline(); print(usable_cores(), memory_budget())")


def _v1_group(controller: str) -> Path:
    mount = ROOT / controller
    if not (mount / "cgroup.procs").exists() or not os.access(mount, os.W_OK):
        pytest.skip(f"no writable cgroup v1 '{controller}' controller at {mount}")
    group = mount / f"honed-test-{uuid.uuid4().hex[:8]}"
    try:
        group.mkdir()
    except OSError as error:  # a read-only cgroup file system in a container
        pytest.skip(f"cannot make a cgroup under {mount}: {error}")
    return group


def _limit(group: Path, files: dict[str, str]) -> None:
    try:
        for name, value in files.items():
            (group / name).write_text(value)
    except OSError as error:  # e.g. a parent's quota below this one (v1 refuses it)
        pytest.skip(f"cannot set {name} in {group}: {error}")


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores to see a quota of 1")
def test_a_process_in_a_limited_group_counts_what_the_group_allows():
    groups, child = [], None
    try:
        groups.append(_v1_group("cpu"))
        _limit(groups[0], {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "100000"})
        groups.append(_v1_group("memory"))
        _limit(groups[1], {"memory.limit_in_bytes": str(768 << 20)})
        child = subprocess.Popen([sys.executable, "-c", REPORT], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        for group in groups:  # moved before it reads (it waits for a line)
            (group / "cgroup.procs").write_text(str(child.pid))
        out, _ = child.communicate("go\n")
        assert child.returncode == 0
        cores, budget = (int(value) for value in out.split())
        assert cores == 1  # one CPU's worth of quota on a machine of 2 or more
        assert 0 < budget <= 768 << 20
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
        for group in groups:
            group.rmdir()  # empty once the child has exited
