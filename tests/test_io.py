"""Atomic writes: whole files or nothing, with the mode a plain open() gives."""

from __future__ import annotations

import json
import os

import pytest

from honed.io import append_line, atomic_write_bytes, atomic_write_json, read_lines


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
