"""Atomic writes: whole files or nothing, with the mode a plain open() gives."""

from __future__ import annotations

import json
import os

import pytest

from honed.io import (
    LineWriter,
    append_line,
    atomic_write_bytes,
    atomic_write_json,
    deferred_folder_syncs,
    make_folder,
    read_lines,
)


def test_atomic_write_leaves_only_the_file_with_the_umask_mode(tmp_path):
    path = tmp_path / "sub" / "report.html"
    atomic_write_bytes(path, b"page")
    assert path.read_bytes() == b"page"
    assert os.listdir(path.parent) == ["report.html"]  # no temp file left behind
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "metrics.json"
    atomic_write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_read_lines_skips_a_line_torn_by_a_kill(tmp_path):
    path = tmp_path / "history.jsonl"
    append_line(path, {"epoch": 1})
    append_line(path, {"epoch": 2})
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"epoch": 3, "lo')
    assert read_lines(path) == [{"epoch": 1}, {"epoch": 2}]
    assert read_lines(tmp_path / "missing.jsonl") == []


@pytest.fixture
def fsynced(monkeypatch):
    """The paths this process fsyncs, in order (the real os.fsync still runs)."""
    synced: list[str] = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name fds")
def test_deferred_folder_syncs_fsync_each_folder_once_at_the_end(tmp_path, fsynced):
    with pytest.raises(KeyError):  # an error ends the block too: the folders are synced
        with deferred_folder_syncs():
            atomic_write_bytes(tmp_path / "a", b"1")
            with deferred_folder_syncs():  # nested: the outer block syncs
                atomic_write_bytes(tmp_path / "b", b"2")
                atomic_write_bytes(tmp_path / "sub" / "c", b"3")
            # the three files (by their temp names), no folder yet
            assert len(fsynced) == 3
            assert not {str(tmp_path), str(tmp_path / "sub")} & set(fsynced)
            raise KeyError("stop")
    assert fsynced[3:] == [str(tmp_path), str(tmp_path / "sub")]
    assert (tmp_path / "b").read_bytes() == b"2" and (tmp_path / "sub" / "c").read_bytes() == b"3"
    fsynced.clear()
    atomic_write_bytes(tmp_path / "d", b"4")  # outside a block: the folder at once, as before
    assert len(fsynced) == 2 and fsynced[1] == str(tmp_path)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name fds")
def test_a_new_folder_or_file_syncs_the_folder_that_holds_its_name(tmp_path, fsynced):
    assert make_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert fsynced == [str(tmp_path), str(tmp_path / "a")]  # outermost first
    fsynced.clear()
    make_folder(tmp_path / "a" / "b")  # there already: nothing to sync
    assert fsynced == []
    with deferred_folder_syncs():
        make_folder(tmp_path / "trials" / "0007")
        atomic_write_bytes(tmp_path / "trials" / "0007" / "spec.yaml", b"x")
        assert len(fsynced) == 1  # only the file so far
    trial = tmp_path / "trials" / "0007"
    assert fsynced[1:] == [str(tmp_path), str(trial.parent), str(trial)]
    fsynced.clear()
    append_line(tmp_path / "new" / "log.jsonl", {"epoch": 1})  # the line, then the folder
    assert fsynced == [str(tmp_path), str(tmp_path / "new" / "log.jsonl"), str(tmp_path / "new")]
    fsynced.clear()
    append_line(tmp_path / "new" / "log.jsonl", {"epoch": 2})  # the name is there already
    assert fsynced == [str(tmp_path / "new" / "log.jsonl")]
    fsynced.clear()
    writer = LineWriter(tmp_path / "new" / "history.jsonl")
    writer.write({"epoch": 1})
    writer.close()
    assert fsynced == [str(tmp_path / "new" / "history.jsonl"), str(tmp_path / "new")]
