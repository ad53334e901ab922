"""What the benchmarks that train a child process under an address-space cap share.

``bench/streaming.py`` (an image folder) and ``bench/parquet_stream.py`` (a Parquet table) each
start a child that imports everything, caps its own address space with ``RLIMIT_AS`` a set
number of bytes above its size, then prepares, trains and predicts, and reports one JSON line.
"""

from __future__ import annotations

import resource
import traceback
from pathlib import Path

__all__ = ["status", "cap_above_now", "memory_error"]


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
