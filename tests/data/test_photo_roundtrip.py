"""``honed train`` -> ``honed export`` -> ``honed predict`` on a folder of mixed photos gives the
predictions of the trained model on the arrays training read (the in-memory path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .photos import write_photos


def honed(*args, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "honed.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    return done


def test_train_export_predict_on_photos_matches_the_in_memory_path(tmp_path):
    import torch

    from honed.data import apply_preprocess
    from honed.data.images import read_image_folder
    from honed.models.saving import load_model

    write_photos(tmp_path / "photos")
    (tmp_path / "spec.yaml").write_text(
        "data: {source: photos, image: {size: [14, 10], resize: pad}}\n"
        "model: {family: cnn, channels: [2], hidden: 4}\ntrain: {epochs: 1, threads: 1}\n")
    honed("train", "spec.yaml", "--out", "run", "--quiet", cwd=tmp_path)
    honed("export", "run", cwd=tmp_path)
    bundle = next(p.parent for p in (tmp_path / "run").rglob("preprocess.json")
                  if (p.parent / "model.onnx").is_file())
    honed("predict", bundle, "photos", "--out", "p.csv", cwd=tmp_path)
    served = pd.read_csv(tmp_path / "p.csv")
    code = ("import sys; from honed.serve.predict import predict_file; "
            f"predict_file({str(bundle)!r}, {str(tmp_path / 'photos')!r}, "
            f"{str(tmp_path / 'q.csv')!r}, progress=False); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr  # the image transform needs Pillow and NumPy only
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "q.csv"), served)

    preprocess = json.loads((bundle / "preprocess.json").read_text())
    assert preprocess["image"]["transform"] == {"size": [14, 10], "mode": "rgb", "resize": "pad"}
    raw = read_image_folder(tmp_path / "photos", transform=preprocess["image"]["transform"])
    model = load_model(tmp_path / "run" / "model")
    with torch.no_grad():
        logits = model(torch.from_numpy(apply_preprocess(preprocess, raw.x)))
    probabilities = torch.softmax(logits, dim=1).numpy()
    files = sorted(str(p.relative_to(tmp_path / "photos")) for p in
                   (tmp_path / "photos").rglob("*.*"))
    assert served["file"].tolist() == files  # the same files in the same order
    np.testing.assert_allclose(served[["p_day", "p_night"]].to_numpy(), probabilities,
                               atol=1e-4)


def test_training_with_every_image_augmentation(tmp_path):
    import math

    from honed.spec.template import spec_from_dict
    from honed.train.session import train_spec

    write_photos(tmp_path / "photos")
    augment = {"crop": 0.3, "flip": True, "rotate": 10.0, "brightness": 0.3, "contrast": 0.3,
               "saturation": 0.3, "erase": 0.5, "mixup": 0.2, "cutmix": 1.0}
    raw = {"data": {"source": str(tmp_path / "photos"), "image": {"size": [12, 12]},
                    "augment": augment},
           "model": {"family": "cnn", "channels": [2], "hidden": 4},
           "train": {"epochs": 2, "threads": 1, "batch_size": 4}}
    outcome = train_spec(spec_from_dict(raw), out_dir=tmp_path / "run", progress=False)
    assert outcome.metrics["epochs_run"] == 2
    assert math.isfinite(outcome.metrics["val"]["loss"])
