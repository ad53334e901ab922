"""A fit as rank 0 of a DDP group with spawned children (a K-GPU search trial), on CPU with gloo.

Iris, 2 ranks, one torch thread each; the batch of 13 splits 6/7 over the ranks. The worker's
callbacks run on rank 0 only, as a trial's pruner and best-epoch keeper do.
"""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest
import torch

from honed.data import make_augment, prepare_data
from honed.errors import DistributedError
from honed.spec.template import spec_from_dict
from honed.train.callbacks import Callback
from honed.train.fit import fit
from honed.train.group_fit import SpecData, fit_in_group
from honed.train.session import build_model

SPEC = {
    "name": "group",
    "data": {"source": "builtin:iris", "scale": "standard", "augment": {"noise": 0.05}},
    "model": {"family": "mlp", "hidden": 16, "depth": 2, "dropout": 0.0},
    "train": {"epochs": 2, "batch_size": 13, "threads": 1, "probes": False, "device": "cpu",
              "optimizer": {"name": "adam", "lr": 0.01}},
}


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("HONED_DDP_TIMEOUT", "60")  # a mistake fails the test, never hangs it


def setup(**train):
    raw = {**SPEC, "train": {**SPEC["train"], **train}}
    spec = spec_from_dict(raw).default
    data = prepare_data(spec.data, seed=spec.seed)
    augment = make_augment(spec.data.augment, kind=data.kind, task=data.task,
                           num_classes=data.num_classes, scaler=data.preprocess.get("scaler"))
    options = {"train": spec.train, "seed": spec.seed, "augment": augment}
    return spec, data, options


def grouped(spec, data, options, callbacks=()):
    return fit_in_group(build_model(spec, data), data, nproc=2, source=SpecData.of(spec),
                        callbacks=list(callbacks), **options)


class StopAfterFirst(Callback):
    def on_epoch_end(self, trainer, record):
        trainer.request_stop("asked on rank 0")


class KillChild(Callback):
    def on_epoch_end(self, trainer, record):
        child = multiprocessing.active_children()[0]
        os.kill(child.pid, signal.SIGKILL)
        child.join()  # dead before rank 0's next collective


def test_group_fit_matches_one_process():
    spec, data, options = setup()
    one = fit(build_model(spec, data), data, **options)
    two = grouped(spec, data, options)
    assert two.epochs_run == 2
    for a, b in zip(one.history, two.history, strict=True):
        assert b["train"]["loss"] == pytest.approx(a["train"]["loss"], abs=1e-5)
        assert b["train"]["accuracy"] == a["train"]["accuracy"]
        assert b["val"]["loss"] == pytest.approx(a["val"]["loss"], abs=1e-5)
    weights = two.extra["trainer"].eval_model.state_dict()
    for name, tensor in one.extra["trainer"].eval_model.state_dict().items():
        torch.testing.assert_close(weights[name], tensor, atol=1e-5, rtol=0)
    assert not multiprocessing.active_children()


def test_a_stop_on_rank0_stops_every_rank():
    spec, data, options = setup(epochs=3)
    # the child trains on: had it missed the stop, the group would break (an error, not 0)
    result = grouped(spec, data, options, [StopAfterFirst()])
    assert result.epochs_run == 1 and result.stop_reason == "asked on rank 0"
    assert not multiprocessing.active_children()


def test_a_dead_child_fails_the_fit_in_one_line():
    spec, data, options = setup(epochs=1000)
    with pytest.raises(DistributedError) as caught:
        grouped(spec, data, options, [KillChild()])
    message = str(caught.value)
    assert message.startswith("rank 1 of 2 was killed by SIGKILL") and "\n" not in message
    assert not multiprocessing.active_children()
