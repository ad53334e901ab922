"""What the benchmarks that train a child process under an address-space cap share.

``bench/streaming.py`` (an image folder) and ``bench/parquet_stream.py`` (a Parquet table) each
start a child that imports everything, caps its own address space with ``RLIMIT_AS`` a set
number of bytes above its size, then prepares, trains and predicts, and reports one JSON line.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

__all__ = ["status", "cap_above_now", "memory_error", "add_child_options", "run_parts"]


def status(key: str) -> int:
    """A byte count of ``/proc/self/status`` (``VmRSS``, ``VmSize``, ...)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(key)


def cap_above_now(limit: int) -> None:
    """Let this process's address space grow by at most ``limit`` bytes from here."""
    resource.setrlimit(resource.RLIMIT_AS, (status("VmSize") + limit, resource.RLIM_INFINITY))


def memory_error(failure: MemoryError) -> str:
    """One line: the error and the file and line that raised it."""
    where = traceback.extract_tb(failure.__traceback__)[-1]
    return f"MemoryError {failure} at {Path(where.filename).name}:{where.lineno}"


def add_child_options(parser: argparse.ArgumentParser) -> None:
    """``--json`` and the hidden options a script passes to its own capped child."""
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-stream", help=argparse.SUPPRESS)
    parser.add_argument("--child-limit", type=int, help=argparse.SUPPRESS)


def run_parts(args: argparse.Namespace, parts: dict[str, Callable], child: Callable) -> None:
    """Be the child when ``--child`` says so; else run ``--part`` (or all) in a temp folder
    and write what they return to ``--json``."""
    if args.child:
        child(args.child, args.child_stream, args.child_limit)
        return
    chosen = list(parts) if args.part == "all" else [args.part]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            out[name] = parts[name](args, Path(tmp))
    if args.json:
        from honed.io import atomic_write_json

        atomic_write_json(args.json, out)
