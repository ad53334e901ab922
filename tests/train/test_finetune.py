"""Fine-tuning: train.backbone_lr_factor as optimizer param groups, through schedules, resume
and unfreezing; factor 1 changes nothing."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import save_file

from honed.errors import UserInputError
from honed.models import backbone_names, create_model
from honed.spec.schema import Spec
from honed.train import fit, list_schedules
from honed.train.callbacks import Callback
from honed.train.checkpoint import read_checkpoint
from honed.train.optim import BACKBONE_KEY, create_optimizer
from honed.train.session import build_model, preflight, transfer_options
from tests.helpers import blobs, tiny_net

BODY = ["0.weight", "0.bias"]  # tiny_net's first layer stands for a loaded backbone


class LRs(Callback):
    """Every param group's rate after each optimizer step."""

    def __init__(self):
        self.steps: list[list[float]] = []

    def on_batch_end(self, trainer, loss):
        self.steps.append([group["lr"] for group in trainer.optimizer.param_groups])


def _groups(optimizer):
    return [{k: v for k, v in g.items() if k != "params"} | {"params": [id(p) for p in g["params"]]}
            for g in optimizer.param_groups]


def test_factor_one_keeps_todays_groups_and_history_bit_for_bit():
    model = tiny_net()
    body = [p for n, p in model.named_parameters() if n in BODY]
    plain = create_optimizer(model, name="adamw", lr=0.01, weight_decay=1e-3)
    same = create_optimizer(model, name="adamw", lr=0.01, weight_decay=1e-3, backbone=body,
                            backbone_lr_factor=1.0)
    assert _groups(same) == _groups(plain) and len(plain.param_groups) == 2
    settings = {"optimizer": {"lr": 0.01, "weight_decay": 1e-3},
                "schedule": {"name": "cosine", "warmup_epochs": 1}}
    a = fit(tiny_net(seed=1), blobs(), epochs=3, seed=5, **settings)
    b = fit(tiny_net(seed=1), blobs(), epochs=3, seed=5, backbone=BODY, **settings)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in a.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in b.history]
    assert all("lr_backbone" not in r for r in b.history)


def test_the_backbone_gets_its_own_groups_after_the_head():
    model = tiny_net()
    body = {id(p) for n, p in model.named_parameters() if n in BODY}
    opt = create_optimizer(model, name="momentum", lr=0.1, weight_decay=1e-2,
                           backbone=[p for n, p in model.named_parameters() if n in BODY],
                           backbone_lr_factor=0.25)
    shown = [(g["lr"], g.get(BACKBONE_KEY), g["decoupled_wd"], len(g["params"]))
             for g in opt.param_groups]
    assert shown == [(0.1, None, 1e-2, 1), (0.1, None, 0.0, 1),
                     (0.025, 0.25, 1e-2, 1), (0.025, 0.25, 0.0, 1)]
    assert all((id(p) in body) == (BACKBONE_KEY in g)
               for g in opt.param_groups for p in g["params"])


@pytest.mark.parametrize("min_lr", [0.0, 0.004])
@pytest.mark.parametrize("schedule", [name for name, _ in list_schedules()])
def test_the_ratio_holds_at_every_step_of_every_schedule(schedule, min_lr):
    lrs = LRs()
    result = fit(tiny_net(seed=1), blobs(), epochs=4, batch_size=16, seed=5, backbone=BODY,
                 backbone_lr_factor=0.1, callbacks=[lrs],
                 optimizer={"name": "adamw", "lr": 0.01, "weight_decay": 1e-3},
                 schedule={"name": schedule, "warmup_epochs": 1.5, "step_size": 1,
                           "gamma": 0.5, "patience": 0, "min_lr": min_lr})
    assert len(lrs.steps) > 20
    for head, head_nd, body, body_nd in lrs.steps:
        assert head == head_nd and body == body_nd
        assert body == pytest.approx(0.1 * head, rel=1e-12)
    for record in result.history:
        assert record["lr_backbone"] == pytest.approx(0.1 * record["lr"], rel=1e-12)


