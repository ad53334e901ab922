"""Streamed data (DataLoader workers over lazily decoded images, memory maps) trains exactly as
the same data held in memory, resumes exactly, and evaluates in batches."""

from __future__ import annotations

import multiprocessing
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from honed.data import prepare_data
from honed.data.augment import make_augment
from honed.data.streaming import LazyInputs
from honed.spec.schema import AugmentSpec, DataSpec
from honed.train import fit
from honed.train.evaluate import predict
from honed.train.feed import epoch_batches

SETTINGS = {"optimizer": {"name": "adamw", "lr": 0.01}, "batch_size": 16, "seed": 3,
            "checkpoint": {"every_epochs": 1, "every_seconds": None}}


def write_folder(root, per_class: int = 24):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, base in (("dark", 40), ("light", 170)):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(base + rng.normal(0, 30, (10, 12, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return root


def tiny_cnn(seed: int = 0, dropout: float = 0.1) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(dropout),
                         nn.Linear(16, 2))


def both(folder, **data):
    memory = prepare_data(DataSpec(source=str(folder), stream=False, **data), seed=0)
    streamed = prepare_data(DataSpec(source=str(folder), stream=True, **data), seed=0)
    return memory, streamed


def augment(data):
    spec = AugmentSpec(flip=True, noise=0.05, shift=0.1)
    return make_augment(spec, kind="image", task=data.task, num_classes=2,
                        scaler=data.preprocess["scaler"])


def curve(history):
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_epoch_plan_is_one_permutation_cut_into_batches():
    plan = epoch_batches(10, 4, 3, torch.Generator().manual_seed(7))
    order = torch.randperm(10, generator=torch.Generator().manual_seed(7))
    assert [b.tolist() for b in plan] == [order[:4].tolist(), order[4:8].tolist(),
                                          order[8:].tolist()]


def test_streamed_images_train_bit_identically_to_in_memory(tmp_path):
    memory, streamed = both(write_folder(tmp_path / "photos"), workers=2, prefetch=2)
    assert isinstance(streamed.train.x, LazyInputs) and isinstance(memory.train.x, np.ndarray)
    assert np.array_equal(memory.train.x, np.asarray(streamed.train.x))
    # the recipe that honed predict and honed serve replay is the same either way
    assert memory.preprocess == streamed.preprocess
    runs = []
    for data in (memory, streamed):
        model = tiny_cnn()
        result = fit(model, data, epochs=2, augment=augment(data), **SETTINGS)
        runs.append((curve(result.history), weights(model)))
        assert multiprocessing.active_children() == []  # the fit stopped its workers
    assert runs[0][0] == runs[1][0]
    assert same_weights(runs[0][1], runs[1][1])
    # evaluation batches a streamed split too, to the same outputs
    model = tiny_cnn()
    assert torch.equal(predict(model, memory.val.x, batch_size=5),
                       predict(model, streamed.val.x, batch_size=5))


def test_a_streamed_fit_resumes_exactly(tmp_path):
    _, data = both(write_folder(tmp_path / "photos"), workers=1)
    whole_model = tiny_cnn()
    whole = fit(whole_model, data, epochs=2, augment=augment(data), out_dir=tmp_path / "whole",
                **SETTINGS)
    fit(tiny_cnn(), data, epochs=1, augment=augment(data), out_dir=tmp_path / "cut", **SETTINGS)
    torch.manual_seed(99)  # the resumed fit must not depend on the caller's global state
    resumed_model = tiny_cnn(seed=5)
    resumed = fit(resumed_model, data, epochs=2, augment=augment(data), out_dir=tmp_path / "cut",
                  resume=True, **SETTINGS)
    assert curve(resumed.history) == curve(whole.history)
    assert same_weights(weights(resumed_model), weights(whole_model))


def test_memory_mapped_arrays_stream_and_match(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "arrays"
    folder.mkdir()
    np.save(folder / "x.npy", rng.normal(size=(80, 3, 6, 6)).astype(np.float32))
    np.save(folder / "y.npy", rng.integers(0, 2, 80))
    memory, streamed = both(folder, workers=0)
    assert isinstance(streamed.train.x.source, np.memmap)
    # a spawned worker gets the file name, and maps the file again
    copy = pickle.loads(pickle.dumps(streamed.train.x))
    assert isinstance(copy.source, np.memmap) and len(pickle.dumps(streamed.train.x)) < 4096
    assert np.array_equal(copy[:5], streamed.train.x[:5])
    curves = [curve(fit(tiny_cnn(), data, epochs=2, **SETTINGS).history)
              for data in (memory, streamed)]
    assert curves[0] == curves[1]


def test_auto_keeps_small_data_in_memory(tmp_path):
    data = prepare_data(DataSpec(source=str(write_folder(tmp_path / "photos", 4))), seed=0)
    assert isinstance(data.train.x, np.ndarray)


def test_channels_last_trains_and_keeps_plain_weights(tmp_path):
    _, data = both(write_folder(tmp_path / "photos", 8), workers=0)
    model = tiny_cnn()
    result = fit(model, data, epochs=1, channels_last=True, **SETTINGS)
    assert np.isfinite(result.history[-1]["train"]["loss"])
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)


def _why_not_compile() -> str | None:
    import os
    import shutil

    if not (shutil.which("cc") or shutil.which("gcc") or shutil.which("g++")):
        return "torch.compile on CPU needs a C++ compiler (TorchInductor); none is installed"
    if not os.environ.get("HONED_TEST_COMPILE"):
        return ("TorchInductor takes 40-100 s to compile even this tiny CNN on a 2-core CPU; "
                "set HONED_TEST_COMPILE=1 to run it")
    return None


@pytest.mark.skipif(_why_not_compile() is not None, reason=str(_why_not_compile()))
def test_compile_trains_like_eager_and_saves_plain_weights(tmp_path):
    memory, _ = both(write_folder(tmp_path / "photos", 6), workers=0)
    # no dropout: compiled kernels draw their dropout masks from a generator of their own
    eager, compiled = tiny_cnn(dropout=0.0), tiny_cnn(dropout=0.0)
    a = fit(eager, memory, epochs=1, **SETTINGS)
    b = fit(compiled, memory, epochs=1, compile=True, **SETTINGS)
    assert set(compiled.state_dict()) == set(eager.state_dict())  # no _orig_mod. prefix
    assert b.history[0]["train"]["loss"] == pytest.approx(a.history[0]["train"]["loss"],
                                                          rel=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_come_from_pinned_memory_and_match_cpu(tmp_path):
    _, data = both(write_folder(tmp_path / "photos", 8), workers=1)
    cpu = fit(tiny_cnn(), data, epochs=1, device="cpu", **SETTINGS)
    cuda = fit(tiny_cnn(), data, epochs=1, device="cuda", **SETTINGS)
    assert cuda.history[0]["train"]["loss"] == pytest.approx(cpu.history[0]["train"]["loss"],
                                                             rel=1e-3)
