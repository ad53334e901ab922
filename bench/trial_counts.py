"""Count a search's SQL commits and Python fsyncs, by where they come from (trial_overhead --count).

:class:`Counts` listens to every SQLAlchemy engine's ``commit`` event and wraps ``os.fsync`` in
this process only; it counts from the study's first new trial on (the run's setup is left
out). Each commit is filed under the Optuna storage method that committed and the first caller
outside the storage (a honed function, or Optuna's own trial loop); each is a *write* commit
when its transaction ran an INSERT, UPDATE or DELETE (in write-ahead-log mode with
``synchronous=FULL`` each of those is one fsync of ``study.db-wal``, done inside SQLite's C code
and so not seen by the ``os.fsync`` wrapper), else a read. Each fsync is filed under the file
it synced (``trials/NNNN/`` folded into ``trial/``, a temp file under the name it becomes) and
the honed function that asked for it.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections import Counter
from pathlib import Path

__all__ = ["Counts"]

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
_TEMP = re.compile(r"^\.(?P<target>.+?)\.\d+\.[a-z0-9_]{8}\.tmp$")
_STORAGE = os.sep + os.path.join("optuna", "storages") + os.sep
_HONED = os.sep + "honed" + os.sep


class Counts:
    """SQL commits and fsyncs of this process, by origin; :meth:`start` once, then read."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self._begun = False  # counting starts at the study's first new trial
        self.commits: Counter[tuple[str, str, str]] = Counter()  # (kind, method, caller)
        self.fsyncs: Counter[tuple[str, str]] = Counter()  # (file, caller)
        self._lock = threading.Lock()

    def start(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._on_execute)
        event.listen(Engine, "commit", self._on_commit)
        real = os.fsync

        def fsync(fd):
            self._on_fsync(fd)
            return real(fd)

        os.fsync = fsync

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if _WRITE.match(statement):
            conn.info["wrote"] = True

    def _on_commit(self, conn) -> None:
        kind = "write" if conn.info.pop("wrote", False) else "read"
        method, caller = _storage_origin(sys._getframe(1))
        with self._lock:
            if not self._begun:
                if method != "create_new_trial":
                    return
                self._begun = True
                self.fsyncs.clear()  # the run dir's own files, written before any trial
            self.commits[kind, method, caller] += 1

    def _on_fsync(self, fd) -> None:
        try:
            path = Path(os.readlink(f"/proc/self/fd/{fd if isinstance(fd, int) else fd.fileno()}"))
        except OSError:
            path = Path("?")
        with self._lock:
            self.fsyncs[self._name(path), _honed_caller(sys._getframe(2))] += 1

    def _name(self, path: Path) -> str:
        try:
            parts = list(path.relative_to(self.root).parts)
        except ValueError:
            return str(path)
        if parts and (match := _TEMP.match(parts[-1])):
            parts[-1] = match["target"]
        parts = ["trial" if re.fullmatch(r"\d{4}", p) else p for p in parts]
        return "/".join(parts) + ("/" if path.is_dir() else "") or "./"

    def table(self, trials: int) -> str:
        """The counts per trial (``trials`` divides them), largest first."""
        lines = [f"per trial, over {trials} trials:"]
        for title, counter in (("SQL commits (kind, storage method <- caller)", self.commits),
                               ("fsyncs (file <- caller)", self.fsyncs)):
            total = sum(counter.values())
            lines.append(f"  {title}: {total / trials:.2f}")
            for key, count in counter.most_common():
                lines.append(f"    {count / trials:6.2f}  {'  '.join(key)}")
            if counter is self.commits:
                writes = sum(c for k, c in counter.items() if k[0] == "write")
                lines.append(f"    (writes: {writes / trials:.2f}, each one fsync of the "
                             "write-ahead log inside SQLite)")
        return "\n".join(lines)


def _storage_origin(frame) -> tuple[str, str]:
    """The storage method that committed, and its first caller outside Optuna's storages."""
    method = "(own session)"  # a caller of _create_scoped_session outside the storage
    while frame is not None and _STORAGE not in frame.f_code.co_filename:
        frame = frame.f_back
    while frame is not None and (_STORAGE in frame.f_code.co_filename
                                 or frame.f_code.co_filename.endswith("contextlib.py")):
        code = frame.f_code
        if _STORAGE in code.co_filename and code.co_name != "_create_scoped_session":
            method = code.co_name
        frame = frame.f_back
    caller, above = _describe(frame), frame
    for _ in range(3):  # through Optuna's Trial API to the honed function that called it
        above = above.f_back if above is not None else None
        if above is not None and _HONED in above.f_code.co_filename:
            return method, f"{caller} <- {_describe(above)}"
    return method, caller


def _honed_caller(frame) -> str:
    """The innermost honed function outside honed/io.py on the stack (else the innermost)."""
    first = frame
    while frame is not None:
        name = frame.f_code.co_filename
        if _HONED in name and not name.endswith(os.sep + "io.py"):
            return _describe(frame)
        frame = frame.f_back
    return _describe(first)


def _describe(frame) -> str:
    if frame is None:
        return "?"
    name = frame.f_code.co_filename
    for marker in (_HONED, os.sep + "optuna" + os.sep):
        if marker in name:
            name = marker.strip(os.sep) + "/" + name.split(marker, 1)[1]
            break
    else:
        name = os.path.basename(name)
    return f"{name}:{frame.f_code.co_name}"