def test_cosine_with_warmup_rates_at_chosen_steps():
    lrs = LRs()
    fit(tiny_net(seed=1), blobs(), epochs=3, batch_size=16, seed=5, backbone=BODY,
        backbone_lr_factor=0.2, callbacks=[lrs], optimizer={"name": "sgd", "lr": 0.5},
        schedule={"name": "cosine", "warmup_epochs": 1})
    per_epoch = len(lrs.steps) // 3  # 144 rows / 16 = 9 steps an epoch, 27 in all
    total, warm = 3 * per_epoch, per_epoch
    # after step s the groups hold the rate of step s + 1
    for s in (0, warm // 2, warm - 1, warm + 3, total - 2):
        t = s + 1
        head = (0.5 * (t + 1) / (warm + 1) if t < warm else
                0.5 * (1 + math.cos(math.pi * (t - warm) / (total - warm))) / 2)
        assert lrs.steps[s][0] == pytest.approx(head, rel=1e-12)
        assert lrs.steps[s][2] == pytest.approx(0.2 * head, rel=1e-12)


class Interrupt(Callback):
    order = 1000

    def on_epoch_end(self, trainer, record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt


def test_resume_with_two_rates_is_bit_exact(tmp_path):
    settings = {"optimizer": {"name": "adamw", "lr": 0.01, "weight_decay": 1e-3},
                "schedule": {"name": "cosine", "warmup_epochs": 1}, "backbone": BODY,
                "backbone_lr_factor": 0.1, "unfreeze_after": 1}

    def model(seed):
        net = tiny_net(seed=seed)
        net[0].requires_grad_(False)
        return net

    whole = fit(model(1), blobs(), epochs=4, seed=5, out_dir=tmp_path / "whole", **settings)
    with pytest.raises(KeyboardInterrupt):
        fit(model(1), blobs(), epochs=4, seed=5, out_dir=tmp_path / "cut",
            callbacks=[Interrupt()], **settings)
    _, state = read_checkpoint(tmp_path / "cut" / "checkpoints" / "last.safetensors")
    assert [g.get(BACKBONE_KEY) for g in state["optimizer"]["param_groups"]] == [
        None, None, 0.1, 0.1]
    torch.manual_seed(123)
    resumed = fit(model(2), blobs(), epochs=4, seed=5, out_dir=tmp_path / "cut", resume=True,
                  **settings)
    key = [(r["train"], r["val"], r["lr"], r["lr_backbone"]) for r in whole.history]
    assert [(r["train"], r["val"], r["lr"], r["lr_backbone"]) for r in resumed.history] == key
    a = read_checkpoint(tmp_path / "whole" / "checkpoints" / "last.safetensors")[0]
    b = read_checkpoint(tmp_path / "cut" / "checkpoints" / "last.safetensors")[0]
    assert all(torch.equal(a[k], b[k]) for k in a if not k.startswith("rng."))


def _digits_spec(weights, **model):
    return Spec.model_validate({
        "seed": 3, "data": {"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}},
        "model": {"family": "cnn", "channels": [4], "hidden": 16, "init_from": str(weights),
                  "init_exclude": ["head.*"], "freeze": ["features", "dense"],
                  "unfreeze_after": 1, **model},
        "train": {"epochs": 2, "batch_size": 64, "backbone_lr_factor": 0.1,
                  "optimizer": {"name": "sgd", "lr": 0.05}, "threads": 1}})


class Steps(Callback):
    """The rate each step applied to two watched weights: <before - after, grad> / |grad|²."""

    def __init__(self, names):
        self.names, self.rates, self.before = names, {n: [] for n in names}, None

    def _weights(self, trainer):
        params = dict(trainer.model.named_parameters())
        return {n: params[n].detach().clone() for n in self.names}

    def on_epoch_start(self, trainer):
        self.before = self._weights(trainer)

    def on_batch_end(self, trainer, loss):
        params, now = dict(trainer.model.named_parameters()), self._weights(trainer)
        for name in self.names:
            grad = params[name].grad
            rate = (None if grad is None else
                    float(((self.before[name] - now[name]) * grad).sum() / (grad * grad).sum()))
            self.rates[name].append((trainer.epoch, rate, torch.equal(self.before[name],
                                                                       now[name])))
        self.before = now


def test_freeze_then_unfreeze_trains_the_backbone_at_the_lower_rate(tmp_path):
    torch.manual_seed(0)  # the "pretrained" network: 10 digit classes, written by this test
    source = create_model("cnn", input_shape=(1, 8, 8), num_outputs=10, channels=[4], hidden=16)
    save_file(source.state_dict(), tmp_path / "pretrained.safetensors")
    spec = _digits_spec(tmp_path / "pretrained.safetensors")
    data, model = preflight(spec)
    options = transfer_options(spec, model)
    assert options["backbone"] == [n for n, _ in model.named_parameters()
                                   if not n.startswith("head.")]
    assert torch.equal(model.features[0].weight, source.features[0].weight)
    watch = Steps(["features.0.weight", "head.weight"])
    result = fit(model, data, train=spec.train, seed=spec.seed, callbacks=[watch], **options)
    body, head = watch.rates["features.0.weight"], watch.rates["head.weight"]
    assert {e for e, _, _ in body} == {0, 1}
    assert all(rate is None and same for e, rate, same in body if e == 0)  # frozen: untouched
    assert all(rate == pytest.approx(0.005, rel=1e-4) for e, rate, _ in body if e == 1)
    assert all(rate == pytest.approx(0.05, rel=1e-4) for _, rate, _ in head)
    assert [(r["lr"], r["lr_backbone"]) for r in result.history] == [(0.05, 0.05 * 0.1)] * 2


def test_backbone_names_follow_init_exclude():
    model = tiny_net()
    assert backbone_names(model, ["3.*"]) == BODY
    assert backbone_names(model, "3") == BODY
    assert backbone_names(model) == ["0.weight", "0.bias", "3.weight", "3.bias"]


def test_a_factor_without_a_backbone_or_a_head_is_refused():
    with pytest.raises(UserInputError, match=r"needs a backbone and a head; got 0 backbone"):
        fit(tiny_net(), blobs(), epochs=1, backbone_lr_factor=0.5)
    everything = ["0.weight", "0.bias", "3.weight", "3.bias"]
    with pytest.raises(UserInputError, match=r"and 0 head weights"):
        fit(tiny_net(), blobs(), epochs=1, backbone_lr_factor=0.5, backbone=everything)
    with pytest.raises(UserInputError, match=r"backbone_lr_factor must be in \(0, 1\]; got nan"):
        create_optimizer(tiny_net(), name="sgd", lr=0.1, backbone_lr_factor=float("nan"))


def test_build_model_and_transfer_options_without_init_from(tmp_path):
    spec = Spec.model_validate({"data": {"source": "builtin:iris"}, "model": {"family": "mlp"}})
    data, _ = preflight(spec)
    assert transfer_options(spec, build_model(spec, data)) == {"unfreeze_after": None,
                                                               "backbone": []}
