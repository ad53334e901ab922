"""``train.checkpoint``: when ``last`` is written, and what an interruption or a kill keeps."""

from __future__ import annotations

import json

import pytest
import torch

from honed.train import fit
from honed.train.callbacks import Callback
from honed.train.checkpoint import read_checkpoint
from tests.helpers import blobs, tiny_net

SETTINGS = {"optimizer": {"name": "adamw", "lr": 0.01}, "batch_size": 32, "seed": 5,
            "ema": {"decay": 0.9}}


class SavedEpochs(Callback):
    """After every epoch's checkpointing, note the epoch ``last`` and ``best`` hold on disk."""

    order = 1000

    def __init__(self, folder):
        self.folder = folder
        self.last: list[int] = []
        self.best: list[int] = []

    def on_epoch_end(self, trainer, record):
        self.last.append(_epoch(self.folder / "last.safetensors"))
        self.best.append(_epoch(self.folder / "best.safetensors"))


class CtrlC(Callback):
    """Raise KeyboardInterrupt in the middle of epoch ``epoch`` (1-based), as Ctrl-C would."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_batch_end(self, trainer, loss):
        if trainer.epoch + 1 == self.epoch and trainer.step % trainer.steps_per_epoch == 2:
            raise KeyboardInterrupt


def _curve(history):
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def _epoch(path) -> int:
    return read_checkpoint(path)[1]["epoch"] if path.is_file() else 0


@pytest.mark.parametrize(("policy", "expected"), [
    ({"every_epochs": 3, "every_seconds": None}, [1, 1, 1, 4, 4, 4, 7]),
    ({"every_epochs": 1, "every_seconds": None}, [1, 2, 3, 4, 5, 6, 7]),
    ({"every_epochs": None, "every_seconds": 1e-9}, [1, 2, 3, 4, 5, 6, 7]),
    # the default waits 30 s: far longer than these epochs, so only the first one is saved
    ({}, [1, 1, 1, 1, 1, 1, 1]),
])
def test_last_is_written_as_the_policy_says_and_at_the_end(tmp_path, policy, expected):
    saved = SavedEpochs(tmp_path / "checkpoints")
    fit(tiny_net(), blobs(), epochs=7, out_dir=tmp_path, checkpoint=policy,
        callbacks=[saved], **SETTINGS)
    assert saved.last == expected
    assert _epoch(tmp_path / "checkpoints" / "last.safetensors") == 7  # the end is always saved


def test_best_is_written_with_last_and_agrees_with_it(tmp_path):
    folder = tmp_path / "checkpoints"
    saved = SavedEpochs(folder)
    fit(tiny_net(), blobs(), epochs=7, out_dir=tmp_path, callbacks=[saved],
        checkpoint={"every_epochs": 3, "every_seconds": None}, **SETTINGS)
    # best is never ahead of last on disk: it only changes when last is written
    assert all(b <= last for b, last in zip(saved.best, saved.last, strict=True))
    assert [b for b, last in zip(saved.best, saved.last, strict=True) if last == 1] == [1, 1, 1]
    _, state = read_checkpoint(folder / "last.safetensors")
    assert _epoch(folder / "best.safetensors") == state["callbacks"]["Checkpoint"]["best_epoch"]


def test_ctrl_c_keeps_the_last_finished_epoch_and_resumes_exactly(tmp_path):
    policy = {"every_epochs": None, "every_seconds": None}  # nothing between first and last
    whole = fit(tiny_net(seed=1), blobs(), epochs=6, out_dir=tmp_path / "whole", **SETTINGS)
    run = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        fit(tiny_net(seed=1), blobs(), epochs=6, out_dir=run, checkpoint=policy,
            callbacks=[CtrlC(epoch=4)], **SETTINGS)
    # three epochs finished: the checkpoint holds them all, and history.jsonl agrees
    tensors, state = read_checkpoint(run / "checkpoints" / "last.safetensors")
    assert state["epoch"] == 3
    lines = (run / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
    torch.manual_seed(123)  # the resumed fit must not depend on the caller's global state
    resumed = fit(tiny_net(seed=2), blobs(), epochs=6, out_dir=run, resume=True,
                  checkpoint=policy, **SETTINGS)
    assert _curve(resumed.history) == _curve(whole.history)
    a = read_checkpoint(tmp_path / "whole" / "checkpoints" / "last.safetensors")[0]
    b = read_checkpoint(run / "checkpoints" / "last.safetensors")[0]
    assert all(torch.equal(a[k], b[k]) for k in a if not k.startswith("rng."))


def test_a_kill_loses_only_the_epochs_since_the_last_write(tmp_path):
    """What a SIGKILL leaves: resume truncates history to the checkpoint and redoes the rest."""
    class Killed(Exception):
        pass

    class KillAfter(Callback):  # leaves like SIGKILL would: the fit's clean-up never runs
        order = 1000

        def on_epoch_end(self, trainer, record):
            if record["epoch"] == 6:
                trainer.callbacks = [cb for cb in trainer.callbacks if cb is self]
                raise Killed

    policy = {"every_epochs": 3, "every_seconds": None}
    whole = fit(tiny_net(seed=1), blobs(), epochs=7, out_dir=tmp_path / "whole", **SETTINGS)
    run = tmp_path / "killed"
    with pytest.raises(Killed):
        fit(tiny_net(seed=1), blobs(), epochs=7, out_dir=run, checkpoint=policy,
            callbacks=[KillAfter()], **SETTINGS)
    assert _epoch(run / "checkpoints" / "last.safetensors") == 4  # 1 and 4 saved; 5-6 lost
    assert len((run / "history.jsonl").read_text().splitlines()) == 6
    resumed = fit(tiny_net(seed=2), blobs(), epochs=7, out_dir=run, resume=True,
                  checkpoint=policy, **SETTINGS)
    lines = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == list(range(1, 8))
    assert _curve(lines) == _curve(resumed.history) == _curve(whole.history)


class Weights(Callback):
    """After every epoch's checkpointing, keep a copy of the model's weights."""

    order = 1000

    def __init__(self):
        self.by_epoch: dict[int, dict[str, torch.Tensor]] = {}

    def on_epoch_end(self, trainer, record):
        state = trainer.model.state_dict()
        self.by_epoch[record["epoch"]] = {k: v.clone() for k, v in state.items()}


@pytest.mark.parametrize("every", [None, 1, 3])
def test_snapshots_reusing_buffers_keep_each_epochs_own_weights(tmp_path, every):
    # a rate this high makes the validation loss jump: best is epoch 4, its snapshot unwritten
    # (every: None) while the later epochs' snapshots are taken, dropped and their buffers reused
    weights = Weights()
    fit(tiny_net(), blobs(), epochs=9, out_dir=tmp_path, callbacks=[weights],
        checkpoint={"every_epochs": every, "every_seconds": None},
        optimizer={"name": "adamw", "lr": 1.0}, batch_size=32, seed=5)
    folder = tmp_path / "checkpoints"
    best = read_checkpoint(folder / "last.safetensors")[1]["callbacks"]["Checkpoint"]["best_epoch"]
    assert best < 8  # best is followed by epochs that do not improve on it
    for name, epoch in (("best", best), ("last", 9)):
        tensors, state = read_checkpoint(folder / f"{name}.safetensors")
        assert state["epoch"] == epoch
        for key, value in weights.by_epoch[epoch].items():
            assert torch.equal(tensors[f"model.{key}"], value), (name, key)
