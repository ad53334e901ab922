"""The loop: parity with a hand-written loop, callbacks, non-finite losses, precision."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from honed.errors import NonFiniteLossError
from honed.train import fit
from honed.train.callbacks import Callback
from honed.train.checkpoint import read_checkpoint
from tests.helpers import blobs, linear_regression, tiny_net


def hand_written_losses(data, *, epochs, batch_size, lr, seed):
    """The plain PyTorch loop a user would write: the trainer must match it exactly."""
    model = tiny_net(seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    x, y = torch.as_tensor(data.train.x), torch.as_tensor(data.train.y)
    generator = torch.Generator().manual_seed(seed)
    curve = []
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), batch_size):
            index = order[start:start + batch_size]
            loss = nn.functional.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        curve.append(total / len(x))
    return curve


def test_loss_curve_equals_hand_written_loop():
    data = blobs()
    expected = hand_written_losses(data, epochs=4, batch_size=32, lr=0.1, seed=3)
    result = fit(tiny_net(seed=3), data, epochs=4, batch_size=32, seed=3,
                 optimizer={"name": "sgd", "lr": 0.1})
    assert [r["train"]["loss"] for r in result.history] == expected


def test_fit_learns_and_records_history(tmp_path):
    result = fit(tiny_net(), blobs(), epochs=8, out_dir=tmp_path, optimizer={"lr": 0.01})
    last = result.history[-1]
    assert last["val"]["accuracy"] > 0.9
    assert set(last) >= {"epoch", "train", "val", "lr", "seconds"}
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == list(range(1, 9))
    assert (tmp_path / "checkpoints" / "last.safetensors").is_file()
    assert (tmp_path / "checkpoints" / "best.safetensors").is_file()


def test_regression_metrics_in_original_units():
    data = linear_regression()
    data.target_scale = ([0.0], [1.0])
    result = fit(tiny_net(4, 1, dropout=0.0), data, epochs=30, optimizer={"lr": 0.01})
    assert result.history[-1]["val"]["r2"] > 0.8
    assert {"mse", "mae", "r2", "loss"} <= set(result.history[-1]["val"])


def test_early_stopping_stops_and_says_why():
    result = fit(tiny_net(), blobs(), epochs=50, early_stopping={"patience": 2, "min_delta": 10.0})
    assert result.epochs_run == 3
    assert "early stopping" in result.stop_reason


def test_early_stopping_on_a_max_metric():
    result = fit(tiny_net(), blobs(), epochs=40, optimizer={"lr": 0.01},
                 early_stopping={"patience": 3, "monitor": "val.accuracy"})
    assert result.epochs_run < 40


def test_non_finite_loss_stops_without_writing_a_bad_checkpoint(tmp_path):
    data = blobs()
    data.train.x[5, 0] = float("nan")
    with pytest.raises(NonFiniteLossError, match="nan"):
        fit(tiny_net(), data, epochs=3, out_dir=tmp_path)
    assert not (tmp_path / "checkpoints" / "last.safetensors").exists()


def test_divergence_after_good_epochs_keeps_the_finite_checkpoint(tmp_path):
    class Explode(Callback):
        def on_epoch_start(self, trainer):
            if trainer.epoch == 2:
                for group in trainer.optimizer.param_groups:
                    group["lr"] = 1e30

    with pytest.raises(NonFiniteLossError):
        fit(tiny_net(), blobs(), epochs=5, out_dir=tmp_path, callbacks=[Explode()],
            optimizer={"name": "sgd", "lr": 0.1})
    tensors, state = read_checkpoint(tmp_path / "checkpoints" / "last.safetensors")
    assert state["epoch"] == 2
    assert all(torch.isfinite(v).all() for k, v in tensors.items() if k.startswith("model."))


def test_ema_weights_are_evaluated_and_checkpointed(tmp_path):
    result = fit(tiny_net(), blobs(), epochs=3, ema={"decay": 0.9}, out_dir=tmp_path)
    trainer = result.extra["trainer"]
    assert trainer.eval_model is not trainer.model
    live = dict(trainer.model.named_parameters())
    averaged = dict(trainer.eval_model.named_parameters())
    assert not torch.equal(live["0.weight"], averaged["0.weight"])
    tensors, _ = read_checkpoint(tmp_path / "checkpoints" / "last.safetensors")
    assert torch.equal(tensors["ema.0.weight"], averaged["0.weight"])


@pytest.mark.parametrize("clip", [{"norm": 0.01}, {"value": 1e-4}])
def test_gradient_clipping_limits_updates(clip):
    free = fit(tiny_net(), blobs(), epochs=1, optimizer={"name": "sgd", "lr": 0.5})
    clipped = fit(tiny_net(), blobs(), epochs=1, optimizer={"name": "sgd", "lr": 0.5}, clip=clip)
    start = tiny_net().state_dict()["0.weight"]

    def moved(result):
        return (result.extra["trainer"].model.state_dict()["0.weight"] - start).abs().max()

    assert moved(clipped) < moved(free)


def test_l1_penalty_shrinks_weights():
    plain = fit(tiny_net(), blobs(), epochs=10, optimizer={"lr": 0.01})
    sparse = fit(tiny_net(), blobs(), epochs=10, optimizer={"lr": 0.01}, l1=0.05)

    def size(result):
        return sum(p.abs().sum() for p in result.extra["trainer"].model.parameters())

    assert size(sparse) < size(plain)


def test_label_smoothing_keeps_predictions_soft():
    sharp = fit(tiny_net(), blobs(), epochs=20, optimizer={"lr": 0.02})
    smooth = fit(tiny_net(), blobs(), epochs=20, optimizer={"lr": 0.02}, label_smoothing=0.3)

    def confidence(result):
        model = result.extra["trainer"].model.eval()
        return model(torch.as_tensor(blobs().val.x)).softmax(1).max(1).values.mean()

    assert confidence(smooth) < confidence(sharp)


def test_bf16_autocast_on_cpu_trains():
    result = fit(tiny_net(), blobs(), epochs=5, precision="bf16", optimizer={"lr": 0.01})
    assert result.extra["trainer"].precision == "bf16"
    assert result.history[-1]["val"]["accuracy"] > 0.8


def test_fp16_without_cuda_is_an_input_error():
    from honed.errors import UserInputError

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(UserInputError, match="fp16 needs a CUDA"):
        fit(tiny_net(), blobs(), epochs=1, precision="fp16")


def test_unfreeze_after_epochs():
    model = tiny_net()
    model[0].weight.requires_grad_(False)
    before = model[0].weight.detach().clone()
    seen = []

    class Watch(Callback):
        def on_epoch_end(self, trainer, record):
            seen.append(torch.equal(trainer.model[0].weight.detach(), before))

    fit(model, blobs(), epochs=3, unfreeze_after=2, callbacks=[Watch()])
    assert seen == [True, True, False]


def test_a_frozen_batchnorm_keeps_its_running_statistics_until_unfrozen():
    from honed.models import freeze

    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8),
                          nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    freeze(model, ["0.*", "1.*"])
    frozen, trained = model[1].running_mean.clone(), model[4].running_mean.clone()
    seen = []

    class Watch(Callback):
        def on_epoch_end(self, trainer, record):
            seen.append(torch.equal(trainer.model[1].running_mean, frozen))

    fit(model, blobs(), epochs=3, unfreeze_after=2, callbacks=[Watch()])
    assert seen == [True, True, False]  # held while frozen, moving again once unfrozen
    assert not torch.equal(model[4].running_mean, trained)  # a trained layer's statistics move


def test_bad_train_fields_are_reported_with_paths():
    from honed.errors import SpecError

    with pytest.raises(SpecError, match=r"train.epochs must be greater than or equal to 1"):
        fit(tiny_net(), blobs(), epochs=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_cuda_mixed_precision(precision):
    result = fit(tiny_net(), blobs(), epochs=3, precision=precision, device="cuda",
                 optimizer={"lr": 0.01})
    assert result.history[-1]["val"]["accuracy"] > 0.8


def test_lr_auto_runs_the_range_test_and_leaves_the_model_alone():
    # the range test runs on a copy and restores the RNG: the fit is then exactly the fit
    # given the same number by hand, from the same initial weights
    result = fit(tiny_net(), blobs(), epochs=2, optimizer={"name": "sgd", "lr": "auto"})
    chosen = result.extra["lr_find"].suggested_lr
    assert 1e-7 < chosen < 10
    same = fit(tiny_net(), blobs(), epochs=2, optimizer={"name": "sgd", "lr": chosen})
    assert [r["train"] for r in result.history] == [r["train"] for r in same.history]


def test_train_threads_hold_during_any_fit_and_are_restored():
    """Search trials call fit() directly: train.threads must hold there, not only in honed train."""

    class Seen(Callback):
        def on_fit_start(self, trainer):
            self.threads = torch.get_num_threads()

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = Seen()
        fit(tiny_net(), blobs(), epochs=1, threads=1, callbacks=[seen])
        assert seen.threads == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
