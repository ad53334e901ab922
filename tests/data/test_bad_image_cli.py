"""``honed train`` on folders with bad images: exit 2 and one line, or skipped and counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import write_images
from .test_bad_images import bad_files

SPEC = "data: {{source: images{extra}}}\nmodel: {{family: mlp, hidden: 4}}\n" \
       "train: {{epochs: 1, threads: 1}}\n"


def train(folder: Path, extra: str = "") -> subprocess.CompletedProcess:
    (folder / "spec.yaml").write_text(SPEC.format(extra=extra))
    return subprocess.run([sys.executable, "-m", "honed.cli.main", "train", "spec.yaml",
                           "--out", "run", "--quiet"], capture_output=True, text=True,
                          cwd=folder, env={**os.environ, "COLUMNS": "200"})


def test_an_empty_class_folder_is_one_line_exit_2_and_nothing_written(tmp_path):
    write_images(tmp_path / "images", {"a": 3, "b": 3}, size=(8, 8))
    (tmp_path / "images" / "c").mkdir()
    done = train(tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"class folder {tmp_path / 'images' / 'c'} has no images" in done.stderr
    assert not (tmp_path / "run").exists()


def test_skip_bad_trains_on_the_rest_and_says_how_many_were_skipped(tmp_path):
    write_images(tmp_path / "images", {"a": 4, "b": 4}, size=(8, 8))
    count = len(bad_files(tmp_path / "images" / "b"))
    refused = train(tmp_path)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
    done = train(tmp_path, ", skip_bad: true")
    assert done.returncode == 0, done.stderr
    assert f"skipped {count} image files that could not be read (data.skip_bad" in \
        " ".join(done.stderr.split())
    saved = json.loads((tmp_path / "run" / "model" / "preprocess.json").read_text())
    assert saved["image"]["skipped"]["count"] == count and saved["image"]["files"] == 8
