"""Every optimizer and every schedule trains through the Trainer and resumes exactly."""

from __future__ import annotations

import math

import pytest
import torch

from honed.train import fit, list_optimizers, list_schedules
from honed.train.callbacks import Callback
from tests.helpers import blobs, tiny_net

OPTIMIZERS = [name for name, _ in list_optimizers()]
SCHEDULES = [name for name, _ in list_schedules()]


def history_of(result):
    return [(r["train"], r["val"], r["lr"]) for r in result.history]


class Interrupt(Callback):
    """Stop the fit like Ctrl-C would, right after the checkpoint of epoch ``after``."""

    order = 1000

    def __init__(self, after: int):
        self.after = after

    def on_epoch_end(self, trainer, record):
        if record["epoch"] == self.after:
            raise KeyboardInterrupt


def split_run(tmp_path, settings, epochs=4, cut=2):
    """Interrupt after ``cut`` epochs, then resume with a fresh model object to ``epochs``."""
    with pytest.raises(KeyboardInterrupt):
        fit(tiny_net(seed=1), blobs(), out_dir=tmp_path, epochs=epochs, seed=5,
            callbacks=[Interrupt(cut)], **settings)
    torch.manual_seed(123)  # the resumed fit must not depend on the caller's global state
    return fit(tiny_net(seed=2), blobs(), out_dir=tmp_path, epochs=epochs, seed=5, resume=True,
               **settings)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_trains_and_resumes_exactly(optimizer, tmp_path):
    settings = {"optimizer": {"name": optimizer, "lr": 0.01, "weight_decay": 1e-3},
                "schedule": {"name": "cosine", "warmup_epochs": 1}}
    torch.manual_seed(0)
    whole = fit(tiny_net(seed=1), blobs(), epochs=4, seed=5, **settings)
    assert all(math.isfinite(r["train"]["loss"]) for r in whole.history)
    assert whole.history[-1]["train"]["loss"] < whole.history[0]["train"]["loss"]
    assert history_of(split_run(tmp_path, settings)) == history_of(whole)


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("warmup", [0.0, 1.5])
def test_every_schedule_trains_and_resumes_exactly(schedule, warmup, tmp_path):
    settings = {"optimizer": {"name": "adamw", "lr": 0.01},
                "schedule": {"name": schedule, "warmup_epochs": warmup, "step_size": 1,
                             "gamma": 0.5, "patience": 0},
                "ema": {"decay": 0.9}, "early_stopping": {"patience": 10}}
    whole = fit(tiny_net(seed=1), blobs(), epochs=4, seed=5, **settings)
    lrs = [r["lr"] for r in whole.history]
    assert all(math.isfinite(lr) and lr >= 0 for lr in lrs)
    assert history_of(split_run(tmp_path, settings)) == history_of(whole)


def test_resume_with_augmentation_and_mixup_is_exact(tmp_path):
    from honed.data import make_augment
    from honed.spec.schema import AugmentSpec

    augment = make_augment(AugmentSpec(noise=0.1, mixup=0.4), kind="table",
                           task="classification", num_classes=3)
    settings = {"augment": augment, "optimizer": {"lr": 0.01}}
    whole = fit(tiny_net(seed=1), blobs(), epochs=4, seed=5, **settings)
    assert history_of(split_run(tmp_path, settings)) == history_of(whole)
