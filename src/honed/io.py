"""Atomic file writes: a temp file in the same folder, fsync, then rename.

A crash at any moment leaves either the old file or the new one, never half of one. Inside
:func:`deferred_folder_syncs` the folder's fsync that makes the rename itself durable waits for
the end of the block, one per folder however many files were written there. A folder these
functions create (:func:`make_folder`) has its name made durable the same way, by a fsync of
the folder that holds it. A kill between the temp file's creation and the rename leaves the
temp file behind; its name (``.NAME.PID.RANDOM.tmp``) holds the writer's process id, so that
:func:`remove_stale_temp_files` can tell a dead writer's leftover from a live writer's file.
"""

from __future__ import annotations

import contextlib
import contextvars
import glob
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "append_line",
           "rewrite_lines", "LineWriter", "read_lines", "remove_stale_temp_files",
           "deferred_folder_syncs", "make_folder"]

#: ``.NAME.PID.RANDOM.tmp``; before the process id was in it, ``.NAME.RANDOM.tmp``
_TEMP_NAME = re.compile(r"^\.(?P<target>.+?)(?:\.(?P<pid>\d+))?\.[a-z0-9_]{8}\.tmp$")
#: a temp file without a process id is a dead writer's once it has not changed for this long
_UNNAMED_STALE_SECONDS = 3600.0


def _file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()
#: the folders whose fsync waits for the end of :func:`deferred_folder_syncs` (None: outside)
_PENDING_FOLDERS: contextvars.ContextVar[set[Path] | None] = contextvars.ContextVar(
    "honed_io_pending_folders", default=None)


@contextlib.contextmanager
def deferred_folder_syncs() -> Iterator[None]:
    """Atomic writes in this block fsync each folder once, when the block ends (even by an error).

    Each file's data is still fsynced before its rename, so a crash leaves the old file or the
    new one, never half of one; what waits is the durability of the renames (and of the new
    names) until the block's end. A search trial writes five files in two folders: the trial's
    files are all on disk before it returns its value, and so before Optuna records the trial
    complete, with two folder fsyncs instead of five. Blocks nest (the outermost syncs); only
    the thread that opened the block defers.
    """
    if _PENDING_FOLDERS.get() is not None:
        yield
        return
    token = _PENDING_FOLDERS.set(set())
    try:
        yield
    finally:
        folders = _PENDING_FOLDERS.get() or set()
        _PENDING_FOLDERS.reset(token)
        for folder in sorted(folders):
            _fsync_dir(folder)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating parent folders."""
    path = Path(path)
    make_folder(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.",
                               suffix=".tmp")
    try:
        # mkstemp makes the file 0600; give it the mode a plain open() would (a report or a
        # bundle is meant to be read by others)
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def make_folder(path: str | os.PathLike) -> Path:
    """Create the folder ``path`` and its missing parents so that a power cut keeps their names.

    ``mkdir`` alone leaves a new folder's name in the page cache of the folder that holds it:
    after a power cut the folder, and every file fsynced in it, can be gone. Each folder that
    holds a new one is fsynced (at the end of :func:`deferred_folder_syncs` inside one).
    """
    path = Path(path)
    if path.is_dir():
        return path
    new, probe = [], path
    while not probe.exists() and probe.parent != probe:
        new.append(probe)
        probe = probe.parent
    path.mkdir(parents=True, exist_ok=True)
    for folder in reversed(new):
        _sync_folder(folder.parent)
    return path


def _sync_folder(folder: Path) -> None:
    """fsync ``folder`` now, or at the end of the enclosing :func:`deferred_folder_syncs`."""
    pending = _PENDING_FOLDERS.get()
    if pending is None:
        _fsync_dir(folder)
    else:
        pending.add(folder)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON atomically (NaN and inf are written as JSON allows)."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def append_line(path: str | os.PathLike, record: Mapping[str, Any]) -> None:
    """Append one JSON line and fsync it, so that a kill never loses a finished line.

    The line that creates the file also syncs the folder, so that the file's name is durable.
    """
    path = Path(path)
    make_folder(path.parent)
    new = not path.exists()
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(dict(record), default=_json_default) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    if new:
        _sync_folder(path.parent)


def rewrite_lines(path: str | os.PathLike, records: list[Mapping[str, Any]]) -> None:
    """Replace a JSON-lines file with ``records``, as :func:`append_line` would have written.

    Atomically when there are records; no records (a fit starting afresh) only truncate the
    file: there is nothing to lose, and two fsyncs at the start of every search trial add up.
    """
    path = Path(path)
    if records:
        atomic_write_text(path, "".join(json.dumps(dict(r), default=_json_default) + "\n"
                                        for r in records))
        return
    make_folder(path.parent)
    path.write_bytes(b"")


class LineWriter:
    """Append JSON lines to one file through a handle kept open, flushed after every line.

    What a per-epoch log needs: each line reaches the operating system at once (a killed
    process loses none), with no open, close or fsync per line (on a loaded machine those cost
    more than an epoch of a small model). :meth:`close` fsyncs (and the folder, when the writer
    created the file, so that its name is durable too).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        make_folder(self.path.parent)
        self._created = not self.path.exists()
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open

    def write(self, record: Mapping[str, Any]) -> None:
        self._handle.write(json.dumps(dict(record), default=_json_default) + "\n")
        self._handle.flush()

    def close(self) -> None:
        """fsync and close (again: a no-op)."""
        if self._handle.closed:
            return
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
        finally:
            self._handle.close()
        if self._created:
            _sync_folder(self.path.parent)


def read_lines(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a file written with :func:`append_line` (empty when it is missing).

    A line torn by a kill mid-write is skipped, so a crashed run still reads.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def remove_stale_temp_files(folder: str | os.PathLike, *, recursive: bool = True,
                            target: str | None = None) -> list[Path]:
    """Delete the temp files that killed writers of :func:`atomic_write_bytes` left in ``folder``.

    A temp file is stale when the process named in it no longer runs on this machine (a temp
    file written before names held a process id: when unchanged for an hour). Other files, and
    the temp files of live writers, are left alone.

    Args:
        folder: where to look (a missing folder is fine).
        recursive: look in subfolders too.
        target: only the temp files of this file name (e.g. ``last.safetensors``).

    Returns:
        The files deleted.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = f".{glob.escape(target)}.*.tmp" if target else ".*.tmp"
    removed = []
    for path in folder.rglob(pattern) if recursive else folder.glob(pattern):
        match = _TEMP_NAME.match(path.name)
        if match is None or (target is not None and match["target"] != target):
            continue
        try:
            if _is_stale(match["pid"], path):
                path.unlink()
                removed.append(path)
        except OSError:  # gone already (another cleaner), or not ours to delete
            continue
    return removed


def _is_stale(pid: str | None, path: Path) -> bool:
    if pid is None:
        return time.time() - path.stat().st_mtime > _UNNAMED_STALE_SECONDS
    if int(pid) == os.getpid():
        return False  # this process may be writing it in another thread
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):
        return False  # alive under another user, or not a process id at all
    return False


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
