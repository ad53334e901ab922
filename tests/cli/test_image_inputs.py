"""``honed train`` and ``honed predict`` on image files that must not be decoded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.data.conftest import write_images
from tests.data.test_image_files import png_header


def honed(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "honed.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200"})


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def shapes_bundle(tmp_path_factory) -> Path:
    """A bundle trained (one epoch) on 8x8 grayscale PNGs."""
    from honed.export.bundle import export_bundle
    from honed.spec.template import spec_from_dict
    from honed.train.session import train_spec

    root = tmp_path_factory.mktemp("shapes")
    write_images(root / "images", {"a": 6, "b": 6}, size=(8, 8))
    raw = {"name": "shapes", "data": {"source": str(root / "images")},
           "model": {"family": "mlp", "hidden": 4}, "train": {"epochs": 1, "threads": 1}}
    train_spec(spec_from_dict(raw), out_dir=root / "run", progress=False)
    return export_bundle(root / "run", exporter="torchscript")


def test_train_on_a_folder_with_a_bomb_is_one_line_and_writes_nothing(tmp_path):
    write_images(tmp_path / "images", {"a": 3, "b": 3}, size=(8, 8))
    bomb = png_header(tmp_path / "images" / "b" / "zz.png", 20_000, 20_000)
    (tmp_path / "spec.yaml").write_text("data: {source: images}\nmodel: {family: mlp}\n"
                                        "train: {epochs: 1, threads: 1}\n")
    line = one_line(honed("train", "spec.yaml", "--out", "run", "--quiet", cwd=tmp_path))
    assert f"image {bomb} has more than 89,478,485 pixels" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("make, fragment", [
    (lambda path: png_header(path, 20_000, 20_000), "has more than 89,478,485 pixels"),
    (lambda path: path.write_bytes(b""), "cannot read image"),
])
def test_predict_on_a_bad_image_is_one_line_and_writes_nothing(shapes_bundle, tmp_path, make,
                                                                fragment):
    write_images(tmp_path / "in", {"x": 2}, size=(8, 8))
    bad = tmp_path / "in" / "x" / "zz.png"
    make(bad)
    line = one_line(honed("predict", shapes_bundle, tmp_path / "in", "--out", "p.csv",
                          cwd=tmp_path))
    assert str(bad) in line and fragment in line
    assert not (tmp_path / "p.csv").exists()
