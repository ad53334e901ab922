import copy

import pytest
import torch
from torch import nn

from honed.errors import UserInputError
from honed.registry import Registry
from honed.train.optim import DECOUPLED_WD_KEY, create_optimizer, list_optimizers

NAMES = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"]
LR = {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "rmsprop": 0.01, "adam": 0.02, "adamw": 0.02}


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 1))


def _data(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 4, generator=generator)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]]) + 0.3


def _train_step(model: nn.Module, opt: torch.optim.Optimizer, x, y) -> float:
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


def test_list_optimizers_names_all_with_descriptions():
    assert [name for name, _ in list_optimizers()] == NAMES
    assert all(description for _, description in list_optimizers())


@pytest.mark.parametrize("name", NAMES)
def test_each_optimizer_reduces_loss(name):
    model, (x, y) = _model(), _data()
    opt = create_optimizer(model, name=name, lr=LR[name], weight_decay=1e-4)
    losses = [_train_step(model, opt, x, y) for _ in range(60)]
    assert losses[-1] < 0.3 * losses[0]


@pytest.mark.parametrize("name", NAMES)
def test_decoupled_decay_matches_formula_with_zero_gradient(name):
    model = _model()
    opt = create_optimizer(model, name=name, lr=0.1, weight_decay=0.01)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for n, p in model.named_parameters():
        # weights shrink by exactly (1 - lr * wd); biases and LayerNorm scales do not
        expected = before[n] * (1 - 0.1 * 0.01) if p.ndim > 1 else before[n]
        assert torch.equal(p.detach(), expected), n


@pytest.mark.parametrize("name", NAMES)
def test_decay_follows_the_current_lr(name):
    model = nn.Linear(3, 2, bias=False)
    opt = create_optimizer(model, name=name, lr=0.1, weight_decay=0.5)
    for group in opt.param_groups:
        group["lr"] = 0.02  # what a schedule does
    before = model.weight.detach().clone()
    model.weight.grad = torch.zeros_like(model.weight)
    opt.step()
    assert torch.equal(model.weight.detach(), before * (1 - 0.02 * 0.5))


def test_frozen_parameters_neither_move_nor_decay_and_train_once_unfrozen():
    model, (x, y) = _model(), _data()
    first = model[0].weight
    first.requires_grad_(False)
    opt = create_optimizer(model, name="momentum", lr=0.05, weight_decay=0.1)
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))
    frozen = first.detach().clone()
    _train_step(model, opt, x, y)
    assert torch.equal(first.detach(), frozen)
    first.requires_grad_(True)
    _train_step(model, opt, x, y)
    assert not torch.equal(first.detach(), frozen)


def test_param_groups_split_weights_from_biases_and_norms():
    model = _model()
    opt = create_optimizer(model, name="adamw", lr=1e-3, weight_decay=0.05)
    decayed, plain = opt.param_groups
    assert all(p.ndim > 1 for p in decayed["params"]) and decayed["weight_decay"] == 0.05
    assert all(p.ndim <= 1 for p in plain["params"]) and plain["weight_decay"] == 0.0
    assert len(decayed["params"]) == 2 and len(plain["params"]) == 4


def test_explicit_param_group_dicts_keep_their_options():
    model = _model()
    groups = [
        {"params": model[0].parameters(), "lr": 0.5, "weight_decay": 0.0},
        {"params": model[3].parameters()},
    ]
    opt = create_optimizer(groups, name="sgd", lr=0.1, weight_decay=0.2)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    assert [g[DECOUPLED_WD_KEY] for g in opt.param_groups] == [0.0, 0.2]


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_gives_bit_identical_steps(name):
    x, y = _data()
    model = _model()
    opt = create_optimizer(model, name=name, lr=LR[name], weight_decay=0.05)
    for _ in range(3):
        _train_step(model, opt, x, y)
    for group in opt.param_groups:
        group["lr"] *= 0.5  # a schedule moved it; the copy must pick this up from the state
    twin = copy.deepcopy(model)
    # a fresh optimizer built without decay: the state must bring the decay back
    twin_opt = create_optimizer(twin, name=name, lr=1.0, weight_decay=0.0)
    twin_opt.load_state_dict(copy.deepcopy(opt.state_dict()))
    for _ in range(3):
        _train_step(model, opt, x, y)
        _train_step(twin, twin_opt, x, y)
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b)


def test_unknown_optimizer_lists_choices():
    with pytest.raises(UserInputError, match="unknown optimizer 'lion'; choose one of: sgd, "):
        create_optimizer(_model(), name="lion", lr=0.1)


def test_nesterov_needs_momentum():
    with pytest.raises(UserInputError, match="momentum must be > 0"):
        create_optimizer(_model(), name="nesterov", lr=0.1, momentum=0.0)


def test_registry_basics():
    registry: Registry[int] = Registry("thing")
    registry.register("one", description="the first")(1)
    registry.add("two", 2, description="the second")
    assert registry.get("two") == 2 and "one" in registry and len(registry) == 2
    assert registry.names() == ["one", "two"]
    assert registry.items() == [("one", "the first"), ("two", "the second")]
    with pytest.raises(ValueError, match="already registered"):
        registry.add("one", 3, description="again")
    with pytest.raises(UserInputError, match="unknown thing 'three'; choose one of: one, two"):
        registry.get("three")
